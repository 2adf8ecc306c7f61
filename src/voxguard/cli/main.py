"""``voxguard`` command: a thin dispatcher over the Python API.

Each ``cli/cmd_<name>.py`` module defines ``register(subparsers)``, which adds its sub-command
and sets ``func=run(args) -> int``. Library errors (:class:`~voxguard.errors.VoxguardError`) are
printed as one line without a traceback and give exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from voxguard import __version__
from voxguard.errors import VoxguardError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxguard",
        description="Spoof-aware speaker verification: countermeasures, speaker embeddings, "
        "evaluation and deployment.",
    )
    parser.add_argument("--version", action="version", version=f"voxguard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import voxguard.cli as cli_pkg

    for info in sorted(pkgutil.iter_modules(cli_pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"voxguard.cli.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except VoxguardError as exc:
        print(f"voxguard {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
