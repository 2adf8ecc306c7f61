"""The REST endpoints against a real uvicorn server on loopback (httpx client)."""

from __future__ import annotations

import hashlib
import io
import socket

import numpy as np
import soundfile as sf
import torch

from voxguard import create_model


def _independent_model(name: str, seed: int) -> torch.nn.Module:
    """The service's random-init model rebuilt here, outside the service code."""
    torch.manual_seed(seed)
    return create_model(name).eval()


def _samples(data: bytes) -> torch.Tensor:
    x, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 16000
    return torch.from_numpy(x)[None]


def test_openapi_documents_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/detect",
        "/enroll",
        "/verify",
        "/speakers",
        "/speakers/{speaker_id}",
        "/health",
        "/info",
    } <= set(paths)
    assert "delete" in paths["/speakers/{speaker_id}"]
    assert client.get("/docs").status_code == 200


def test_detect_score_is_logit_difference(client, make_wav):
    data = make_wav(seed=3)
    r = client.post("/detect", files={"file": ("x.wav", data)})
    assert r.status_code == 200, r.text
    # SPEC: CM evaluation input = the first 64,600 samples, tile-repeating short clips
    x = _samples(data)[0].numpy()
    crop = torch.from_numpy(np.tile(x, -(-64600 // x.size))[:64600])[None]
    with torch.no_grad():
        logits = _independent_model("debug_cm", 0)(crop)[0].double()
    expected = float(logits[1] - logits[0])
    body = r.json()
    assert abs(body["cm_score"] - expected) < 1e-5
    assert body["decision"] == ("bonafide" if expected >= 0 else "spoof")
    assert body["duration_s"] == 1.0


def test_enroll_is_mean_embedding_and_verify_self_is_cosine_one(client, make_wav, api_key):
    a, b = make_wav(seed=10), make_wav(seed=11)
    key = {"X-API-Key": api_key}
    r = client.post(
        "/enroll",
        data={"speaker_id": "alice"},
        headers=key,
        files=[("files", ("a.wav", a)), ("files", ("b.wav", b))],
    )
    assert r.status_code == 200, r.text
    spk = _independent_model("debug_spk", 1)
    with torch.no_grad():
        ea, eb = (spk(_samples(x))[0].double().numpy() for x in (a, b))
    mean = ((ea + eb) / 2).astype("<f4")
    body = r.json()
    assert (
        body["count"] == 2 and body["embedding_dim"] == 16 and body["files"] == ["a.wav", "b.wav"]
    )
    # the stored embedding is the mean, computed here independently (bit-exact float32)
    assert body["embedding_sha256"] == hashlib.sha256(mean.tobytes()).hexdigest()
    r = client.post(
        "/enroll", data={"speaker_id": "alice-solo"}, headers=key, files={"files": ("a.wav", a)}
    )
    assert r.json()["embedding_sha256"] == hashlib.sha256(ea.astype("<f4").tobytes()).hexdigest()
    v = client.post("/verify", data={"speaker_id": "alice-solo"}, files={"file": ("a.wav", a)})
    assert v.status_code == 200, v.text
    assert abs(v.json()["asv_score"] - 1.0) < 1e-6 and v.json()["asv_decision"] == "accept"
    v2 = client.post("/verify", data={"speaker_id": "alice"}, files={"file": ("b.wav", b)}).json()
    cos = float(eb @ mean / (np.linalg.norm(eb) * np.linalg.norm(mean)))
    assert abs(v2["asv_score"] - cos) < 1e-5
    assert v2["accepted"] == (v2["cm_decision"] == "bonafide" and v2["asv_decision"] == "accept")


def test_append_mode_updates_running_mean(client, make_wav, api_key):
    key = {"X-API-Key": api_key}
    clips = [make_wav(seed=s) for s in (20, 21, 22)]
    spk = _independent_model("debug_spk", 1)
    with torch.no_grad():
        embs = [spk(_samples(c))[0].double().numpy() for c in clips]
    client.post(
        "/enroll", data={"speaker_id": "carol"}, headers=key, files={"files": ("0.wav", clips[0])}
    ).raise_for_status()
    r = client.post(
        "/enroll",
        data={"speaker_id": "carol", "mode": "append"},
        headers=key,
        files=[("files", ("1.wav", clips[1])), ("files", ("2.wav", clips[2]))],
    )
    assert r.status_code == 200 and r.json()["count"] == 3
    # a fresh verify with clip 0 scores the cosine against the 3-utterance mean
    mean = np.mean(embs, axis=0)
    expected = float(embs[0] @ mean / (np.linalg.norm(embs[0]) * np.linalg.norm(mean)))
    v = client.post("/verify", data={"speaker_id": "carol"}, files={"file": ("0.wav", clips[0])})
    assert abs(v.json()["asv_score"] - expected) < 1e-5


def test_list_get_delete(client, make_wav, api_key):
    key = {"X-API-Key": api_key}
    for sid in ("zz-1", "zz-2"):
        client.post(
            "/enroll",
            data={"speaker_id": sid},
            headers=key,
            files={"files": ("a.wav", make_wav(seed=1))},
        ).raise_for_status()
    listed = client.get("/speakers", params={"limit": 1000}).json()
    ids = [s["speaker_id"] for s in listed["speakers"]]
    assert {"zz-1", "zz-2"} <= set(ids) and ids == sorted(ids) and listed["total"] == len(ids)
    assert client.get("/speakers/zz-1").json()["count"] == 1
    assert client.delete("/speakers/zz-1", headers=key).json() == {
        "speaker_id": "zz-1",
        "deleted": True,
    }
    r = client.get("/speakers/zz-1")
    assert r.status_code == 404 and r.json()["error"] == "unknown speaker"
    assert client.delete("/speakers/zz-1", headers=key).status_code == 404


def test_health_and_info(client):
    assert client.get("/health").json()["status"] == "ok"
    info = client.get("/info").json()
    assert info["cm_model"] == "debug_cm" and info["spk_model"] == "debug_spk"
    assert info["auth_required_for_writes"] is True and info["store_backend"] == "sqlite"


def test_writes_need_the_key(client, make_wav):
    files = {"files": ("a.wav", make_wav())}
    r = client.post("/enroll", data={"speaker_id": "mallory"}, files=files)
    assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]
    r = client.post(
        "/enroll", data={"speaker_id": "mallory"}, files=files, headers={"X-API-Key": "wrong"}
    )
    assert r.status_code == 403
    r = client.post(
        "/enroll",
        data={"speaker_id": "mallory"},
        files=files,
        headers={"Authorization": "Bearer test-key-123"},
    )
    assert r.status_code == 200
    assert client.delete("/speakers/mallory").status_code == 401
    assert client.get("/speakers/mallory").status_code == 200


def test_errors_are_json_4xx_naming_the_input(client, make_wav):
    r = client.post("/detect", files={"file": ("junk.wav", b"RIFF not really audio")})
    assert r.status_code == 422 and r.json()["error"] == "bad audio"
    assert "junk.wav" in r.json()["detail"] and "0x" not in r.json()["detail"]
    r = client.post("/verify", data={"speaker_id": "nobody"}, files={"file": ("a.wav", make_wav())})
    assert r.status_code == 404 and "POST /enroll" in r.json()["detail"]
    r = client.post("/detect", files={"file": ("short.wav", make_wav(seconds=0.02))})
    assert r.status_code == 422 and r.json()["error"] == "audio too short"
    r = client.post("/detect", files={"file": ("long.wav", make_wav(seconds=6.0, rate=8000))})
    assert r.status_code == 413 and r.json()["error"] == "audio too long"
    r = client.post("/detect", data={"x": "1"})
    assert r.status_code == 422 and "file" in r.json()["detail"]
    r = client.post(
        "/enroll",
        data={"speaker_id": "x"},
        headers={"X-API-Key": "test-key-123"},
        files=[("files", (f"{i}.wav", make_wav())) for i in range(5)],
    )
    assert r.status_code == 422 and r.json()["error"] == "too many files"


def test_no_path_traversal(client, make_wav, api_key):
    for bad in ("../etc", "a/b", "..", "a.b", "x" * 65, "", "ä"):
        r = client.post("/verify", data={"speaker_id": bad}, files={"file": ("a.wav", make_wav())})
        assert r.status_code == 422, bad
    for path in ("/speakers/..%2F..%2Fetc%2Fpasswd", "/speakers/%2e%2e", "/speakers/a%00b"):
        assert client.get(path).status_code in (404, 422)
    r = client.post(
        "/enroll",
        data={"speaker_id": "trav"},
        headers={"X-API-Key": api_key},
        files={"files": ("../../../var/evil.wav", make_wav())},
    )
    assert r.status_code == 200 and r.json()["files"] == ["evil.wav"]


def test_oversized_upload_refused_before_body_is_sent(server):
    """Content-Length over the cap: 413 arrives although only 1 KiB of 50 MiB was sent."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(
            b"POST /detect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
            b"boundary=b\r\nContent-Length: 52428800\r\n\r\n" + b"x" * 1024
        )
        reply = b""
        while chunk := s.recv(4096):  # the server closes the connection after its answer
            reply += chunk
    text = reply.decode("latin-1")
    assert text.startswith("HTTP/1.1 413"), text
    assert '"error":"upload too large"' in text and "connection: close" in text.lower()


def test_oversized_chunked_upload_refused(client, make_wav):
    def body():
        yield (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
            b"Content-Type: audio/wav\r\n\r\n"
        )
        for _ in range(16):  # 1 MiB of a well-formed part, streamed without Content-Length
            yield b"\0" * 65536

    r = client.post(
        "/detect", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert r.status_code == 413 and r.json()["error"] == "upload too large"


def test_enrolling_silence_is_refused_and_stores_nothing(client, make_wav, api_key):
    key = {"X-API-Key": api_key}
    buf = io.BytesIO()
    sf.write(buf, np.zeros(16000, np.float32), 16000, format="WAV", subtype="PCM_16")
    files = [
        ("files", ("speech.wav", make_wav(seed=40))),
        ("files", ("silence.wav", buf.getvalue())),
    ]
    r = client.post("/enroll", data={"speaker_id": "mute"}, headers=key, files=files)
    assert r.status_code == 422, r.text
    assert "no speech to enroll" in r.text
    assert client.get("/speakers/mute").status_code == 404  # a voice login fails closed
