"""Evaluation metrics (numpy only; never imports torch)."""
