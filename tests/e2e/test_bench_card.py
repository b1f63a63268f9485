"""The bench as a technician meets it, from the scanner and the keyboard: scan a tag, code the
complaint and a finding, mark the interception done, send the unit to test; the real test station
(its run engine against the fixture simulator with a fault) fails it; the card shows the failed
step; the rework goes to test again and passes. And the lead approves from the lead's view."""

from __future__ import annotations

import io

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from drivers.fixture_sim import FixtureSimulator
from rma.bench import photos
from rma.bench import services as bench
from rma.core import services as core
from rma.core.models import Role
from rma.core.states import VisitState
from rma.db import Database
from rma.intake import services as intake
from rma.test_station import services as tests
from tests.e2e.pages import (
    by_testid,
    connected,
    element,
    focused,
    log_in_ok,
    scan,
    wait,
    wait_for_path,
    wait_for_text,
)

pytestmark = pytest.mark.e2e

SERIAL = "HU88004242"  # inside the interception plan's serial range
ANSWERS = {"display_red": "yes", "harness_id": "TH-0042"}


@pytest.fixture
def depot(station):
    """A technician, a tester, an interception plan, and a unit received at intake awaiting the bench."""
    db = Database.from_url(station.db_url)
    with db.uow() as uow:
        admin = core.get_actor(uow, "admin")
        core.add_user(uow, admin, username="zhang", password="zhang-pass-1", roles=[Role.TECHNICIAN],
                      display_name="Zhang Wei")
        core.add_user(uow, admin, username="tess", password="tess-pass-1", roles=[Role.TESTER])
        intake.add_interception(uow, core.get_actor(uow, "lead"), model_code="HU-8800", serial_from="HU88004000",
                                serial_to="HU88004999", action="Replace power IC U12 (ECN-2291)")
    with db.uow() as uow:
        clerk = core.get_actor(uow, "clerk")
        parcel, _ = intake.receive_parcel(uow, clerk, courier="SF", waybill="SF1234567890", customer_code="SH-PD01")
        tag = intake.receive_unit(uow, clerk, parcel, SERIAL, reason_text="screen flickers").visit.tag
    with db.uow() as uow:
        intake.close_parcel(uow, core.get_actor(uow, "clerk"), "SF1234567890")
    yield db, tag
    db.dispose()


