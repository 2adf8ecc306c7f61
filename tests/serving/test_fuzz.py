"""Hypothesis fuzzing of the REST payloads on a live server: never a 5xx, always a JSON error."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ids = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"[A-Za-z0-9_-]{1,70}", fullmatch=True),
    st.sampled_from(["..", "../x", "a/b", "%2e%2e", "\x00", "alice"]),
)
blobs = st.one_of(
    st.binary(max_size=4096),
    st.binary(max_size=2048).map(lambda b: b"RIFF\x24\x00\x00\x00WAVEfmt " + b),
    st.binary(max_size=2048).map(lambda b: b"fLaC" + b),
    st.binary(max_size=2048).map(lambda b: b"OggS" + b),
    st.binary(max_size=2048).map(lambda b: b"ID3" + b),
)


def _check(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        body = r.json()
        assert set(body) == {"error", "detail"} and body["detail"]


@pytest.fixture()
def http(server, api_key):
    with httpx.Client(base_url=server.url, timeout=30, headers={"X-API-Key": api_key}) as c:
        yield c


@FUZZ
@given(data=blobs, name=st.text(max_size=60), sid=ids)
def test_random_files_and_ids(http, data, name, sid):
    _check(http.post("/detect", files={"file": (name or "f", data)}))
    _check(http.post("/verify", data={"speaker_id": sid}, files={"file": (name or "f", data)}))
    _check(http.post("/enroll", data={"speaker_id": sid}, files={"files": (name or "f", data)}))


@FUZZ
@given(
    body=st.binary(max_size=4096),
    ctype=st.sampled_from(
        [
            "multipart/form-data; boundary=b",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
        ]
    ),
    path=st.sampled_from(["/detect", "/verify", "/enroll"]),
)
def test_malformed_bodies(http, body, ctype, path):
    _check(http.post(path, content=body, headers={"Content-Type": ctype} if ctype else {}))


@FUZZ
@given(head=st.binary(max_size=300), tail=st.binary(max_size=300))
def test_malformed_multipart(http, head, tail):
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.wav"\r\n'
        + head
        + b"\r\n\r\n"
        + tail
        + b"\r\n--b--\r\n"
    )
    _check(
        http.post(
            "/detect", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
    )


@FUZZ
@given(sid=ids, offset=st.integers(-5, 10**12), limit=st.integers(-5, 10**6))
def test_random_paths_and_queries(http, sid, offset, limit):
    _check(http.get(f"/speakers/{quote(sid, safe='')}"))
    _check(http.delete(f"/speakers/{quote(sid, safe='')}"))
    _check(http.get("/speakers", params={"offset": offset, "limit": limit}))
