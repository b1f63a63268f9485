"""The test station as a tester meets it: scan a tag, watch the steps, answer, tick, read the verdict.

The simulated fixture runs in this process on a pty; the station's rma.toml names its stable
link (``[test_station] port``) before the server starts, and each test plugs in a simulator
with the faults it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from drivers.fixture_sim import FixtureSimulator
from rma.core import services as core
from rma.core.models import Role
from rma.core.states import VisitState
from rma.db import Database
from rma.test_station import services
from tests.e2e.pages import (
    by_testid,
    connected,
    element,
    focused,
    log_in_ok,
    text_input,
    wait,
    wait_for_path,
    wait_for_text,
)
from tests.e2e.station import SERIAL, SERIAL_2, Station

pytestmark = pytest.mark.e2e

FIRMWARE = "3.2.1"  # HU-8800's current firmware in the seeded catalogue
TESTER, TESTER_PASSWORD = "tess", "tess-pass-1"
LINK_NAME = "usb-RMA_FX-100_FX100-0007-if00-port0"
# HU-8800's plan: the fixture's identity, then 22 steps; display_red (yes/no) and harness_id (scan) ask the tester.
BEFORE_FIRST_PROMPT = ["fixture.identify", "power_on", "boot_current", "rail_12v", "rail_5v", "rail_3v3", "rail_1v8",
                       "run_current", "can_ping", "firmware"]


@dataclass
class Rig:
    station: Station
    fixture_dir: Path
    db: Database

    def plug_in(self, *faults: str) -> FixtureSimulator:
        """A good HU-8800 on the fixture (or one with ``faults``), at the port rma.toml names."""
        return FixtureSimulator("head_unit", firmware=FIRMWARE, faults=faults, directory=self.fixture_dir,
                                name=LINK_NAME)

    def awaiting_test(self, serial: str = SERIAL) -> str:
        """The lead moves the unit's visit through repair to awaiting test; returns its tag."""
        tag = self.station.seed.tags[serial]
        with self.db.uow() as uow:
            lead = core.get_actor(uow, "lead")
            for to in ("awaiting_bench", "in_repair", "awaiting_test"):
                core.move_visit(uow, lead, tag, VisitState(to), "repaired")
        return tag

    def state(self, tag: str) -> str:
        with self.db.uow(readonly=True) as uow:
            return core.find_visit(uow, tag).state.value

    def runs(self, tag: str) -> list[dict]:
        with self.db.uow(readonly=True) as uow:
            return [services.show_run(uow, r["run_id"]) for r in services.runs_of_visit(uow, tag)]


@pytest.fixture
def fixture_home(tmp_path) -> Path:  # noqa: ANN001
    """The station's rma.toml, written before its server starts: the fixture's port is a stable link."""
    fixture_dir = tmp_path / "serial-by-id"
    fixture_dir.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "rma.toml").write_text(
        f'[station]\nname = "test-1"\n\n[test_station]\nport = "{fixture_dir / LINK_NAME}"\n', encoding="utf-8")
    return fixture_dir


def _rig(station, fixture_dir: Path):  # noqa: ANN001, ANN202
    db = Database.from_url(station.db_url)
    with db.uow() as uow:
        admin = core.get_actor(uow, "admin")
        core.add_user(uow, admin, username=TESTER, password=TESTER_PASSWORD, roles=[Role.TESTER],
                      display_name="Tess Tester")
    yield Rig(station, fixture_dir, db)
    db.dispose()


@pytest.fixture
def rig(fixture_home, station) -> Rig:  # noqa: ANN001
    yield from _rig(station, fixture_home)


@pytest.fixture
def portless_rig(tmp_path, station) -> Rig:  # noqa: ANN001
    """A station whose rma.toml names no fixture port: the tester gives it in the browser."""
    fixture_dir = tmp_path / "serial-by-id"
    fixture_dir.mkdir()
    yield from _rig(station, fixture_dir)


# ---------------------------------------------------------------- the tester's moves

def open_test_station(driver: WebDriver, rig: Rig) -> None:
    log_in_ok(driver, rig.station, TESTER, TESTER_PASSWORD)
    driver.get(rig.station.url("/test"))
    wait_for_scan_focus(driver)


def wait_for_scan_focus(driver: WebDriver) -> None:
    wait(driver).until(lambda d: focused(d).get_attribute("data-testid") == "test-scan",
                       "the tag scan field should have focus")