def press(driver: WebDriver, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def alt(driver: WebDriver, key: str) -> None:
    ActionChains(driver).key_down(Keys.ALT).send_keys(key).key_up(Keys.ALT).perform()


def typed_into(driver: WebDriver, testid: str) -> None:
    """Wait until the cursor is in the field (a select's input) marked ``testid``."""
    wait(driver).until(lambda d: d.find_element(*by_testid(testid)).find_elements(By.CSS_SELECTOR, "input")
                       and focused(d) in d.find_element(*by_testid(testid)).find_elements(By.CSS_SELECTOR, "input")
                       or focused(d).get_attribute("data-testid") == testid,
                       f"the cursor should be in {testid}")


def choose(driver: WebDriver, testid: str, words: str) -> None:
    """Type-ahead in a code field, then Enter takes the best match (and the cursor moves on)."""
    typed_into(driver, testid)
    press(driver, words)
    press(driver, Keys.ENTER)


def state_of(driver: WebDriver) -> str:
    return element(driver, "card-state").get_attribute("data-state")


def wait_state(driver: WebDriver, state: str) -> None:
    wait(driver).until(lambda d: state_of(d) == state, f"the card should say {state}")


def run_test(db: Database, tag: str, *faults: str) -> str:
    with FixtureSimulator("head_unit", firmware="3.2.1", faults=faults) as sim:
        return tests.run_test(db, "tess", tag, port=sim.url, answers=ANSWERS, accessories_ok=True).outcome.value


def visit_state(db: Database, tag: str) -> str:
    with db.uow(readonly=True) as uow:
        return core.find_visit(uow, tag).state.value


def test_a_technician_repairs_by_keyboard_the_test_fails_and_the_rework_passes(depot, station, browser):
    db, tag = depot
    log_in_ok(browser, station, "zhang", "zhang-pass-1")
    browser.get(station.url("/bench"))
    wait_for_text(browser, "bench-queue", tag)
    scan(browser, tag)  # the header's scan box: on the bench it opens the card, and the unit is taken
    wait_for_path(browser, f"/bench/card/{tag}")
    wait_state(browser, "in_repair")
    assert element(browser, "card-technician").get_attribute("data-technician") == "zhang"
    assert element(browser, "alert").get_attribute("data-status") == "open"
    connected(browser)

    alt(browser, "c")  # the complaint: when it shows, then the symptom by its words
    choose(browser, "complaint-condition", "intermit")
    choose(browser, "complaint-symptom", "flicker")
    typed_into(browser, "complaint-note")
    press(browser, Keys.ENTER)
    coded = wait_for_text(browser, "complaint-coded", "Screen flickers")
    assert coded.get_attribute("data-symptom") == "202" and "Intermittent" in coded.text

    typed_into(browser, "finding-section")  # saving the complaint puts the cursor into a new finding
    choose(browser, "finding-section", "LCD")
    typed_into(browser, "finding-designator")
    press(browser, "j3", Keys.ENTER)
    choose(browser, "finding-defect", "loose")
    choose(browser, "finding-repair", "R08")
    typed_into(browser, "finding-note")
    press(browser, Keys.ENTER)
    findings = wait_for_text(browser, "findings", "Loose or unseated connector or cable")
    assert "Display panel J3" in findings.text and "Reseated and secured" in findings.text

    alt(browser, "t")  # the interception is not done yet: the unit stays
    wait(browser).until(lambda d: "neither done nor waived" in d.find_element(By.TAG_NAME, "body").text,
                        "the card should say why the unit cannot leave")
    assert state_of(browser) == "in_repair"
    note = browser.find_element(By.CSS_SELECTOR, 'input[data-testid^="alert-note-"], [data-testid^="alert-note-"] input')
    note.click()
    note.send_keys("Replaced U12 with batch D2411" + Keys.ENTER)
    wait(browser).until(lambda d: d.find_element(*by_testid("alert")).get_attribute("data-status") == "done",
                        "the interception should be done")
    browser.find_element(By.TAG_NAME, "body").click()
    alt(browser, "t")
    wait_state(browser, "awaiting_test")

    assert run_test(db, tag, "low_rail") == "fail"  # the test station: the 5 V rail is low
    assert visit_state(db, tag) == "in_repair"
    browser.get(station.url("/bench"))
    wait_for_text(browser, "my-bench", tag)
    scan(browser, tag)
    wait_for_path(browser, f"/bench/card/{tag}")
    banner = element(browser, "rework-banner")
    step = browser.find_element(By.CSS_SELECTOR, '[data-testid="rework-step"][data-step="rail_5v"]')
    value = float(step.find_element(*by_testid("rework-value")).text.split()[0])
    assert value < 4.85 and "4.85" in step.text and "Rework ×1" in element(browser, "card-rework").text
    assert "Failed the outgoing test" in banner.text
    connected(browser)

    alt(browser, "f")
    choose(browser, "finding-section", "power")
    typed_into(browser, "finding-designator")
    press(browser, "C88", Keys.ENTER)
    choose(browser, "finding-defect", "drifted")
    choose(browser, "finding-repair", "replaced comp")
    typed_into(browser, "finding-note")
    press(browser, "5V output capacitor", Keys.ENTER)
    wait_for_text(browser, "findings", "Power supply C88")
    browser.find_element(By.TAG_NAME, "body").click()
    alt(browser, "t")
    wait_state(browser, "awaiting_test")

    assert run_test(db, tag) == "pass"
    browser.refresh()
    wait_state(browser, "passed")
    assert element(browser, "card-rework").get_attribute("data-count") == "1"
    assert "Sent to test" in element(browser, "last-decision").text
    browser.get(station.url(f"/unit/{tag}"))  # the unit's timeline tells the bench's story in words
    timeline = wait_for_text(browser, "unit-timeline", "Finding recorded")
    assert "Complaint coded" in timeline.text and "Interception done" in timeline.text
    assert "Display panel J3: Loose or unseated connector or cable → Reseated and secured" in timeline.text


def test_a_suggestion_is_taken_with_one_key_and_the_card_reads_in_chinese(depot, station, browser):
    db, tag = depot
    with db.uow() as uow:  # an earlier unit of the model with the same symptom, fixed at J3
        lead = core.get_actor(uow, "lead")
        earlier = station.seed.tags["HU88000001"]
        core.move_visit(uow, lead, earlier, VisitState.AWAITING_BENCH, "closed")
    with db.uow() as uow:
        zhang = core.get_actor(uow, "zhang")
        bench.start_repair(uow, zhang, earlier)
        bench.code_complaint(uow, zhang, earlier, condition="1", symptom="202")
        bench.add_finding(uow, zhang, earlier, section="LCD", designator="J3", defect="D09", repair="R08")
        bench.decide(uow, zhang, earlier, "test")
    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for to in ("in_test", "passed"):
            core.move_visit(uow, lead, earlier, VisitState(to), "tested")
    with db.uow() as uow:
        zhang = core.get_actor(uow, "zhang")
        bench.start_repair(uow, zhang, tag)
        bench.code_complaint(uow, zhang, tag, condition="2", symptom="202")
    log_in_ok(browser, station, "zhang", "zhang-pass-1")
    browser.get(station.url(f"/bench/card/{tag}"))
    element(browser, "lang-zh").click()
    suggestion = wait_for_text(browser, "suggestions", "接插件或排线松动")
    assert "该机型此故障现象以往的修复方法" in suggestion.text and "1 次" in suggestion.text
    connected(browser)
    browser.find_element(By.TAG_NAME, "body").click()
    press(browser, "1")  # one key takes it into the form; Enter in the note records it
    typed_into(browser, "finding-note")
    press(browser, Keys.ENTER)
    findings = wait_for_text(browser, "findings", "显示屏 J3：接插件或排线松动 → 重新插接并固定")
    assert "Loose" not in findings.text
    with db.uow(readonly=True) as uow:
        (found,) = [f for f in bench.active_findings(uow, core.find_visit(uow, tag).id)]
    assert (found.section_code, found.designator, found.defect_code, found.repair_code) == ("LCD", "J3", "D09", "R08")


def test_the_lead_confirms_human_damage_from_the_leads_view(depot, station, browser):
    db, tag = depot
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 90, 40)).save(buffer, "JPEG")
    with db.uow() as uow:
        zhang = core.get_actor(uow, "zhang")
        bench.start_repair(uow, zhang, tag)
        photos.attach_photo(uow, zhang, tag, filename="IMG_1.jpg", data=buffer.getvalue(), purpose="damage")
        bench.report_damage(uow, zhang, tag, damage="water", reason="Corrosion all over the main board")
    log_in_ok(browser, station, "lead", "lead-pass-1")
    browser.get(station.url("/bench/lead"))
    approvals = wait_for_text(browser, "lead-approvals", tag)
    assert "Corrosion all over the main board" in approvals.text and "Human damage" in approvals.text
    assert element(browser, "total-approvals").text == "1"
    assert "Zhang Wei" in element(browser, "lead-wip").text
    browser.find_element(By.CSS_SELECTOR, '[data-testid^="request-approve-"]').click()
    wait(browser).until(lambda d: d.find_element(*by_testid("total-approvals")).text == "0",
                        "nothing should wait any more")
    browser.get(station.url(f"/bench/card/{tag}"))
    assert "Human damage confirmed" in element(browser, "card-damage").text
    assert element(browser, "damage-confirmed").is_displayed()
    with db.uow(readonly=True) as uow:
        assert intake.intake_summary(uow, core.find_visit(uow, tag))["warranty"] == "out"
