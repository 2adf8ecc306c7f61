"""Command-line interface (thin layer over the API); one ``cmd_*.py`` module per command."""
