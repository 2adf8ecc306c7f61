"""``voxguard serve`` command line (the server itself is exercised in test_reliability.py)."""

from __future__ import annotations

import pytest

from voxguard.cli.cmd_serve import _is_loopback
from voxguard.cli.main import build_parser, main


def test_serve_is_registered_with_its_options():
    args = build_parser().parse_args(
        ["serve", "--port", "9001", "--db", "x.sqlite", "--api-key", "k"]
    )
    assert (args.command, args.port, args.db, args.api_key, args.host) == (
        "serve",
        9001,
        "x.sqlite",
        "k",
        "127.0.0.1",
    )


@pytest.mark.parametrize(
    "host,expected",
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.4", False),
        ("example.org", False),
    ],
)
def test_loopback_detection(host, expected):
    assert _is_loopback(host) is expected


def test_refuses_open_writes_on_a_public_address(capsys, monkeypatch):
    monkeypatch.delenv("VOXGUARD_API_KEY", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "9"]) == 2
    err = capsys.readouterr().err
    assert "--api-key" in err and "0.0.0.0" in err
