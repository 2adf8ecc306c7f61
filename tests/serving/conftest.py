"""Fixtures for the service tests: wav bytes, a real uvicorn server on loopback (in a thread
or in a subprocess)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import fastapi  # noqa: F401
    import httpx
    import uvicorn
except ImportError:  # the serve extra is not installed: skip this folder
    collect_ignore_glob = ["test_*.py"]
else:
    import soundfile as sf

    from voxguard.serving import ServiceSettings, create_app
    from voxguard.serving.protocol import JsonH11Protocol
    from voxguard.testing.audio import synthetic_speech

API_KEY = "test-key-123"


def wav_bytes(seed: int = 0, seconds: float = 1.0, rate: int = 16000) -> bytes:
    """Synthetic speech as 16-bit WAV bytes."""
    buf = io.BytesIO()
    sf.write(buf, synthetic_speech(seconds, rate, seed), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThreadServer:
    """uvicorn serving ``app`` on a free loopback port in a background thread."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=2,
            http=JsonH11Protocol,  # what `voxguard serve` runs
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    """A live server with an SQLite store and an API key (small limits so 413 is cheap)."""
    db = tmp_path_factory.mktemp("store") / "enrollments.sqlite"
    settings = ServiceSettings(
        db=str(db),
        api_key=API_KEY,
        cm_model="debug_cm",
        spk_model="debug_spk",
        max_upload_bytes=256 * 1024,
        max_duration_s=5.0,
        max_files=4,
        score_rate=0,
    )
    with ThreadServer(create_app(settings)) as srv:
        yield srv


@pytest.fixture(scope="session", autouse=True)
def _private_config_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Store secrets go to a temporary config folder, never the user's ~/.config."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        yield


@pytest.fixture(scope="session")
def make_wav():  # noqa: ANN201
    """``make_wav(seed=0, seconds=1.0, rate=16000) -> bytes`` (synthetic speech, 16-bit WAV)."""
    return wav_bytes


@pytest.fixture(scope="session")
def thread_server():  # noqa: ANN201
    """The :class:`ThreadServer` class: ``with thread_server(app) as srv: srv.url``."""
    return ThreadServer


@pytest.fixture(scope="session")
def api_key() -> str:
    return API_KEY


@pytest.fixture()
def client(server: ThreadServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture()
def subprocess_server(tmp_path: Path):  # noqa: ANN201
    """Factory ``(db, *extra_args) -> SubprocessServer``; every server is stopped afterwards."""
    made: list[SubprocessServer] = []

    def make(db: Path, *extra: str) -> SubprocessServer:
        srv = SubprocessServer(db, tmp_path / f"server-{len(made)}.log", extra)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.stop()


class SubprocessServer:
    """``python -m voxguard.cli serve`` in its own process (so it can be SIGKILLed)."""

    def __init__(self, db: Path, log: Path, extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [
            sys.executable,
            "-m",
            "voxguard.cli",
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(db),
            "--api-key",
            API_KEY,
            "--log-level",
            "warning",
            "--threads",
            "1",
            "--cm-model",
            "debug_cm",
            "--spk-model",
            "debug_spk",
            "--score-rate",
            "0",
            *extra,
        ]
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become healthy in time")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
