"""Parts at the bench, in the browser: the technician asks the stores for a part from the repair card
(its designator typed, the model's BOM offered first), the materials clerk issues it at /stores by
scanning in a second browser, the technician records it fitted and sends the unit to test; the card and the unit page
show the part where it went."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from rma.bench import services as bench
from rma.core import services as core
from rma.core.models import Role
from rma.core.states import VisitState
from rma.db import Database
from rma.inventory import catalogue, stock
from rma.inventory import services as stores
from tests.e2e.pages import (
    by_testid,
    connected,
    element,
    focused,
    log_in,
    log_in_ok,
    scan,
    text_input,
    wait,
    wait_for_path,
    wait_for_text,
)
from tests.e2e.station import SERIAL, Station

pytestmark = pytest.mark.e2e

CLERK, CLERK_PASSWORD = "chen", "chen-materials-1"
TECH, TECH_PASSWORD = "zhang", "zhang-tech-1"


@pytest.fixture
def unit(station: Station):
    """The store: a power IC in bin A-01-02, at U12 of the HU-8800's BOM; a unit on the bench, taken by
    the technician, its complaint coded and its fault found at U12."""
    db = Database.from_url(station.db_url)
    tag = station.seed.tags[SERIAL]
    try:
        with db.uow() as uow:
            admin = core.get_actor(uow, "admin")
            core.add_user(uow, admin, username=CLERK, password=CLERK_PASSWORD, roles=[Role.MATERIALS])
            core.add_user(uow, admin, username=TECH, password=TECH_PASSWORD, roles=[Role.TECHNICIAN],
                          display_name="Zhang Wei")
        with db.uow() as uow:
            clerk = core.get_actor(uow, CLERK)
            catalogue.add_supplier(uow, clerk, "SZ-HX", "深圳华星电子")
            catalogue.add_bin(uow, clerk, "A-01-02")
            catalogue.add_part(uow, clerk, part_number="IC-PMIC-88", name_zh="电源管理IC",
                               name_en="Power management IC", category="ic", abc="A")
        with db.uow() as uow:
            catalogue.add_bom_line(uow, core.get_actor(uow, "lead"), "HU-8800", "U12", "IC-PMIC-88")
            stock.receive(uow, core.get_actor(uow, CLERK), supplier="SZ-HX", delivery_note="DN-0001", line=1,
                          part_number="IC-PMIC-88", bin_code="A-01-02", quantity="6", unit_cost="9.80")
        with db.uow() as uow:
            core.move_visit(uow, core.get_actor(uow, "lead"), tag, VisitState.AWAITING_BENCH, "parcel closed")
        with db.uow() as uow:
            tech = core.get_actor(uow, TECH)
            bench.start_repair(uow, tech, tag)
            bench.code_complaint(uow, tech, tag, condition="1", symptom="101")
            bench.add_finding(uow, tech, tag, section="PWR", designator="U12", defect="D03", repair="R01")
        yield db, tag
    finally:
        db.dispose()


def alt(driver: WebDriver, key: str) -> None:
    ActionChains(driver).key_down(Keys.ALT).send_keys(key).key_up(Keys.ALT).perform()


def focus_on(driver: WebDriver, testid: str) -> None:
    wait(driver).until(lambda d: focused(d) == text_input(d, testid), f"the cursor should be in {testid}")


def open_card(driver: WebDriver, station: Station, tag: str) -> None:
    driver.delete_all_cookies()
    log_in_ok(driver, station, TECH, TECH_PASSWORD)
    driver.get(station.url(f"/bench/card/{tag}"))
    element(driver, "parts-section")
    connected(driver)


def test_a_part_asked_for_at_the_bench_issued_by_scan_fitted_and_the_unit_goes_to_test(unit, station, browser,
                                                                                     second_browser):
    db, tag = unit
    open_card(browser, station, tag)
    assert "No parts asked for yet." in element(browser, "card-parts").text
    alt(browser, "r")  # the request field; the model's BOM is offered first, by designator
    focus_on(browser, "parts-request-part")
    focused(browser).send_keys("U12" + Keys.ENTER)
    focus_on(browser, "parts-request-qty")  # quantity 1 is there: Enter asks the stores
    assert text_input(browser, "parts-request-qty").get_attribute("value") == "1"
    focused(browser).send_keys(Keys.ENTER)
    wait_for_text(browser, "card-part-lines", "IC-PMIC-88")
    assert "U12" in element(browser, "card-part-lines").text and "Open" in element(browser, "card-part-lines").text

    # the materials clerk, in a browser of her own at the stores: the pick list, then tag, part and
    # bin by the scanner; the technician's card stays open meanwhile
    clerk = second_browser
    log_in(clerk, station, CLERK, CLERK_PASSWORD, path="/login?next=/stores")
    wait_for_path(clerk, "/stores")
    connected(clerk)
    wait_for_text(clerk, "pick-list", "IC-PMIC-88")
    for code in (tag, "IC-PMIC-88", "A-01-02"):
        focus_on(clerk, "stores-scan")
        focused(clerk).send_keys(code + Keys.ENTER)
    focus_on(clerk, "issue-qty")
    focused(clerk).send_keys(Keys.ENTER)
    wait_for_text(clerk, "issue-result", f"Issued 1 × IC-PMIC-88 to {tag}")

    # back at the bench, the card still open and never reloaded: within seconds it has the part on
    # the bench, and the fit form knows it and where it goes; what the technician was typing in the
    # complaint's note meanwhile is still there
    note = text_input(browser, "complaint-note")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus()", note)
    note.send_keys("冷机偶发")
    wait_for_text(browser, "card-part-lines", "Issued")
    assert text_input(browser, "complaint-note").get_attribute("value") == "冷机偶发"
    assert text_input(browser, "parts-fit-qty").get_attribute("value") == "1"
    assert text_input(browser, "parts-fit-designator").get_attribute("value") == "U12"  # where it was asked for
    text_input(browser, "parts-fit-qty").click()
    focused(browser).send_keys(Keys.ENTER)
    wait_for_text(browser, "card-part-moves", "Fitted")
    assert "U12" in element(browser, "card-parts").text
    alt(browser, "t")
    wait(browser).until(lambda d: d.find_element(*by_testid("card-state")).get_attribute("data-state")
                        == "awaiting_test", "the unit should go to test")
    assert "U12" in element(browser, "card-parts").text  # the decided card still shows the part

    with db.uow(readonly=True) as uow:
        report = stores.tag_parts(uow, tag)
    (row,) = report["parts"]
    assert (row["issued"], row["fitted"], row["designators"], row["on_bench"]) == ("1", "1", ["U12"], "0")
    browser.get(station.url(f"/unit/{tag}"))
    wait_for_text(browser, "tag-parts-table", "U12")
    timeline = wait_for_text(browser, "unit-timeline", "Part fitted")
    assert "Parts requested" in timeline.text and "Parts issued" in timeline.text and "Repair done" in timeline.text


def test_scanning_a_tag_from_the_bench_opens_its_card_with_its_parts(unit, station, browser):
    db, tag = unit
    with db.uow() as uow:
        stores.request_parts(uow, core.get_actor(uow, TECH), tag, [("IC-PMIC-88", "1", "U12")])
    log_in_ok(browser, station, TECH, TECH_PASSWORD)
    browser.get(station.url("/bench"))
    scan(browser, tag)
    wait_for_path(browser, f"/bench/card/{tag}")
    wait_for_text(browser, "card-part-lines", "IC-PMIC-88")
    assert "parts-fit-form" not in browser.page_source  # nothing on the bench yet: nothing to fit
