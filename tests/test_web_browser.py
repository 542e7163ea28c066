"""The reading page in a real browser (headless chromium, driven by selenium), over real HTTP.

One server and one browser for the module (a browser is heavy); the tests run in file order as a
reader would: sign in, turn the dial, like, hide, move with the keys, change settings, sign out.
Where chromium cannot start, the tests skip and say why (under CI=true that is a failure).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from apikit import Api, make_api
from conftest import skip_or_fail
from sqlmodel import select
from webkit import BrowserUnavailable, browser, served, sign_in

from service.config import Settings
from service.storage.engine import Database
from service.storage.models import Feedback, Profile

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
WAIT = 10.0


@dataclass
class Site:
    api: Api
    base: str
    driver: Any
    profile_id: int
    token: str

    def get(self, path: str) -> None:
        self.driver.get(f"{self.base}{path}")

    def ids(self) -> list[int]:
        from selenium.webdriver.common.by import By

        items = self.driver.find_elements(By.CSS_SELECTOR, "#items > li.item")
        return [int(e.get_attribute("data-id")) for e in items]

    def signals(self) -> set[tuple[int, str]]:
        with self.api.db.session() as s:
            rows = s.exec(select(Feedback).where(Feedback.profile_id == self.profile_id)).all()
        return {(r.item_id, r.signal) for r in rows}

    def wait(self, condition: Callable[[Any], Any], message: str) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT).until(condition, message)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Any) -> Iterator[Site]:
    import shutil

    path = tmp_path_factory.mktemp("web") / "web.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")

    def settings(**values: Any) -> Settings:
        data = tmp_path_factory.mktemp("data")
        return Settings(data_dir=data, secret_key="browser-test-secret-key-0123456789", **values)

    api = make_api(db, settings, items=240, seed=9)
    profile, token, _feed = api.profile("ada", depth=0.5)
    try:
        with served(api.client.app) as base, browser() as driver:
            yield Site(api, base, driver, profile["id"], token)
    except BrowserUnavailable as reason:
        skip_or_fail(f"the reading page needs a browser here: {reason}")
    finally:
        db.dispose()


def test_sign_in(site: Site) -> None:
    from selenium.webdriver.common.by import By

    site.get("/app/")
    assert site.driver.current_url.endswith("/app/login")  # nothing without signing in
    sign_in(site.driver, site.base, site.token)
    site.wait(lambda d: d.find_elements(By.ID, "items"), "the feed did not open")
    assert len(site.ids()) == 20
    assert "Sign out (ada)" in site.driver.find_element(By.ID, "sign-out").text
    cookies = {c["name"]: c for c in site.driver.get_cookies()}
    session = cookies["staycurrent_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"
    assert site.driver.execute_script("return document.cookie") == ""  # not readable by scripts


def test_moving_the_slider_reorders_the_feed(site: Site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    site.get("/app/")
    before, focus_before = site.ids(), site.driver.find_element(By.ID, "metric-focus").text
    slider = site.driver.find_element(By.ID, "depth")
    url_before = site.driver.current_url
    slider.send_keys(Keys.HOME)  # to 0: the broadest feed, through the script, no reload
    site.wait(
        lambda d: d.find_element(By.ID, "metric-depth").text == "0.00",
        "the list was not re-ranked",
    )
    broad = site.ids()
    assert broad != before
    assert site.driver.find_element(By.ID, "depth-value").text == "0.00"
    assert "depth=0" in site.driver.current_url and site.driver.current_url != url_before
    slider.send_keys(Keys.END)
    site.wait(lambda d: d.find_element(By.ID, "metric-depth").text == "1.00", "not re-ranked")
    assert site.ids() != broad
    focus_deep = site.driver.find_element(By.ID, "metric-focus").text
    assert int(focus_deep.rstrip("%")) >= int(focus_before.rstrip("%"))


def test_liking_an_item_is_recorded(site: Site) -> None:
    from selenium.webdriver.common.by import By

    site.get("/app/")
    first = site.ids()[0]
    site.driver.find_element(By.CSS_SELECTOR, f"#item-{first} button[data-key='like']").click()
    site.wait(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, f"#item-{first} button[data-key='like']").get_attribute(
                "aria-pressed"
            )
            == "true"
        ),
        "the like button did not turn on",
    )
    assert (first, "like") in site.signals()


def test_hiding_an_item_removes_it(site: Site) -> None:
    from selenium.webdriver.common.by import By

    site.get("/app/")
    target = site.ids()[1]
    site.driver.find_element(By.CSS_SELECTOR, f"#item-{target} button[data-key='hide']").click()
    site.wait(lambda d: not d.find_elements(By.ID, f"item-{target}"), "the item is still there")
    assert (target, "hide") in site.signals()
    site.get("/app/")
    assert target not in site.ids()


def test_keyboard_navigation(site: Site) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    site.get("/app/")
    ids = site.ids()
    keys = ActionChains(site.driver)
    keys.send_keys("j").send_keys("j").send_keys("j").send_keys("k").perform()
    current = site.driver.find_elements(By.CSS_SELECTOR, "#items > li.current")
    assert [int(e.get_attribute("data-id")) for e in current] == [ids[1]]
    ActionChains(site.driver).send_keys("?").perform()
    assert site.driver.find_element(By.ID, "help").is_displayed()
    ActionChains(site.driver).send_keys("?").perform()
    assert not site.driver.find_element(By.ID, "help").is_displayed()
    ActionChains(site.driver).send_keys("s").perform()  # save the current item
    site.wait(lambda _d: (ids[1], "save") in site.signals(), "s did not save")
    site.wait(lambda d: d.find_elements(By.ID, "items"), "the page did not come back")
    site.get("/app/saved")
    assert ids[1] in site.ids()


def test_settings_are_saved(site: Site) -> None:
    from selenium.webdriver.common.by import By

    site.get("/app/settings")
    keywords = site.driver.find_element(By.ID, "keywords")
    keywords.clear()
    keywords.send_keys("diffusion\n-survey")
    box = site.driver.find_element(By.CSS_SELECTOR, "input[name='interest'][value='robotics']")
    if not box.is_selected():
        box.click()
    site.driver.find_element(By.ID, "save-settings").click()
    site.wait(lambda d: d.find_elements(By.ID, "saved"), "no confirmation")
    with site.api.db.session() as s:
        profile = s.get(Profile, site.profile_id)
    assert profile is not None
    assert profile.keywords == ["diffusion", "-survey"]
    assert "robotics" in profile.interests and "nlp" in profile.interests


def test_sign_out(site: Site) -> None:
    from selenium.webdriver.common.by import By

    site.get("/app/")
    site.driver.find_element(By.ID, "sign-out").click()
    site.wait(lambda d: d.current_url.endswith("/app/login"), "not on the sign-in page")
    site.get("/app/settings")
    assert site.driver.current_url.endswith("/app/login")
