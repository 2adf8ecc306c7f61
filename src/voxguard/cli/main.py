"""``voxguard`` command: a thin dispatcher over the Python API.

Each ``cli/cmd_<name>.py`` module defines ``register(subparsers)``, which adds its sub-command
and sets ``func=run(args) -> int``. Library errors (:class:`~voxguard.errors.VoxguardError`) and
file-system errors are printed as one line without a traceback and give exit status 2; any other
exception is a bug and prints one line too (exit 1) unless ``--debug`` or ``VOXGUARD_DEBUG=1``
asks for the traceback. Output cut short by a closed pipe (``voxguard models | head``) ends
quietly with status 141, as a process killed by SIGPIPE would.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from typing import NoReturn

from voxguard import __version__
from voxguard.errors import VoxguardError


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument error is one line naming the argument and pointing to ``--help`` (exit 2),
    not the usage block followed by the error; sub-command parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="voxguard",
        description="Spoof-aware speaker verification: countermeasures, speaker embeddings, "
        "evaluation and deployment.",
    )
    parser.add_argument("--version", action="version", version=f"voxguard {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of unexpected errors (or set VOXGUARD_DEBUG=1)",
    )
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
    debug = args.debug or os.environ.get("VOXGUARD_DEBUG", "") not in ("", "0")
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        return _closed_pipe()
    except VoxguardError as exc:
        return _fail(args.command, str(exc), 2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # an unreadable input or unwritable output the command did not check
        if debug:
            raise
        return _fail(args.command, _os_error(exc), 2)
    except Exception as exc:
        if debug:
            raise
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return _fail(
            args.command,
            f"unexpected {type(exc).__name__}{': ' + text if text else ''} (a voxguard bug; "
            "rerun with --debug or VOXGUARD_DEBUG=1 for the traceback and report it)",
            1,
        )


def _os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or type(exc).__name__}; check the path and its permissions"


def _fail(command: str, message: str, status: int) -> int:
    try:
        print(f"voxguard {command}: error: {message}", file=sys.stderr)
    except BrokenPipeError:
        pass
    return status


def _closed_pipe() -> int:
    """The reader went away: stop quietly (and keep Python's exit-time flush quiet too)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


if __name__ == "__main__":
    sys.exit(main())
