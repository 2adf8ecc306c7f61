"""Enrollment store: SQLite (always) and PostgreSQL (when a local server can be started)."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from voxguard.serving.store import (
    EnrollmentConflictError,
    EnrollmentStore,
    SpeakerNotFoundError,
    SQLiteStore,
    StoreError,
    open_store,
)


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server on a unix socket (skips when it cannot be started)."""
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg[binary]")
    initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
    if not (initdb and postgres):
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    prefix: list[str] = []
    root = tempfile.mkdtemp(prefix="voxguard-pg-")
    if os.geteuid() == 0:  # postgres refuses to run as root: use the postgres system user
        runuser = shutil.which("runuser")
        try:
            import pwd

            pw = pwd.getpwnam("postgres")
        except KeyError:
            pw = None
        if not (runuser and pw):
            shutil.rmtree(root)
            pytest.skip("running as root without a 'postgres' user to start PostgreSQL")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        prefix = [runuser, "-u", "postgres", "--"]
    data = os.path.join(root, "data")
    init = subprocess.run(
        [*prefix, initdb, "-D", data, "--auth=trust", "-U", "postgres", "--no-sync"],
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    proc = subprocess.Popen(
        [
            *prefix,
            postgres,
            "-D",
            data,
            "-k",
            root,
            "-c",
            "listen_addresses=",
            "-c",
            "fsync=off",
            "-p",
            "5439",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"postgresql://postgres@/postgres?host={root}&port=5439"
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            break
        except psycopg.Error:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.terminate()
                shutil.rmtree(root, ignore_errors=True)
                pytest.skip("the local PostgreSQL server did not start")
            time.sleep(0.2)
    yield url
    with open(os.path.join(data, "postmaster.pid")) as f:
        os.kill(int(f.readline()), signal.SIGINT)  # "fast" shutdown: do not wait for clients
    proc.wait(timeout=20)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EnrollmentStore]:
    if request.param == "sqlite":
        s = open_store(tmp_path / "sub" / "e.sqlite")
    else:
        s = open_store(request.getfixturevalue("postgres_url"))
        with s._transaction(write=True) as cur:
            cur.execute("DELETE FROM speakers")
    yield s
    s.close()


def test_replace_stores_mean_and_count(store):
    emb = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], dtype=np.float32)
    e = store.enroll("s1", emb, "m")
    assert e.count == 2 and e.model == "m"
    np.testing.assert_array_equal(store.get("s1").embedding, [2.0, 2.0, 2.0])
    store.enroll("s1", emb[:1], "m")  # replace
    got = store.get("s1")
    assert got.count == 1 and got.created_at <= got.updated_at
    np.testing.assert_array_equal(got.embedding, [1.0, 2.0, 3.0])


def test_append_is_count_weighted(store):
    store.enroll("s", np.array([[0.0, 3.0]]), "m")
    e = store.enroll("s", np.array([[3.0, 0.0], [3.0, 0.0]]), "m", mode="append")
    assert e.count == 3
    np.testing.assert_allclose(e.embedding, [2.0, 1.0])
    with pytest.raises(EnrollmentConflictError, match="mode=replace"):
        store.enroll("s", np.ones((1, 5)), "m", mode="append")
    with pytest.raises(EnrollmentConflictError):
        store.enroll("s", np.ones((1, 2)), "other-model", mode="append")


def test_list_count_delete_and_not_found(store):
    for sid in ("b", "a", "c"):
        store.enroll(sid, np.ones((1, 4)), "m")
    assert [e.speaker_id for e in store.list()] == ["a", "b", "c"]
    assert [e.speaker_id for e in store.list(offset=1, limit=1)] == ["b"]
    assert store.count() == 3
    store.delete("b")
    assert store.count() == 2
    with pytest.raises(SpeakerNotFoundError, match="not enrolled"):
        store.get("b")
    with pytest.raises(SpeakerNotFoundError):
        store.delete("b")


def test_rejects_non_finite_or_empty(store):
    with pytest.raises(StoreError, match="NaN"):
        store.enroll("x", np.array([[np.nan, 1.0]]), "m")
    with pytest.raises(StoreError):
        store.enroll("x", np.zeros((0, 3)), "m")
    assert store.count() == 0


def test_concurrent_appends_lose_nothing(store):
    """8 threads x 10 appends of one vector each: count 80 and the exact mean."""
    store.enroll("shared", np.zeros((1, 2)), "m")

    def worker(i: int) -> None:
        for _ in range(10):
            store.enroll("shared", np.array([[float(i), 1.0]]), "m", mode="append")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    e = store.get("shared")
    assert e.count == 81
    np.testing.assert_allclose(e.embedding, [10 * sum(range(8)) / 81, 80 / 81], rtol=1e-6)


def test_tampered_row_is_detected(tmp_path):
    s = SQLiteStore(tmp_path / "e.sqlite")
    s.enroll("good", np.ones((1, 4)), "m")
    s.enroll("bad", np.ones((1, 4)), "m")
    with sqlite3.connect(tmp_path / "e.sqlite") as raw:
        raw.execute(
            "UPDATE speakers SET embedding = ? WHERE speaker_id = 'bad'",
            (np.zeros(4, dtype="<f4").tobytes(),),
        )
    assert s.check_integrity() == ["bad"]
    with pytest.raises(StoreError, match="checksum"):
        s.get("bad")
    assert s.get("good").count == 1
    s.close()


def test_sqlite_uses_wal_and_url_forms(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/w.sqlite")
    s.ping()
    with sqlite3.connect(tmp_path / "w.sqlite") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store("mysql://x/y")


def test_service_on_postgresql(postgres_url, thread_server, make_wav, api_key):
    """The full service on the PostgreSQL store, over HTTP."""
    import httpx

    from voxguard.serving import ServiceSettings, create_app

    store = open_store(postgres_url)
    app = create_app(ServiceSettings(api_key=api_key), store=store)
    key = {"X-API-Key": api_key}
    wav = make_wav(seed=9)
    with thread_server(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        assert c.get("/info").json()["store_backend"] == "postgresql"
        r = c.post(
            "/enroll",
            headers=key,
            data={"speaker_id": "pg-1"},
            files=[("files", ("a.wav", wav)), ("files", ("b.wav", wav))],
        )
        assert r.status_code == 200 and r.json()["count"] == 2
        v = c.post("/verify", data={"speaker_id": "pg-1"}, files={"file": ("a.wav", wav)})
        assert abs(v.json()["asv_score"] - 1.0) < 1e-6  # mean of two identical embeddings
        assert c.delete("/speakers/pg-1", headers=key).status_code == 200
        assert c.get("/speakers/pg-1").status_code == 404
    store.close()
