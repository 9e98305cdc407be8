"""The web page in a real browser: Playwright drives headless Chromium (Debian's package) against `talkinghead serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import wave
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gradio")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ASSETS = Path(str(resources.files("talkinghead") / "assets"))

if not Path(CHROMIUM).is_file():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} not found: CI installs Debian's chromium for the browser tests")
    pytest.skip(f"{CHROMIUM} not found (apt-get install chromium); skipping the browser tests", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> str:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "talkinghead.cli", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(url, timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("talkinghead serve did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def page(server: str):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        pg = browser.new_page()
        pg.goto(server)
        yield pg
        browser.close()


def _short_speech(path: Path, seconds: float = 2.5) -> Path:
    from talkinghead.media.audio import load_speech

    x = load_speech(ASSETS / "jfk.flac").samples[16000:16000 + int(seconds * 16000)]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_upload_generate_and_play(page, tmp_path: Path) -> None:
    page.locator("#portrait input[type=file]").set_input_files(str(ASSETS / "astronaut.png"))
    page.locator("#audio input[type=file]").set_input_files(str(_short_speech(tmp_path / "speech.wav")))
    page.locator("#generate").click()
    page.wait_for_function("() => { const v = document.querySelector('#result video');"
                           " return v && v.readyState >= 1 && v.duration > 0; }", timeout=300_000)
    duration = page.evaluate("() => document.querySelector('#result video').duration")
    assert abs(duration - 2.5) < 0.15
    page.evaluate("() => { const v = document.querySelector('#result video'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('#result video').currentTime > 0.2", timeout=30_000)
    links = page.locator("a[download]")
    names = [links.nth(i).get_attribute("download") or "" for i in range(links.count())]
    assert any(n.endswith(".csv") for n in names) and any(n.endswith(".npz") for n in names), names


def test_bad_upload_is_an_error_in_the_page(page, tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    with wave.open(str(silent), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(16000, "<i2").tobytes())
    page.reload()
    page.locator("#portrait input[type=file]").set_input_files(str(ASSETS / "astronaut.png"))
    page.locator("#audio input[type=file]").set_input_files(str(silent))
    page.locator("#generate").click()
    toast = page.get_by_text("silent.wav: audio is silent")  # our one-line message, naming the file
    toast.first.wait_for(timeout=120_000)
    assert page.locator("#result video").count() == 0  # and no video from the bad upload
