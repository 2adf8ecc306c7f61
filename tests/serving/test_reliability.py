"""Service reliability: concurrent clients, SIGKILL mid-write and restart, refused writes and
uploads. The figures go to ``service_reliability.json`` in the pytest tmp dir and are printed
(quoted in docs/reliability.md)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from voxguard.serving.secret import default_secret_path, load_or_create_secret
from voxguard.serving.store import SQLiteStore

THREADS, LOOPS, KILLS = 8, 12, 3


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data: dict = {}
    yield data
    path = tmp_path_factory.getbasetemp() / "service_reliability.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nservice reliability figures ({path}):\n{json.dumps(data, indent=2)}")


def test_concurrent_clients_no_errors(server, make_wav, api_key, figures):
    """8 threads, each looping enroll -> verify -> detect -> get on its own speaker."""
    clips = [make_wav(seed=100 + i) for i in range(THREADS)]
    key = {"X-API-Key": api_key}

    def one_round(c: httpx.Client, i: int, n: int) -> list[httpx.Response]:
        sid = f"conc-{i}"
        mode = "replace" if n == 0 else "append"
        return [
            c.post(
                "/enroll",
                headers=key,
                data={"speaker_id": sid, "mode": mode},
                files={"files": ("a.wav", clips[i])},
            ),
            c.post("/verify", data={"speaker_id": sid}, files={"file": ("a.wav", clips[i])}),
            c.post("/detect", files={"file": ("a.wav", clips[i])}),
            c.get(f"/speakers/{sid}"),
        ]

    def client_loop(i: int) -> tuple[int, list[str]]:
        served, errors = 0, []
        with httpx.Client(base_url=server.url, timeout=60) as c:
            for n in range(LOOPS):
                for r in one_round(c, i, n):
                    served += 1
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {r.text[:200]}")
        return served, errors

    t0 = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(client_loop, range(THREADS)))
    served = sum(r[0] for r in results)
    errors = [e for r in results for e in r[1]]
    counts = [httpx.get(f"{server.url}/speakers/conc-{i}").json()["count"] for i in range(THREADS)]
    figures["concurrent"] = {
        "clients": THREADS,
        "loops": LOOPS,
        "requests_served": served,
        "errors": len(errors),
        "seconds": round(time.monotonic() - t0, 2),
        "final_counts": sorted(set(counts)),
    }
    assert errors == []
    assert served == THREADS * LOOPS * 4
    assert counts == [LOOPS] * THREADS  # every append landed exactly once


def _writer(
    url: str,
    key: str,
    wav: bytes,
    prefix: str,
    stop: threading.Event,
    acked: dict,
    lock: threading.Lock,
    tries: list,
) -> None:
    """Enroll unique ids (replace) and append to one shared id until told to stop."""
    n = 0
    with httpx.Client(base_url=url, timeout=30, headers={"X-API-Key": key}) as c:
        while not stop.is_set():
            n += 1
            append = n % 2 == 0
            sid = f"{prefix}-shared" if append else f"{prefix}-{n}"
            with lock:
                tries.append(sid)
            try:
                r = c.post(
                    "/enroll",
                    data={"speaker_id": sid, "mode": "append" if append else "replace"},
                    files={"files": ("a.wav", wav)},
                )
            except httpx.HTTPError:
                return  # the server died under us: this write is not acknowledged
            if r.status_code == 200:
                with lock:
                    acked.setdefault(sid, []).append(r.json())


def _real_speech_wav(seconds: float) -> bytes:
    """``seconds`` of the bundled demo speech (LibriSpeech test-other) as 16-bit WAV bytes."""
    import io

    import soundfile as sf

    from voxguard.audio import load_audio
    from voxguard.cli.cmd_demo import DEMO_AUDIO

    speech = load_audio(DEMO_AUDIO / "speaker_a_enroll1.flac", 16000)[0]
    buf = io.BytesIO()
    sf.write(buf, speech[8000 : 8000 + int(seconds * 16000)], 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_sigkill_mid_write_loses_no_acknowledged_enrollment(
    tmp_path, subprocess_server, api_key, figures
):
    db = tmp_path / "kill.sqlite"
    srv = subprocess_server(db)
    # real speech: the server runs in its own process with the real VAD, which refuses to enroll
    # the tests' synthetic "speech" (a voice login fails closed)
    wav = _real_speech_wav(1.5)
    acked: dict[str, list[dict]] = {}
    tries: list[str] = []
    lock = threading.Lock()
    lost, half_written, served = [], [], 0
    srv.start()
    for cycle in range(KILLS):
        stop = threading.Event()
        before = sum(len(v) for v in acked.values())
        writers = [
            threading.Thread(
                target=_writer,
                args=(srv.url, api_key, wav, f"k{cycle}w{w}", stop, acked, lock, tries),
            )
            for w in range(4)
        ]
        for t in writers:
            t.start()
        deadline = time.monotonic() + 60
        while sum(len(v) for v in acked.values()) < before + 24 and time.monotonic() < deadline:
            time.sleep(0.01)
        srv.kill()  # SIGKILL with writes in flight
        stop.set()
        for t in writers:
            t.join()
        srv.start()  # restart on the same database, then check every acknowledged write
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            for sid, acks in acked.items():
                r = c.get(f"/speakers/{sid}")
                served += 1
                if r.status_code != 200:
                    lost.append(sid)
                    continue
                got = r.json()
                if sid.endswith("-shared"):  # appends: every acked one, at most every attempted
                    if not len(acks) <= got["count"] <= tries.count(sid):
                        lost.append(sid)
                elif got["embedding_sha256"] != acks[-1]["embedding_sha256"]:
                    lost.append(sid)
        secret = load_or_create_secret(default_secret_path())  # the server's (same config home)
        store = SQLiteStore(db, secret)  # WAL: read the file directly while the server runs
        half_written += store.check_integrity()
        store.close()
    n_acked = sum(len(v) for v in acked.values())
    figures["sigkill"] = {
        "kills_survived": KILLS,
        "enroll_attempts": len(tries),
        "enrollments_acknowledged": n_acked,
        "enrollments_lost": len(lost),
        "rows_half_written": len(half_written),
        "reads_after_restart": served,
    }
    assert n_acked >= KILLS * 24
    assert lost == [] and half_written == []


def test_refusals_are_early_and_complete(server, make_wav, figures):
    big = b"\0" * (300 * 1024)  # over the 256 KiB cap of the test server
    with httpx.Client(base_url=server.url, timeout=30) as c:
        no_key = [
            c.post(
                "/enroll", data={"speaker_id": "x"}, files={"files": ("a.wav", make_wav())}
            ).status_code
            for _ in range(20)
        ]
        too_big = [
            c.post("/detect", files={"file": ("big.wav", big)}).status_code for _ in range(20)
        ]
        assert c.get("/speakers/x").status_code == 404
    figures["refusals"] = {
        "writes_without_key": len(no_key),
        "refused_401": no_key.count(401),
        "oversized_uploads": len(too_big),
        "refused_413": too_big.count(413),
    }
    assert no_key == [401] * 20 and too_big == [413] * 20