def scan_tag(driver: WebDriver, tag: str) -> None:
    wait_for_scan_focus(driver)
    focused(driver).send_keys(tag + Keys.ENTER)


def row(driver: WebDriver, step: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="step-row"][data-step="{step}"]')


def verdict_text(driver: WebDriver, step: str) -> str:
    return row(driver, step).find_element(By.CSS_SELECTOR, '[data-testid="step-verdict"]').text


def wait_row(driver: WebDriver, step: str, verdict: str) -> None:
    """The row's verdict (by its data: while a dialog is open, rows below the fold have no visible text)."""
    wait(driver).until(lambda d: row(d, step).get_attribute("data-verdict") == verdict,
                       f"step {step} should show {verdict}")


def rows_shown(driver: WebDriver) -> list[tuple[str, str]]:
    return [(r.get_attribute("data-step"), r.get_attribute("data-verdict"))
            for r in driver.find_elements(By.CSS_SELECTOR, '[data-testid="step-row"]')]


def press(driver: WebDriver, keys: str) -> None:
    """Keys a person presses, one at a time, wherever the focus is."""
    ActionChains(driver).send_keys(keys).perform()


def wait_outcome(driver: WebDriver, outcome: str) -> WebElement:
    return wait(driver).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'[data-testid="run-outcome"][data-outcome="{outcome}"]'),
        f"the screen should show the outcome {outcome}")


# ---------------------------------------------------------------- the tests

def test_a_tester_runs_a_good_unit_answers_ticks_and_sees_pass(rig, browser):
    tag = rig.awaiting_test()
    with rig.plug_in():
        open_test_station(browser, rig)
        assert "test-1" in element(browser, "fixture-port").text
        scan_tag(browser, tag)

        # The steps before the first prompt complete on screen, one by one; later ones still wait.
        for step in BEFORE_FIRST_PROMPT:
            wait_row(browser, step, "pass")
        prompt = element(browser, "prompt-dialog")
        assert "whole screen red" in element(browser, "prompt-text").text
        assert prompt.get_attribute("data-answer") == "yes_no"
        assert dict(rows_shown(browser))["display_red"] == "waiting"
        assert dict(rows_shown(browser))["power_off"] == "pending"
        assert element(browser, "run-fixture").text == "RMA,FX-100,FX100-0007,1.4.2"
        assert element(browser, "run-progress").text == "10 of 23 steps"
        press(browser, "y")
        wait_row(browser, "display_red", "pass")

        scan_field = element(browser, "prompt-scan")  # "scan the barcode on the test harness"
        wait(browser).until(lambda d: focused(d) == scan_field, "the prompt's scan field should have focus")
        scan_field.send_keys("TH-0042" + Keys.ENTER)
        wait_row(browser, "harness_id", "pass")

        element(browser, "checklist-dialog")
        items = browser.find_elements(By.CSS_SELECTOR, '[data-testid="checklist-item"]')
        assert [i.get_attribute("value") for i in items] == [
            "harness", "彩盒 gift box", "防静电袋 ESD bag", "合格证 QC label", "泡棉内衬 foam insert"]
        press(browser, "a")  # all present
        wait(browser).until(lambda d: all(i.is_selected() for i in items), "A should tick every item")
        press(browser, Keys.ENTER)

        outcome = wait_outcome(browser, "pass")
        assert element(browser, "outcome-word").text == "PASS"
        assert [v for _, v in rows_shown(browser)] == ["pass"] * 23
        for step, _ in rows_shown(browser):
            assert verdict_text(browser, step) == "PASS"
        assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="not-durable"]') == []
        run_id = int(outcome.get_attribute("data-run"))
        wait_for_scan_focus(browser)  # the next unit can be scanned at once

    assert rig.state(tag) == "passed"
    (run,) = rig.runs(tag)
    assert run["run_id"] == run_id and run["outcome"] == "pass" and run["station"] == "test-1"
    assert run["operator"] == TESTER and len(run["steps"]) == 23
    assert run["checklist"] == {item: True for item in ["harness", "彩盒 gift box", "防静电袋 ESD bag",
                                                         "合格证 QC label", "泡棉内衬 foam insert"]}
    assert next(s for s in run["steps"] if s["step"] == "harness_id")["value"] == "TH-0042"

    # The same tag again: it has passed, it is not testable now; the scan field is ready for the next.
    scan_tag(browser, tag)
    message = wait_for_text(browser, "error-message", "only a unit awaiting test can be tested").text
    assert tag in message and "Passed" in message
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="run-outcome"]') == []
    wait_for_scan_focus(browser)

    # A unit just received is not testable outgoing either.
    scan_tag(browser, rig.station.seed.tags[SERIAL_2])
    wait_for_text(browser, "error-message", "only a unit awaiting test can be tested")

    # The test ledger lists the run; the run's page has every step; the unit page says Passed.
    browser.get(rig.station.url("/test/ledger"))
    ledger = wait_for_text(browser, "test-ledger-table", tag)
    assert "PASS" in ledger.text and "HU-8800" in ledger.text and "test-1" in ledger.text
    assert "100.0 %" in element(browser, "test-fpy-table").text
    browser.find_element(By.CSS_SELECTOR, '[data-testid="ledger-run-link"]').click()
    wait_for_path(browser, f"/test/run/{run_id}")
    steps = wait_for_text(browser, "run-steps", "MEAS:VOLT? V12;")  # the raw reply is kept
    assert "11.4 – 12.6 V" in steps.text and "TH-0042" in steps.text
    assert "泡棉内衬 foam insert" in element(browser, "run-checklist").text
    element(browser, "run-tag").click()
    wait_for_path(browser, f"/unit/{tag}")
    assert element(browser, "unit-state").get_attribute("data-state") == "passed"
    history = element(browser, "unit-test-runs").text  # the unit's run history
    assert str(run_id) in history and "PASS" in history and "test-1" in history


