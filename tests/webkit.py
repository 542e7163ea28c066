"""The reading page in a real browser: the app served by uvicorn on loopback (in a thread), and
Debian's headless chromium driven by selenium through chromium-driver.

``served(app)`` runs any ASGI app on a free port until the block ends; ``browser()`` starts
chromium, or raises ``BrowserUnavailable`` with the reason (no chromium, no driver, no selenium,
or it would not start), which the tests turn into a visible skip.

Run as a script, it writes the README's screenshots (feed, settings and trends, at desktop and
phone widths) from a generated corpus into ``docs/``:

    .venv/bin/python tests/webkit.py docs/
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"
DESKTOP = (1280, 900)
PHONE = (390, 844)
SHOTS = (("feed", "/app/"), ("settings", "/app/settings"), ("trends", "/app/trends"))
SHOTS_SECRET = "screenshots-secret-key-0123456789"


class BrowserUnavailable(Exception):
    """Chromium cannot run here: the reason, in words."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served on ``http://127.0.0.1:<port>`` for the duration of the block."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _binary() -> str:
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserUnavailable(
        "chromium is not installed (.ci/run installs it: apt-get install chromium)"
    )


@contextmanager
def browser(size: tuple[int, int] = DESKTOP) -> Iterator[Any]:
    """A headless chromium (a selenium WebDriver), closed at the end of the block."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise BrowserUnavailable(f"selenium is not installed ({exc})") from exc
    driver_path = shutil.which(DRIVER)
    if driver_path is None:
        raise BrowserUnavailable("chromedriver is not installed (apt-get install chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = _binary()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    with tempfile.TemporaryDirectory(prefix="staycurrent-chromium-") as profile_dir:
        options.add_argument(f"--user-data-dir={profile_dir}")
        try:
            driver = webdriver.Chrome(service=Service(driver_path), options=options)
        except WebDriverException as exc:
            raise BrowserUnavailable(f"chromium would not start: {exc.msg}") from exc
        try:
            yield driver
        finally:
            driver.quit()


def sign_in(driver: Any, base: str, token: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/app/login")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "sign-in").click()


def _screenshot(driver: Any, path: Path, size: tuple[int, int]) -> None:
    driver.set_window_size(*size)
    driver.refresh()
    time.sleep(0.3)
    # The whole page, as tall as it is (up to a limit), at this width.
    height = min(int(driver.execute_script("return document.body.scrollHeight")), 1600)
    driver.set_window_size(size[0], max(size[1], height))
    driver.save_screenshot(str(path))


def write_screenshots(out: Path) -> list[Path]:
    """Feed, settings and trends at desktop and phone widths, from a generated corpus."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from apikit import make_api

    from service.config import Settings
    from service.outputs.trends import refresh_trends
    from service.storage.engine import Database
    from service.storage.migrate import upgrade

    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/shots.db")
        upgrade(db)

        def settings(**values: Any) -> Settings:
            return Settings(
                data_dir=Path(tmp), secret_key="screenshots-secret-key-0123456789", **values
            )

        api = make_api(db, settings, items=1500, seed=7)
        refresh_trends(db, now=api.now)
        interests = {"nlp": 1.0, "reinforcement-learning": 0.8}
        _profile, token, _feed = api.profile("ada", interests=interests, keywords=["agents"])
        with served(api.client.app) as base, browser() as driver:
            sign_in(driver, base, token)
            for name, path in (
                ("feed", "/app/"),
                ("settings", "/app/settings"),
                ("trends", "/app/trends"),
            ):
                driver.get(f"{base}{path}")
                for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
                    target = out / f"reading-{name}-{label}.png"
                    _screenshot(driver, target, size)
                    written.append(target)
        db.dispose()
    return written


if __name__ == "__main__":
    for shot in write_screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(shot)
