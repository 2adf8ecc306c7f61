"""The CLI's start-up: models load with the garbage collector paused, then what was loaded is
frozen and collection resumes (a command owns its process)."""

from __future__ import annotations

import gc

from voxguard.cli._common import start_up


def test_start_up_pauses_then_freezes_and_resumes():
    assert gc.isenabled()
    try:
        with start_up():
            assert not gc.isenabled()
            loaded = [[i] for i in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(loaded)
    finally:
        gc.unfreeze()


def test_start_up_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with start_up():
            pass
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


def test_start_up_resumes_collection_after_an_error():
    try:
        try:
            with start_up():
                raise ValueError("model failed to load")
        except ValueError:
            pass
        assert gc.isenabled()
    finally:
        gc.unfreeze()