def test_the_fixture_disconnects_mid_run_and_screen_and_ledger_say_so(rig, browser):
    tag = rig.awaiting_test()
    with rig.plug_in("disconnect_after=6"):
        open_test_station(browser, rig)
        scan_tag(browser, tag)
        wait_outcome(browser, "error")

    assert element(browser, "outcome-word").text == "ERROR"
    reason = element(browser, "outcome-reason").text
    assert "port lost" in reason and "1.8 V rail" in reason  # the step by its name
    assert "port was lost" in " ".join(e.text for e in browser.find_elements(
        By.CSS_SELECTOR, '[data-testid="outcome-line"]'))
    shown = rows_shown(browser)
    done = [(step, verdict) for step, verdict in shown if verdict in ("pass", "fail", "error")]
    assert done == [(s, "pass") for s in BEFORE_FIRST_PROMPT[:6]] + [("rail_1v8", "error")]
    assert all(verdict == "skipped" for _, verdict in shown[len(done):])
    assert verdict_text(browser, "rail_1v8") == "ERROR"
    wait_for_scan_focus(browser)

    (run,) = rig.runs(tag)
    assert run["outcome"] == "error" and "port lost" in run["reason"]
    assert [(s["step"], s["verdict"]) for s in run["steps"]] == done
    assert rig.state(tag) == "awaiting_test"  # not judged: it waits for a re-test


def test_esc_at_a_prompt_aborts_the_run(rig, browser):
    tag = rig.awaiting_test()
    with rig.plug_in():
        open_test_station(browser, rig)
        scan_tag(browser, tag)
        element(browser, "prompt-dialog")
        press(browser, Keys.ESCAPE)
        wait_outcome(browser, "aborted")
    assert element(browser, "outcome-word").text == "ABORTED"
    wait(browser).until(lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-testid="prompt-dialog"]'),
                        "the prompt should close")
    (run,) = rig.runs(tag)
    assert run["outcome"] == "aborted" and run["steps"][-1]["step"] == "display_red"
    assert rig.state(tag) == "awaiting_test"
    wait_for_scan_focus(browser)


def test_an_incoming_test_chosen_by_keyboard_fails_on_a_no_and_the_unit_stays_at_intake(rig, browser):
    tag = rig.station.seed.tags[SERIAL_2]  # just received: an incoming test confirms the complaint
    with rig.plug_in():
        open_test_station(browser, rig)
        ActionChains(browser).key_down(Keys.ALT).send_keys("i").key_up(Keys.ALT).perform()
        wait(browser).until(lambda d: "Incoming" in d.find_element(
            By.CSS_SELECTOR, '[data-testid="test-kind"] [aria-pressed="true"]').text, "Alt+I chooses incoming")
        scan_tag(browser, tag)
        element(browser, "prompt-dialog")
        press(browser, "n")  # the screen is not all red
        wait_outcome(browser, "fail")
    assert element(browser, "outcome-word").text == "FAIL"
    assert "the operator answered no" in " ".join(
        e.text for e in browser.find_elements(By.CSS_SELECTOR, '[data-testid="outcome-line"]'))
    assert verdict_text(browser, "display_red") == "FAIL" and verdict_text(browser, "touch") == "NOT RUN"
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="checklist-dialog"]') == []  # incoming: no checklist
    (run,) = rig.runs(tag)
    assert run["kind"] == "incoming" and run["outcome"] == "fail" and run["failed_steps"] == ["display_red"]
    assert rig.state(tag) == "received"


