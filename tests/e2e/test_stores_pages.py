"""The materials clerk at the stores: a delivery received line by line, a pick list filled by
scanning, and a blind count with one variance that the lead approves."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from rma.core import services as core
from rma.core.models import Role
from rma.core.states import VisitState
from rma.db import Database
from rma.inventory import catalogue, services, stock
from tests.e2e.pages import (
    connected,
    element,
    focused,
    log_in,
    text_input,
    wait,
    wait_for_path,
    wait_for_notification,
    wait_for_text,
)
from tests.e2e.station import PASSWORDS, Station

pytestmark = pytest.mark.e2e

CLERK, CLERK_PASSWORD = "chen", "chen-materials-1"


@pytest.fixture
def store(station: Station) -> dict[str, str]:
    """A materials clerk and a technician; a supplier, bins and two parts in stock; the station's two
    units at the bench, one asking for both parts."""
    db = Database.from_url(station.db_url)
    try:
        with db.uow() as uow:
            admin = core.get_actor(uow, "admin")
            core.add_user(uow, admin, username=CLERK, password=CLERK_PASSWORD, roles=[Role.MATERIALS],
                          display_name="陈静")
            core.add_user(uow, admin, username="zhang", password="zhang-tech-1", roles=[Role.TECHNICIAN])
        with db.uow() as uow:
            clerk = core.get_actor(uow, CLERK)
            catalogue.add_supplier(uow, clerk, "SZ-HX", "深圳华星电子")
            for code in ("A-01-01", "A-01-02", "B-03-01"):
                catalogue.add_bin(uow, clerk, code)
            catalogue.add_part(uow, clerk, part_number="IC-TDA7851", name_zh="功放IC TDA7851",
                               name_en="Amplifier IC TDA7851", category="ic", abc="A")
            catalogue.add_part(uow, clerk, part_number="IC-PMIC-88", name_zh="电源管理IC", name_en="Power management IC",
                               category="ic", abc="A", supplier_barcode="6901234500018")
        for n, (number, bin_code, qty, cost) in enumerate((("IC-TDA7851", "A-01-01", "10", "18.60"),
                                                           ("IC-PMIC-88", "A-01-02", "6", "9.80")), start=1):
            with db.uow() as uow:
                stock.receive(uow, core.get_actor(uow, CLERK), supplier="SZ-HX", delivery_note="DN-0001", line=n,
                              part_number=number, bin_code=bin_code, quantity=qty, unit_cost=cost)
        tags = list(station.seed.tags.values())
        with db.uow() as uow:
            lead = core.get_actor(uow, "lead")
            for tag in tags:
                core.move_visit(uow, lead, tag, VisitState.AWAITING_BENCH, "bench")
                core.move_visit(uow, lead, tag, VisitState.IN_REPAIR, "repair")
        with db.uow() as uow:
            services.request_parts(uow, core.get_actor(uow, "zhang"), tags[0], [("IC-TDA7851", 2), ("IC-PMIC-88", 1)])
    finally:
        db.dispose()
    return {"tag": tags[0]}


def open_stores(driver: WebDriver, station: Station, path: str, user: str = CLERK, password: str = CLERK_PASSWORD):
    log_in(driver, station, user, password, path=f"/login?next={path}")
    wait_for_path(driver, path)
    connected(driver)


def field_input(driver: WebDriver, testid: str):  # noqa: ANN201
    return text_input(driver, testid)


def wait_focus(driver: WebDriver, testid: str) -> None:
    wait(driver).until(lambda d: focused(d) == field_input(d, testid), f"{testid} should have focus")


def scan_into(driver: WebDriver, testid: str, text: str) -> None:
    wait_focus(driver, testid)
    focused(driver).send_keys(text + Keys.ENTER)


def test_a_clerk_receives_a_delivery_line_by_line(browser, station, store):
    open_stores(browser, station, "/stores/receive")
    wait_focus(browser, "receive-note")
    focused(browser).send_keys("DN-7001" + Keys.ENTER)  # the note; the supplier and line 1 are filled in
    scan_into(browser, "receive-line", "")
    focused(browser).send_keys("IC-TDA7851" + Keys.ENTER)  # the part, scanned
    focused(browser).send_keys("A-01-01" + Keys.ENTER)  # the bin, scanned
    focused(browser).send_keys("20" + Keys.ENTER)
    focused(browser).send_keys("19.20" + Keys.ENTER)  # the cost: Enter books the line
    wait_for_text(browser, "receive-result", "Line 1: 20 × IC-TDA7851 into A-01-01 at 19.2000")
    wait_focus(browser, "receive-part")  # the next line waits for its part
    assert field_input(browser, "receive-line").get_attribute("value") == "2"
    focused(browser).send_keys("6901234500018" + Keys.ENTER)  # the supplier's barcode on the bag
    focused(browser).send_keys("A-01-02" + Keys.ENTER)
    focused(browser).send_keys("4" + Keys.ENTER + Keys.ENTER)  # no cost: the part's average
    wait_for_text(browser, "receive-result", "Line 2: 4 × IC-PMIC-88 into A-01-02 at 9.8000")
    wait_for_text(browser, "receipts", "DN-7001")
    # the same line again is refused, and says why
    field_input(browser, "receive-line").clear()
    field_input(browser, "receive-line").send_keys("1" + Keys.ENTER)
    focused(browser).send_keys("IC-TDA7851" + Keys.ENTER + "A-01-01" + Keys.ENTER + "1" + Keys.ENTER + Keys.ENTER)
    wait_for_text(browser, "receive-result", "Not booked")
    wait_for_notification(browser, "booked already")
    with Database.from_url(station.db_url).uow(readonly=True) as uow:
        on_hand = {r["part_number"]: r["quantity"] for r in stock.on_hand(uow)}
    assert on_hand == {"IC-TDA7851": "30", "IC-PMIC-88": "10"}


def test_a_clerk_fills_the_pick_list_by_scanning(browser, station, store):
    tag = store["tag"]
    open_stores(browser, station, "/stores")
    wait_for_text(browser, "pick-list", "IC-TDA7851")
    scan_into(browser, "stores-scan", tag)
    wait_for_text(browser, "issue-tag", tag)
    scan_into(browser, "stores-scan", "IC-TDA7851")
    scan_into(browser, "stores-scan", "A-01-01")
    wait_focus(browser, "issue-qty")  # what the tag still asks for, ready: Enter issues it
    assert field_input(browser, "issue-qty").get_attribute("value") == "2"
    focused(browser).send_keys(Keys.ENTER)
    wait_for_text(browser, "issue-result", f"Issued 2 × IC-TDA7851 to {tag}")
    # the next part straight from the pick list: the tag asking for it is taken
    scan_into(browser, "stores-scan", "IC-PMIC-88")
    wait_for_text(browser, "issue-tag", tag)
    scan_into(browser, "stores-scan", "A-01-02")
    wait_focus(browser, "issue-qty")
    focused(browser).send_keys(Keys.ENTER)
    wait_for_text(browser, "issue-result", f"Issued 1 × IC-PMIC-88 to {tag}")
    wait_for_text(browser, "pick-list", "Nothing to pick")
    browser.get(station.url(f"/unit/{tag}"))  # the tag's page shows the parts' moves
    wait_for_text(browser, "tag-parts-table", "IC-PMIC-88")
    wait_for_text(browser, "unit-timeline", "Parts issued: 2 × Amplifier IC TDA7851 (IC-TDA7851); from bin A-01-01.")


def test_a_blind_count_with_a_variance_the_lead_approves(browser, station, store):
    open_stores(browser, station, "/stores/counts")
    element(browser, "count-start-A").click()
    wait(browser).until(lambda d: "/stores/count/CNT-" in d.current_url, "the new count opens")
    connected(browser)
    code = browser.current_url.rsplit("/", 1)[-1]
    wait_for_text(browser, "count-lines", "A-01-02")
    assert "Expected" not in element(browser, "count-lines").text  # blind
    wait_focus(browser, "count-bin")
    focused(browser).send_keys("A-01-01" + Keys.ENTER + "IC-TDA7851" + Keys.ENTER + "10" + Keys.ENTER)
    wait_for_text(browser, "count-result", "IC-TDA7851 in A-01-01: counted")
    field_input(browser, "count-bin").clear()
    field_input(browser, "count-bin").send_keys("A-01-02" + Keys.ENTER + "IC-PMIC-88" + Keys.ENTER + "5" + Keys.ENTER)
    wait_for_text(browser, "count-result", "IC-PMIC-88 in A-01-02: count it again")
    wait_focus(browser, "count-part")
    focused(browser).send_keys("IC-PMIC-88" + Keys.ENTER + "5" + Keys.ENTER)
    wait_for_text(browser, "count-result", "IC-PMIC-88 in A-01-02: counted")
    wait_for_text(browser, "count-progress", "1 of 2 lines settled")
    browser.delete_all_cookies()
    open_stores(browser, station, f"/stores/count/{code}", "lead", PASSWORDS["lead"])
    report = wait_for_text(browser, "count-report", "Awaiting approval")
    assert "-1" in report.text and "-9.80" in report.text
    field_input(browser, "reason-A-01-02-IC-PMIC-88").send_keys("一颗掉落，已报废")
    element(browser, "approve-A-01-02-IC-PMIC-88").find_element(By.CSS_SELECTOR, '[data-testid="approve"]').click()
    wait_for_text(browser, "count-report", "Variance booked")
    wait_for_text(browser, "count-progress", "2 of 2 lines settled")
    with Database.from_url(station.db_url).uow(readonly=True) as uow:
        assert {r["part_number"]: r["quantity"] for r in stock.on_hand(uow)}["IC-PMIC-88"] == "5"
