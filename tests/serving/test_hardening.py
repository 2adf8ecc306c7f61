"""Issue 16 probes against a live loopback server: decompression bombs, integer bounds,
malformed Content-Length, cross-site and DNS-rebinding writes, the score rate limit and
forged enrollment rows. Each probe of the attack review is kept here as a test."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import stat

import httpx
import numpy as np
import pytest

from voxguard.serving import ServiceSettings, create_app
from voxguard.serving.guard import TokenBuckets, host_name
from voxguard.serving.secret import load_or_create_secret
from voxguard.serving.store import IntegrityError, StoreError, open_store
from voxguard.testing import bombs


def _settings(tmp_path, **kw) -> ServiceSettings:
    base = dict(
        db=str(tmp_path / "s.sqlite"),
        cm_model="debug_cm",
        spk_model="debug_spk",
        secret_file=str(tmp_path / "store.key"),
        score_rate=0,
    )
    return ServiceSettings(**{**base, **kw})


@pytest.fixture(scope="module")
def open_server(tmp_path_factory, thread_server):  # noqa: ANN001, ANN201
    """The documented default: loopback, no API key, a small decode budget (4 MiB)."""
    tmp = tmp_path_factory.mktemp("hardening")
    app = create_app(_settings(tmp, max_decode_bytes=4 * 1024 * 1024))
    with thread_server(app) as srv:
        yield srv


@pytest.fixture()
def http(open_server) -> httpx.Client:  # noqa: ANN001
    with httpx.Client(base_url=open_server.url, timeout=30) as c:
        yield c


def _detect(c: httpx.Client, data: bytes, name: str = "probe.flac") -> httpx.Response:
    return c.post("/detect", files={"file": (name, data)})


# --- 1. decompression bombs


@pytest.mark.parametrize(
    ("make", "status", "words"),
    [
        (lambda: bombs.flac_bomb(59.0), 422, "655350 Hz"),  # the review's 330 KB FLAC
        (lambda: bombs.vorbis_bomb(1.0), 422, "64 channels"),  # the review's 64-channel Vorbis
        (bombs.low_rate_wav, 422, "1 Hz"),  # the 164-byte WAV at 1 Hz (11 s of CPU before)
        (lambda: bombs.in_budget_bomb(4.0, 48_000, 8), 413, "MiB"),  # within rate/channels
    ],
    ids=["flac-655kHz-8ch", "vorbis-64ch", "wav-1Hz", "flac-over-decode-budget"],
)
def test_bombs_refused_before_decoding(http, make, status, words):
    data = make()
    r = _detect(http, data)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "detail"} and words in body["detail"]
    assert http.get("/health").json()["status"] == "ok"


def test_largest_accepted_file_still_scores(http):
    r = _detect(http, bombs.in_budget_bomb(4.0, 48_000, 2))  # 1.5 MiB decoded: under 4 MiB
    assert r.status_code == 200, r.text


# --- 2. integer bounds, malformed Content-Length


@pytest.mark.parametrize(
    "query",
    [
        "offset=9223372036854775808",
        "offset=-1",
        "offset=1e3",
        "limit=0",
        "limit=10" + "0" * 40,
        "offset=" + "9" * 5000,
        "limit=abc",
    ],
)
def test_integer_parameters_bounded(http, query):
    r = http.get(f"/speakers?{query}")
    assert r.status_code == 422, r.text
    assert set(r.json()) == {"error", "detail"}


def test_every_integer_parameter_has_bounds(http):
    spec = http.get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        for op in methods.values():
            for param in op.get("parameters", []):
                schema = param.get("schema", {})
                if schema.get("type") == "integer":
                    assert "maximum" in schema and "minimum" in schema, (path, param["name"])


def _raw(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


@pytest.mark.parametrize(
    "value", [b"abc", b"-1", b"1e3", "\u00b2".encode(), b"9" * 30, b"12, 13", b"9" * 19]
)
def test_malformed_content_length_answers_json(open_server, value):
    raw = _raw(
        open_server.port,
        b"POST /detect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + value + b"\r\n\r\n",
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 4"), raw[:200]
    assert b"application/json" in head.lower()
    assert body.startswith(b'{"error"')


# --- 4. cross-site and DNS-rebinding writes


def _enroll(c: httpx.Client, sid: str, wav: bytes, **headers: str) -> httpx.Response:
    return c.post(
        "/enroll", data={"speaker_id": sid}, files={"files": ("a.wav", wav)}, headers=headers
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_site_enroll_refused(http, make_wav, headers):
    r = _enroll(http, "victim-xs", make_wav(), **headers)
    assert r.status_code == 403, r.text
    assert http.get("/speakers/victim-xs").status_code == 404


def test_rebinding_host_refused_for_reads_and_writes(http, open_server, make_wav):
    assert _enroll(http, "keep-me", make_wav()).status_code == 200
    bad = {"Host": "attacker.example"}
    assert http.delete("/speakers/keep-me", headers=bad).status_code == 421
    assert http.get("/speakers", headers=bad).status_code == 421
    assert http.get("/speakers/keep-me").status_code == 200


def test_same_origin_and_non_browser_writes_pass(http, open_server, make_wav):
    own = {"Origin": open_server.url, "Sec-Fetch-Site": "same-origin"}
    assert _enroll(http, "own-page", make_wav(), **own).status_code == 200
    assert _enroll(http, "curl-like", make_wav()).status_code == 200
    assert http.get("/speakers/curl-like", headers={"Host": "localhost"}).status_code == 200


def test_host_names_parse():
    assert host_name("127.0.0.1:8000") == "127.0.0.1"
    assert host_name("[::1]:8000") == "::1"
    assert host_name("LocalHost.") == "localhost"


def test_score_rate_limited_per_client(tmp_path, thread_server, make_wav):
    app = create_app(_settings(tmp_path, score_rate=30.0, score_burst=3))
    wav = make_wav()
    with thread_server(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        codes = [_detect(c, wav, "a.wav").status_code for _ in range(5)]
        limited = _detect(c, wav, "a.wav")
        assert c.get("/health").status_code == 200  # reads of the store are not limited
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_token_buckets_refill_and_forget():
    buckets = TokenBuckets(per_minute=60, burst=2, max_keys=2)
    assert buckets.take("a", now=0) == 0 and buckets.take("a", now=0) == 0
    assert buckets.take("a", now=0) == pytest.approx(1.0)
    assert buckets.take("a", now=1.0) == 0  # one token a second
    buckets.take("b", now=1.0)
    buckets.take("c", now=1.0)
    assert len(buckets._buckets) == 2


# --- 3. forged enrollment rows


def _forge(db: str, victim: str, attacker: str) -> None:
    """Copy the attacker's embedding into the victim's row and recompute a plain sha256."""
    with sqlite3.connect(db) as conn:
        blob, dim = conn.execute(
            "SELECT embedding, dim FROM speakers WHERE speaker_id = ?", (attacker,)
        ).fetchone()
        count, model = conn.execute(
            "SELECT count, model FROM speakers WHERE speaker_id = ?", (victim,)
        ).fetchone()
        head = f"{victim}\0{count}\0{model}\0{len(blob)}\0".encode()
        forged = hashlib.sha256(head + blob).hexdigest()
        conn.execute(
            "UPDATE speakers SET embedding = ?, checksum = ? WHERE speaker_id = ?",
            (blob, forged, victim),
        )


def test_swapped_embedding_with_recomputed_sha256_refused(tmp_path, thread_server, make_wav):
    settings = _settings(tmp_path)
    with thread_server(create_app(settings)) as srv, httpx.Client(base_url=srv.url) as c:
        assert _enroll(c, "victim", make_wav(seed=1)).status_code == 200
        assert _enroll(c, "attacker", make_wav(seed=2)).status_code == 200
        _forge(settings.db, "victim", "attacker")
        r = c.post(
            "/verify", data={"speaker_id": "victim"}, files={"file": ("a.wav", make_wav(seed=2))}
        )
        assert r.status_code == 409 and "checksum" in r.json()["detail"]
        assert c.get("/speakers/victim").status_code == 409
        assert c.get("/speakers/attacker").status_code == 200


def test_store_with_another_secret_refuses_rows(tmp_path):
    db = tmp_path / "s.sqlite"
    store = open_store(db, secret=b"a" * 64)
    store.enroll("spk", np.ones((1, 4)), "m")
    store.close()
    other = open_store(db, secret=b"b" * 64)
    with pytest.raises(IntegrityError):
        other.get("spk")
    assert other.check_integrity() == ["spk"]
    other.close()


def test_secret_created_private_and_stable(tmp_path):
    path = tmp_path / "cfg" / "store.key"
    first = load_or_create_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) >= 64
    assert load_or_create_secret(path) == first
    os.chmod(path, 0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        load_or_create_secret(path)
    path.write_text("short\n")
    os.chmod(path, 0o600)
    with pytest.raises(StoreError, match="too short"):
        load_or_create_secret(path)
