"""What a test does in the browser, in the words of the station: log in, scan, read."""

from __future__ import annotations

from urllib.parse import urlparse

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.station import WAIT_S, Station


def wait(driver: WebDriver) -> WebDriverWait:
    # While the page re-renders, Chromium may answer "Node ... does not belong to the document"
    # (a WebDriverException, not a stale element): that is a moment to look again, not a failure.
    return WebDriverWait(driver, WAIT_S, ignored_exceptions=(WebDriverException,))


def by_testid(testid: str) -> tuple[str, str]:
    return By.CSS_SELECTOR, f'[data-testid="{testid}"]'


def element(driver: WebDriver, testid: str) -> WebElement:
    """The element with ``data-testid``, once it is visible."""
    return wait(driver).until(EC.visibility_of_element_located(by_testid(testid)))


def text_input(driver: WebDriver, testid: str) -> WebElement:
    """The native <input> of a (Quasar) field marked with ``data-testid``."""
    return wait(driver).until(EC.visibility_of_element_located(
        (By.CSS_SELECTOR, f'input[data-testid="{testid}"], [data-testid="{testid}"] input')
    ))


def connected(driver: WebDriver) -> None:
    """Wait until the page's live connection is up: only then do Quasar fields sync in order."""
    wait(driver).until(lambda d: d.execute_script("return window.did_handshake === true"),
                       "the page should connect to the server")


def path_of(driver: WebDriver) -> str:
    return urlparse(driver.current_url).path


def wait_for_path(driver: WebDriver, path: str) -> None:
    wait(driver).until(lambda d: path_of(d) == path, f"expected to be at {path}")


def wait_for_text(driver: WebDriver, testid: str, text: str) -> WebElement:
    def shown(d: WebDriver) -> WebElement | bool:
        found = d.find_element(*by_testid(testid))
        return found if text in found.text else False

    return wait(driver).until(shown, f"{testid} should show {text!r}")


def wait_for_notification(driver: WebDriver, text: str) -> WebElement:
    """The notification (of any shown) whose text holds `text`, once it has faded in: a
    notification is in the page before its text is visible, so it is waited for, not read."""

    def shown(d: WebDriver) -> WebElement | bool:
        found = [n for n in d.find_elements(By.CSS_SELECTOR, ".q-notification") if text in n.text]
        return found[0] if found else False

    return wait(driver).until(shown, f"a notification should say {text!r}")


def log_in(driver: WebDriver, station: Station, username: str, password: str, path: str = "/login") -> None:
    driver.get(station.url(path))
    text_input(driver, "login-username").send_keys(username)
    text_input(driver, "login-password").send_keys(password + Keys.ENTER)


def log_in_ok(driver: WebDriver, station: Station, username: str, password: str) -> None:
    log_in(driver, station, username, password)
    wait_for_path(driver, "/")
    element(driver, "scan-box")


def scan_box(driver: WebDriver) -> WebElement:
    return element(driver, "scan-box")


def focused(driver: WebDriver) -> WebElement:
    return driver.switch_to.active_element


def scan_box_has_focus(driver: WebDriver) -> bool:
    return focused(driver).get_attribute("data-testid") == "scan-box"


def scan(driver: WebDriver, key: str, end: str = Keys.ENTER) -> None:
    """What a keyboard-wedge scanner does: type fast into whatever has focus, then Enter."""
    wait(driver).until(scan_box_has_focus, "the scan box should have focus")
    focused(driver).send_keys(key + end)
