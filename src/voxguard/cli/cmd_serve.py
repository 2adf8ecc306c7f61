"""``voxguard serve``: run the REST service and web page with uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os

from voxguard.cli._files import (
    finite_float,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    tcp_port,
)
from voxguard.errors import VoxguardError

_LOOPBACK_NAMES = {"localhost"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the REST service and web demo page", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=tcp_port, default=8000, help="TCP port (default: 8000)")
    p.add_argument(
        "--db",
        default="",
        help="enrollment store: SQLite file path or "
        "postgresql://user@host/db URL (default: ~/.local/share/voxguard/"
        "enrollments.sqlite)",
    )
    p.add_argument(
        "--api-key",
        default=None,
        help="key required by writes (enroll/delete); default: $VOXGUARD_API_KEY",
    )
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="allow writes without a key on a non-loopback address (unsafe)",
    )
    p.add_argument(
        "--cm-model",
        default=None,
        help="CM: weights dir, bundled weights name or registered model name "
        "(default: the bundled default CM)",
    )
    p.add_argument(
        "--spk-model",
        default=None,
        help="speaker model: weights dir, bundled weights name or registered name "
        "(default: the bundled default speaker model)",
    )
    p.add_argument(
        "--cm-weights",
        default=None,
        help="weights for a registered --cm-model (dir, .safetensors or .pth)",
    )
    p.add_argument("--spk-weights", default=None, help="weights for a registered --spk-model")
    p.add_argument(
        "--random-init",
        action="store_true",
        help="allow untrained models (demos only: scores are meaningless)",
    )
    p.add_argument(
        "--cm-threshold",
        type=finite_float,
        default=None,
        help="bona fide if the CM score >= this (default 0: on the LLR when calibrated)",
    )
    p.add_argument(
        "--asv-threshold",
        type=finite_float,
        default=None,
        help="target if the ASV score >= this (default: 0 on the LLR when calibrated, "
        "else 0.5 on the cosine)",
    )
    p.add_argument(
        "--max-upload-mb", type=positive_float, default=20.0, help="request body cap (MiB)"
    )
    p.add_argument(
        "--max-duration-s", type=positive_float, default=60.0, help="longest accepted audio"
    )
    p.add_argument("--max-files", type=positive_int, default=20, help="most files per enrollment")
    p.add_argument(
        "--max-decode-mb",
        type=positive_float,
        default=64.0,
        help="most MiB one file may decode to (frames x channels x 4), checked before decoding",
    )
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="Host name clients use to reach the server (repeatable; loopback names and a "
        "specific --host are always allowed; '*' allows any, disabling the DNS-rebinding check)",
    )
    p.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="browser origin (https://app.example) allowed to send writes (repeatable)",
    )
    p.add_argument(
        "--score-rate",
        type=nonnegative_float,
        default=120.0,
        help="/detect + /verify requests per minute and client (0: unlimited)",
    )
    p.add_argument(
        "--score-burst", type=positive_int, default=20, help="score requests at once per client"
    )
    p.add_argument(
        "--secret-file",
        default="",
        help="store secret keying the enrollment checksums (default: "
        "~/.config/voxguard/store.key, created 0600 on first start)",
    )
    p.add_argument(
        "--threads", type=nonnegative_int, default=0, help="torch threads (0: torch default)"
    )
    p.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    p.set_defaults(func=run)


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed_hosts(bind: str, extra: list[str]) -> tuple[str, ...]:
    """Loopback names, the bind address when it is a specific one, and the ``--allowed-host``s."""
    from voxguard.serving.guard import LOOPBACK_HOSTS

    hosts = [*LOOPBACK_HOSTS, *extra]
    if bind not in ("0.0.0.0", "::", ""):
        hosts.append(bind)
    return tuple(dict.fromkeys(hosts))


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from voxguard.serving import ServiceSettings, create_app
        from voxguard.serving.protocol import JsonH11Protocol
    except ImportError as exc:
        raise VoxguardError(
            f"the service needs the serve extra ({exc.name} is missing): "
            "pip install 'voxguard[serve]'"
        ) from None
    api_key = args.api_key or os.environ.get("VOXGUARD_API_KEY") or None
    if api_key is None and not args.no_auth and not _is_loopback(args.host):
        raise VoxguardError(
            f"refusing to serve writes on {args.host} without an API key: pass "
            "--api-key KEY (or set VOXGUARD_API_KEY), or --no-auth if you must"
        )
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    settings = ServiceSettings(
        db=args.db,
        api_key=api_key,
        cm_model=args.cm_model,
        spk_model=args.spk_model,
        cm_weights=args.cm_weights,
        spk_weights=args.spk_weights,
        random_init=args.random_init,
        cm_threshold=args.cm_threshold,
        asv_threshold=args.asv_threshold,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        max_duration_s=args.max_duration_s,
        max_files=args.max_files,
        max_decode_bytes=int(args.max_decode_mb * 1024 * 1024),
        allowed_hosts=_allowed_hosts(args.host, args.allowed_host),
        allowed_origins=tuple(args.allowed_origin),
        score_rate=args.score_rate,
        score_burst=args.score_burst,
        secret_file=args.secret_file,
    )
    app = create_app(settings)
    print(
        f"voxguard serve: http://{args.host}:{args.port}/ (API docs at /docs; store "
        f"{app.state.store.backend}; writes {'need an API key' if api_key else 'are open'})",
        flush=True,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=5,
        http=JsonH11Protocol,
    )
    return 0
