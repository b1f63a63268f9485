"""The web shell as a worker meets it: logging in, scanning, languages, roles, sessions."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from rma.core import services
from rma.core.models import Role
from rma.db import Database
from tests.e2e.pages import (
    by_testid,
    connected,
    element,
    focused,
    log_in,
    log_in_ok,
    path_of,
    scan,
    scan_box,
    scan_box_has_focus,
    text_input,
    wait,
    wait_for_notification,
    wait_for_path,
    wait_for_text,
)
from tests.e2e.station import PASSWORDS, SERIAL, SERIAL_2

pytestmark = pytest.mark.e2e

UNKNOWN_UNIT = "no unit with serial or tag 'NOPE-404'"


def test_clerk_scans_a_tag_then_an_unknown_key(browser, station):
    log_in_ok(browser, station, "clerk", PASSWORDS["clerk"])
    tag = station.seed.tags[SERIAL]

    scan(browser, tag)
    wait_for_path(browser, f"/unit/{tag}")
    assert wait_for_text(browser, "unit-serial", SERIAL).text == SERIAL
    state = element(browser, "unit-state")
    assert state.text == "Received" and state.get_attribute("data-state") == "received"
    assert element(browser, "open-visit").text == tag
    timeline = element(browser, "unit-timeline").text
    assert "Opened" in timeline and "clerk" in timeline and "no power" in timeline
    assert "SH-PD01" in element(browser, "unit-visits").text

    scan(browser, "  nope-404 ")  # a scanner's stray spaces are not part of the key
    assert wait_for_text(browser, "error-message", UNKNOWN_UNIT).text == UNKNOWN_UNIT
    assert scan_box_has_focus(browser), "the next scan must work without touching the mouse"
    assert scan_box(browser).get_attribute("value") == ""

    scan(browser, SERIAL_2, end=Keys.TAB)  # by serial, straight from the error page; Tab ends a scan too
    wait_for_text(browser, "unit-serial", SERIAL_2)
    assert element(browser, "open-visit").text == station.seed.tags[SERIAL_2]

    # Someone clicked away from the scan box: the next scan still lands in it.
    browser.execute_script("document.activeElement.blur()")
    assert not scan_box_has_focus(browser)
    ActionChains(browser).send_keys(tag + Keys.ENTER).perform()
    wait_for_text(browser, "unit-serial", SERIAL)


def test_switching_to_chinese_and_back(browser, station):
    log_in_ok(browser, station, "clerk", PASSWORDS["clerk"])
    assert scan_box(browser).get_attribute("placeholder") == "Scan tag or serial"

    element(browser, "lang-zh").click()
    wait(browser).until(lambda d: scan_box(d).get_attribute("placeholder") == "扫描标签或序列号")
    nav = element(browser, "nav").text
    assert "物流" in nav and "首页" in nav and "Intake" not in nav
    assert "退出" in element(browser, "logout").text
    assert "已接收" in element(browser, "state-counts").text

    scan(browser, SERIAL)
    assert wait_for_text(browser, "unit-state", "已接收").text == "已接收"
    assert "建档" in element(browser, "unit-timeline").text

    element(browser, "lang-en").click()
    wait_for_text(browser, "unit-state", "Received")
    assert scan_box(browser).get_attribute("placeholder") == "Scan tag or serial"
    assert "Intake" in element(browser, "nav").text


def test_admin_page_is_for_admins_only(browser, station):
    log_in_ok(browser, station, "clerk", PASSWORDS["clerk"])
    assert "/admin" not in element(browser, "nav").get_attribute("innerHTML")
    browser.get(station.url("/admin"))
    assert wait_for_text(browser, "access-denied", "You do not have access to this page.")
    assert not browser.find_elements(*by_testid("user-table"))
    assert not browser.find_elements(*by_testid("add-user-form"))

    element(browser, "logout").click()
    wait_for_path(browser, "/login")
    log_in_ok(browser, station, "admin", PASSWORDS["admin"])
    element(browser, "nav").find_element(By.CSS_SELECTOR, '[data-nav="/admin"]').click()
    users = wait_for_text(browser, "user-table", "clerk")
    assert "Li Wei" in users.text and "Logistics clerk" in users.text
    connected(browser)

    text_input(browser, "new-username").send_keys("tester1")
    text_input(browser, "new-display-name").send_keys("Wang Fang")
    element(browser, "new-roles").click()
    wait(browser).until(EC.element_to_be_clickable(
        (By.XPATH, "//div[contains(@class,'q-menu')]//div[contains(@class,'q-item')][normalize-space()='Tester']")
    )).click()
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    text_input(browser, "new-password").send_keys("short")
    element(browser, "add-user").click()
    wait_for_notification(browser, "a password needs at least 8 characters")
    assert "tester1" not in element(browser, "user-table").text

    password = text_input(browser, "new-password")
    password.send_keys(Keys.CONTROL, "a")
    password.send_keys("tester-pass-1")
    element(browser, "add-user").click()
    row = wait_for_text(browser, "user-table", "tester1")
    assert "Wang Fang" in row.text and "Tester" in row.text


def test_wrong_password_and_unknown_user_get_the_same_answer(browser, station):
    log_in(browser, station, "clerk", "not-the-password")
    wrong_password = wait_for_text(browser, "login-error", "wrong password").text
    log_in(browser, station, "nobody-here", "not-the-password")
    unknown_user = wait_for_text(browser, "login-error", "wrong password").text
    assert wrong_password == unknown_user == "Unknown user or wrong password."
    assert path_of(browser) == "/login"


def test_admin_page_sends_strangers_to_the_login(browser, station):
    browser.get(station.url("/admin"))
    wait_for_path(browser, "/login")
    assert "next=%2Fadmin" in browser.current_url
    assert not browser.find_elements(*by_testid("user-table"))
    text_input(browser, "login-username").send_keys("admin")
    text_input(browser, "login-password").send_keys(PASSWORDS["admin"] + Keys.ENTER)
    wait_for_path(browser, "/admin")  # back where they wanted to go
    element(browser, "user-table")


def test_an_idle_session_expires(browser, station):
    log_in_ok(browser, station, "clerk", PASSWORDS["clerk"])
    (station.home / "rma.toml").write_text("[station]\nsession_idle_hours = 0\n")
    browser.get(station.url("/"))
    wait_for_path(browser, "/login")
    assert element(browser, "login-reason").text == "Your session has expired; please log in again."


def test_a_password_reset_ends_the_users_sessions(browser, station):
    log_in_ok(browser, station, "clerk", PASSWORDS["clerk"])
    db = Database.from_url(station.db_url)
    try:
        with db.uow() as uow:
            services.reset_password(uow, services.get_actor(uow, "admin"), "clerk", "a-new-password")
    finally:
        db.dispose()
    browser.get(station.url("/"))
    wait_for_path(browser, "/login")
    assert element(browser, "login-reason").text == "Your session has ended; please log in again."
    log_in(browser, station, "clerk", "a-new-password")
    wait_for_path(browser, "/")
    assert focused(browser).get_attribute("data-testid") == "scan-box"


def test_an_action_from_a_page_left_open_after_the_account_changed_is_refused(browser, station):
    log_in(browser, station, "admin", PASSWORDS["admin"], path="/login?next=/admin")
    wait_for_text(browser, "user-table", "clerk")
    connected(browser)
    db = Database.from_url(station.db_url)
    try:  # another administrator's terminal resets this admin's password meanwhile
        with db.uow() as uow:
            services.add_user(uow, services.get_actor(uow, "admin"), username="admin2",
                              password="admin2-pass", roles=[Role.ADMIN])
        with db.uow() as uow:
            services.reset_password(uow, services.get_actor(uow, "admin2"), "admin", "another-pass-1")
    finally:
        db.dispose()
    text_input(browser, "new-username").send_keys("late1")
    text_input(browser, "new-password").send_keys("late1-pass-1")
    element(browser, "add-user").click()
    wait_for_path(browser, "/login")
    assert element(browser, "login-reason").text == "Your session has ended; please log in again."
    log_in(browser, station, "admin", "another-pass-1", path="/login?next=/admin")
    assert "late1" not in wait_for_text(browser, "user-table", "admin2").text
