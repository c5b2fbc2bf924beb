"""The console served for real (uvicorn in a thread of the test process, on the vault under
test) and driven by Debian's Chromium through Playwright's executable_path: no browser is
downloaded. Every test saves screenshots under its tmp dir."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from api.http.app import create_app
from custody.admin import acts
from tests.conftest import Vault, make_vault
from tests.ftpserver import free_port
from vault.db import unit_of_work
from vault.synthetic import generate_clip

PASSWORD = "correct horse battery staple"  # noqa: S105 - the test people's
HOSTILE_NAME = "<img src=x onerror=alert(1)>\u202egnp.mp4"
RECORDED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai
PEOPLE = {
    "chen": ["custodian"], "li": ["investigator"], "zhao": ["approver"],
    "wang": ["investigator", "approver"],  # may approve, but never their own request
    "sun": ["auditor"],
}  # fmt: skip
# A sidecar whose fields hold markup, quotes and direction marks: shown as text, never obeyed.
HOSTILE_SIDECAR = {
    "officer": "P7",
    "matter": "<script>alert('sidecar')</script>",
    "location": '"quoted" \u200fright-to-left\u202e',
}


@dataclass(frozen=True)
class Console:
    vault: Vault
    url: str
    shots: Path

    def sign_in(self, page: Page, username: str, password: str = PASSWORD) -> None:
        page.goto(f"{self.url}/signin")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")

    def shot(self, page: Page, name: str) -> Path:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium package is needed (apt-get install chromium)"
    return found


# Per module, not per session: Playwright's sync API keeps an event loop running in the
# test process's main thread while it is open, and a test that the same xdist worker takes
# next from another module (--dist=worksteal) and signs a PDF (pyHanko's asyncio.run) would
# fail with "asyncio.run() cannot be called from a running event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def console_port() -> int:
    """The console's port, known before its settings (a provider's redirect address needs it)."""
    return free_port()


@pytest.fixture
def console_options() -> dict[str, object]:
    """Settings of the console's vault beyond the defaults; a test module overrides this."""
    return {}


@pytest.fixture
def docked() -> Callable[[Path], None]:
    """More recordings put on the station before the first ingest; a module overrides this."""
    return lambda station: None


@pytest.fixture
def console(
    isolated_env: Path,
    tmp_path: Path,
    console_options: dict[str, object],
    docked: Callable[[Path], None],
    console_port: int,
) -> Iterator[Console]:
    vault = make_vault(
        isolated_env, console_lockout_after=3, console_lockout_minutes=5, **console_options
    )
    generate_clip(vault.station_dir / "CAM7" / "patrol.mp4", seconds=1, label="A",
                  recorded_at=RECORDED)  # fmt: skip
    generate_clip(vault.station_dir / "CAM7" / "earlier.mp4", seconds=1, frequency=720,
                  recorded_at=RECORDED - timedelta(days=2))  # fmt: skip
    generate_clip(vault.station_dir / "CAM7" / HOSTILE_NAME, seconds=1, frequency=640)
    generate_clip(vault.station_dir / "CAM7" / "described.mp4", seconds=1, frequency=560)
    (vault.station_dir / "CAM7" / "described.mp4.json").write_text(
        json.dumps(HOSTILE_SIDECAR, ensure_ascii=False), encoding="utf-8"
    )
    generate_clip(vault.station_dir / "CAM9" / "night.mp4", seconds=1, frequency=500,
                  recorded_at=RECORDED)  # fmt: skip
    docked(vault.station_dir)
    vault.ingest()
    with unit_of_work(vault.app.factory) as session:
        for name, roles in PEOPLE.items():
            acts.add_user(session, actor="test", username=name, roles=roles)
            acts.set_password(session, actor="test", username=name, password=PASSWORD)
    port = console_port
    config = uvicorn.Config(create_app(vault.app), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/health", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        yield Console(vault, url, shots)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        vault.app.engine.dispose()
