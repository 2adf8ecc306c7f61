"""The verified-hash memo: unchanged files are not re-read, changed or fresh ones always are."""

from __future__ import annotations

import json
import os

import pytest

import voxguard.integrity as integrity


@pytest.fixture
def memo_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXGUARD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VOXGUARD_REHASH", raising=False)
    return tmp_path / "cache"


def _no_read(path):
    raise AssertionError(f"{path} was hashed again")


def test_settled_file_is_hashed_once(tmp_path, memo_dir, monkeypatch):
    f = tmp_path / "w.bin"
    f.write_bytes(b"weights")
    monkeypatch.setattr(integrity, "SETTLE_S", -1.0)  # treat the file as long settled
    digest = integrity.file_sha256(f)
    assert digest == integrity.sha256_of(f)
    memo = json.loads((memo_dir / "hashes.json").read_text())
    assert memo[str(f.resolve())]["sha256"] == digest
    monkeypatch.setattr(integrity, "sha256_of", _no_read)
    assert integrity.file_sha256(f) == digest


def test_changed_file_is_hashed_again(tmp_path, memo_dir, monkeypatch):
    f = tmp_path / "w.bin"
    f.write_bytes(b"weights")
    monkeypatch.setattr(integrity, "SETTLE_S", -1.0)
    before = integrity.file_sha256(f)
    f.write_bytes(b"tampered weights")
    after = integrity.file_sha256(f)
    assert after != before and after == integrity.sha256_of(f)


def test_fresh_file_is_never_memoised(tmp_path, memo_dir):
    f = tmp_path / "w.bin"
    f.write_bytes(b"weights")  # changed just now: inside SETTLE_S, a rewrite could go unseen
    integrity.file_sha256(f)
    assert not (memo_dir / "hashes.json").exists()


def test_rehash_switch_ignores_the_memo(tmp_path, memo_dir, monkeypatch):
    f = tmp_path / "w.bin"
    f.write_bytes(b"weights")
    monkeypatch.setattr(integrity, "SETTLE_S", -1.0)
    integrity.file_sha256(f)
    monkeypatch.setenv("VOXGUARD_REHASH", "1")
    monkeypatch.setattr(integrity, "sha256_of", _no_read)
    with pytest.raises(AssertionError, match="hashed again"):
        integrity.file_sha256(f)


def test_check_files_refuses_a_tampered_memoised_file(tmp_path, memo_dir, monkeypatch):
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"weights")
    monkeypatch.setattr(integrity, "SETTLE_S", -1.0)
    expected = {"model.safetensors": integrity.sha256_of(f)}
    integrity.check_files(expected, {"": tmp_path}, "bundle")
    st = f.stat()
    f.write_bytes(b"weightz")  # same size; a real rewrite comes > SETTLE_S after the memo
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(integrity.WeightsError, match="does not match"):
        integrity.check_files(expected, {"": tmp_path}, "bundle")