def outcome_lines(driver: WebDriver) -> str:
    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="outcome-line"]'))


def test_the_units_serial_scanned_instead_of_its_tag_tests_its_open_visit(rig, browser):
    tag = rig.awaiting_test()
    with rig.plug_in():
        open_test_station(browser, rig)
        scan_tag(browser, SERIAL.lower())  # a serial, as a scanner in lower case might send it
        element(browser, "prompt-dialog")  # the run is under way
        assert element(browser, "run-tag").text == tag and element(browser, "run-serial").text == SERIAL
        press(browser, Keys.ESCAPE)
        wait_outcome(browser, "aborted")
    (run,) = rig.runs(tag)
    assert run["outcome"] == "aborted" and run["serial"] == SERIAL


def test_a_port_given_in_this_browser_stays_for_the_next_session(portless_rig, browser):
    rig = portless_rig
    tag = rig.awaiting_test()
    port = str(rig.fixture_dir / LINK_NAME)
    open_test_station(browser, rig)
    element(browser, "port-missing")
    assert "none" in element(browser, "fixture-port").text
    connected(browser)
    text_input(browser, "port-field").send_keys(port + Keys.ENTER)
    shown = wait_for_text(browser, "fixture-port", port).text
    assert "this browser" in shown and "rma.toml" not in shown
    wait(browser).until(lambda d: not d.find_elements(*by_testid("port-missing")),
                        "the warning should go once a port is set")
    wait_for_scan_focus(browser)

    element(browser, "logout").click()  # the next shift signs in on the same browser
    wait_for_path(browser, "/login")
    open_test_station(browser, rig)
    assert port in element(browser, "fixture-port").text and "this browser" in element(browser, "fixture-port").text
    assert browser.find_elements(*by_testid("port-missing")) == []
    with rig.plug_in():
        scan_tag(browser, tag)
        element(browser, "prompt-dialog")
        press(browser, Keys.ESCAPE)
        wait_outcome(browser, "aborted")
    (run,) = rig.runs(tag)
    assert run["port"] == port  # the browser's port is the one the run used

    element(browser, "port-change").click()  # the fixture moved: forget the port, and the warning is back
    field = text_input(browser, "port-field")
    field.send_keys(Keys.CONTROL + "a", Keys.BACKSPACE, Keys.ENTER)
    element(browser, "port-missing")
    wait_for_text(browser, "fixture-port", "none")


def test_a_failed_unit_is_explained_in_chinese(rig, browser):
    tag = rig.awaiting_test()
    with rig.plug_in("low_rail"):
        open_test_station(browser, rig)
        element(browser, "lang-zh").click()
        wait(browser).until(lambda d: d.find_element(*by_testid("ledger-link")).text == "测试台账",
                            "the page should be in Chinese")
        scan_tag(browser, tag)
        wait_outcome(browser, "fail")
    assert element(browser, "outcome-word").text == "测试不合格"
    lines = outcome_lines(browser)
    assert "5 V rail 5V电源：" in lines and "低于下限 4.85 V" in lines, lines
    assert "below" not in lines and "rail_5v" not in lines
    message = row(browser, "rail_5v").find_element(By.CSS_SELECTOR, '[data-testid="step-message"]').text
    assert "低于下限 4.85 V" in message

    browser.get(rig.station.url("/test/ledger"))  # the ledger says it in words too
    ledger = wait_for_text(browser, "test-ledger-table", tag).text
    assert "不合格项：5 V rail 5V电源" in ledger and "rail_5v" not in ledger
    browser.find_element(By.CSS_SELECTOR, '[data-testid="ledger-run-link"]').click()  # and the run's page
    steps = wait_for_text(browser, "run-steps", "低于下限 4.85 V").text
    assert "rail_5v" not in steps and "below" not in steps
    assert element(browser, "run-reason").text == "不合格项：5 V rail 5V电源"
