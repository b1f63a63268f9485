"""What a new user tripped over at intake, checked as they met it: a mistyped serial, the returns
ledger on a 1366 × 768 screen, the header scan box, an address that leads nowhere, the station's
name, and the return reason added after intake."""

from __future__ import annotations

import csv
import io
import socket
from datetime import date

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from rma.core import catalogue
from rma.core import services as core
from rma.core.states import VisitState
from rma.db import Database
from rma.intake import services
from tests.e2e.intake_data import seed_intake
from tests.e2e.pages import (
    by_testid,
    connected,
    element,
    focused,
    log_in,
    log_in_ok,
    scan,
    scan_box,
    text_input,
    wait,
    wait_for_path,
    wait_for_text,
)
from tests.e2e.station import PASSWORDS, SERIAL, Station
from tests.e2e.test_intake_station import (
    open_intake,
    open_parcel,
    row_of,
    rows,
    scan_field,
)

pytestmark = pytest.mark.e2e

MISTYPED = "HU8825301234"  # HU-8800 serials are HU88 and six digits: this one has eight


@pytest.fixture
def depot(station: Station) -> dict[str, str]:
    return seed_intake(station.db_url)


def test_a_mistyped_serial_needs_a_second_scan_and_a_chosen_model(browser, station, depot):
    open_intake(browser, station)
    open_parcel(browser)
    scan_field(browser).send_keys(MISTYPED + Keys.ENTER)
    dialog = element(browser, "model-dialog")
    assert f"Which model is {MISTYPED}?" in dialog.text
    options = dialog.find_elements(By.CSS_SELECTOR, "button[data-model]")
    assert [o.get_attribute("data-model") for o in options] == ["HU-8800", "DC-220"]  # the closest first
    assert "starts with HU88" in options[0].text
    assert all(o.get_attribute("disabled") for o in options), "no model can be chosen before the second scan"
    confirm = element(browser, "model-confirm-scan")
    wait(browser).until(lambda d: focused(d) == confirm, "the second scan goes into the dialog")

    confirm.send_keys(MISTYPED + "5" + Keys.ENTER)  # the second scan differs: nothing is received
    wait(browser).until(lambda d: not d.find_elements(*by_testid("model-dialog")), "a mismatch cancels")
    error = wait_for_text(browser, "row-error", f"The second scan does not match {MISTYPED}: not received")
    assert "scan the serial again" in error.text
    assert not rows(browser, "unit")
    wait_for_text(browser, "parcel-count", "Scanned 0")

    scan_field(browser).send_keys(MISTYPED + Keys.ENTER)
    confirm = element(browser, "model-confirm-scan")
    wait(browser).until(lambda d: focused(d) == confirm)
    confirm.send_keys(MISTYPED + Keys.ENTER)  # confirmed: now a model may be chosen, none is chosen yet
    element(browser, "model-confirmed")
    choice = element(browser, "model-choice")
    wait(browser).until(lambda d: focused(d) == choice, "the list takes the keys, no model highlighted")
    wait(browser).until(lambda d: not any(o.get_attribute("disabled") for o in
                                          d.find_elements(By.CSS_SELECTOR, "button[data-model]")))
    focused(browser).send_keys(Keys.ENTER)  # Enter on the list with nothing highlighted receives nothing
    focused(browser).send_keys(Keys.ARROW_DOWN)
    first = browser.find_element(By.CSS_SELECTOR, 'button[data-model="HU-8800"]')
    wait(browser).until(lambda d: focused(d) == first, "↓ highlights the closest model")
    assert element(browser, "model-dialog").is_displayed() and not rows(browser, "unit")
    focused(browser).send_keys(Keys.ENTER)

    row = row_of(browser, MISTYPED)
    assert row.find_element(By.CSS_SELECTOR, '[data-testid="row-model"]').text == "HU-8800"
    wait_for_text(browser, "parcel-count", "Scanned 1")
    db = Database.from_url(station.db_url)
    try:
        with db.uow(readonly=True) as uow:
            summary = services.intake_summary(uow, core.find_unit(uow, MISTYPED).visits[0])
    finally:
        db.dispose()
    assert summary["model"] == "HU-8800" and summary["model_chosen"]


# ---------------------------------------------------------------- the returns ledger on a small screen

LONG_REASON = ("屏幕闪烁 — 经销商说：客户反映冷车启动后约十分钟屏幕开始闪烁，倒车影像也不显示，"
               "重启后恢复，第二天又出现")


def seed_busy_ledger(db_url: str) -> int:
    """Demo-like data: 12-character serials, 10-character customer codes, 15-character waybills, long
    complaints, a unit refurbished into stock; more visits than one page shows. Returns the count."""
    db = Database.from_url(db_url)
    try:
        with db.uow() as uow:
            boss = core.get_actor(uow, "boss")
            catalogue.add_model(uow, boss, code="NV-520", name="导航 NV-520", family="navigation",
                                serial_pattern=r"^NV52\d{8}$", warranty_months=24)
            catalogue.add_customer(uow, boss, code="4S-SH-PD01", name="上海浦东汽车销售服务有限公司")
        for batch in range(3):
            with db.uow() as uow:
                clerk = core.get_actor(uow, "clerk")
                parcel, _ = services.receive_parcel(uow, clerk, courier="YTO", waybill=f"YT977096919281{batch}",
                                                    customer_code="4S-SH-PD01")
                for n in range(36):
                    services.receive_unit(uow, clerk, parcel, f"NV52{batch:02d}{n:06d}", reason_code="NOPWR",
                                          reason_text=LONG_REASON)
        with db.uow() as uow:
            lead = core.get_actor(uow, "lead")
            for state in ("awaiting_bench", "in_repair", "awaiting_test", "in_test", "passed", "refurbished"):
                core.move_visit(uow, lead, core.find_unit(uow, "NV5202000035").visits[0].tag, VisitState(state),
                                "repaired")
        with db.uow(readonly=True) as uow:
            return services.count_visits(uow, services.VisitFilter())
    finally:
        db.dispose()


FITS_JS = """
const page = document.scrollingElement, table = document.querySelector('[data-testid="ledger-table"]');
return {page: [page.scrollWidth, page.clientWidth], table: [table.scrollWidth, table.clientWidth]};"""

# How many line boxes an element's text takes, and its height against one line.
LINES_JS = """
return [...document.querySelectorAll(arguments[0])].slice(0, 20).map((el) => {
  const range = document.createRange(); range.selectNodeContents(el);
  const rects = [...range.getClientRects()].filter((r) => r.width > 0);
  const tops = new Set(rects.map((r) => Math.round(r.top)));
  return {text: el.textContent, lines: tops.size, height: el.getBoundingClientRect().height,
          line: parseFloat(getComputedStyle(el).lineHeight)};
});"""


def _fits_and_one_line(browser: WebDriver) -> None:
    fits = browser.execute_script(FITS_JS)
    assert fits["page"][0] <= fits["page"][1], f"the page scrolls sideways: {fits}"
    assert fits["table"][0] <= fits["table"][1], f"the table scrolls sideways: {fits}"
    for selector in ('[data-col="tag"] a', '[data-col="serial"] div', '[data-col="waybill"] div',
                     '[data-col="customer"] div', '[data-col="state"] [data-state]'):
        measured = browser.execute_script(LINES_JS, selector)
        assert measured, selector
        for m in measured:
            assert m["lines"] == 1, f"{selector} wraps: {m}"
        if selector.endswith(" a"):  # a tag: its element is exactly one line high
            assert all(m["height"] <= m["line"] for m in measured), measured


def test_the_returns_ledger_fits_a_1366_screen_pages_and_exports_in_both_languages(browser, station, depot,
                                                                                   tmp_path):
    total = seed_busy_ledger(station.db_url)
    assert total > 100
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    browser.set_window_size(1366, 768)
    try:
        log_in(browser, station, "lead", PASSWORDS["lead"], path="/login?next=/ledger")
        wait_for_path(browser, "/ledger")
        connected(browser)
        wait_for_text(browser, "ledger-count", f"Visits 1–100 of {total}, newest first")
        _fits_and_one_line(browser)
        reason = browser.find_element(By.CSS_SELECTOR, '[data-col="reason"] div[title]')
        assert reason.get_attribute("title").endswith("第二天又出现")  # cut to the column, whole when hovered
        assert browser.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth", reason)

        element(browser, "ledger-older").click()  # the next, older page
        wait_for_text(browser, "ledger-count", f"Visits 101–{total} of {total}")
        assert not element(browser, "ledger-older").is_enabled()
        element(browser, "ledger-newer").click()
        wait_for_text(browser, "ledger-count", f"Visits 1–100 of {total}")

        element(browser, "ledger-export").click()  # every visit, not the page
        wait(browser).until(lambda d: list(downloads.glob("*.csv")), "the CSV export should download")
        (path,) = downloads.glob("*.csv")
        exported = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        assert len(exported) == total and exported[0]["reason"].startswith("不开机 no power — 屏幕闪烁")

        element(browser, "lang-zh").click()
        wait_for_text(browser, "ledger-count", f"共 {total} 条")
        connected(browser)
        _fits_and_one_line(browser)
        assert "待维修" in element(browser, "ledger-table").text or "已接收" in element(browser, "ledger-table").text

        # Dates are YYYY-MM-DD in both languages: typed (the field puts the dashes) or picked.
        day = text_input(browser, "f-from")
        assert day.get_attribute("placeholder") == "YYYY-MM-DD" and day.get_attribute("type") == "text"
        day.send_keys("20991231")
        wait(browser).until(lambda d: text_input(d, "f-from").get_attribute("value") == "2099-12-31")
        wait_for_text(browser, "ledger-count", "维修单：0")
        text_input(browser, "f-from").send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
        wait_for_text(browser, "ledger-count", f"共 {total} 条")
        element(browser, "f-to-calendar").click()
        days = wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".q-date__calendar-item--in button"))
        days[0].click()
        first_of_month = date.today().replace(day=1).isoformat()
        wait(browser).until(lambda d: text_input(d, "f-to").get_attribute("value") == first_of_month)
    finally:
        browser.set_window_size(1400, 1000)


# ---------------------------------------------------------------- the header, an unknown address

def test_the_header_scan_box_cleans_a_scan_as_the_intake_station_does(browser, station):
    tag = station.seed.tags[SERIAL]
    log_in_ok(browser, station, "clerk", PASSWORDS["clerk"])
    connected(browser)
    scan(browser, "]C0" + tag)  # a scanner that sends the AIM symbology prefix
    wait_for_path(browser, f"/unit/{tag}")
    wait_for_text(browser, "unit-serial", SERIAL)

    browser.get(station.url("/"))
    connected(browser)
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in tag)  # Ｒ２６－０００００１
    browser.execute_script("""
        const f = arguments[0]; f.value = arguments[1];
        f.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));""",
                           scan_box(browser), full_width)
    wait_for_path(browser, f"/unit/{tag}")
    wait_for_text(browser, "unit-serial", SERIAL)


def test_the_header_names_the_station_by_its_host_and_an_unknown_address_has_a_page(browser, station):
    log_in_ok(browser, station, "clerk", PASSWORDS["clerk"])
    assert element(browser, "station-name").text == socket.gethostname().split(".")[0]
    header = browser.find_element(By.CSS_SELECTOR, "header").text.split()
    assert len(header) == len(set(header)), f"a word twice in the header: {header}"

    browser.get(station.url("/no/such/page"))
    page = element(browser, "not-found")
    assert "There is no page here." in page.text and "/no/such/page" in page.text
    assert "HTTPException" not in browser.find_element(By.TAG_NAME, "body").text
    element(browser, "not-found-home").click()
    wait_for_path(browser, "/")

    element(browser, "lang-zh").click()
    wait(browser).until(lambda d: scan_box(d).get_attribute("placeholder") == "扫描标签或序列号")
    browser.get(station.url("/nowhere"))
    assert "这里没有页面" in element(browser, "not-found").text
    assert element(browser, "not-found-home").text == "首页"


# ---------------------------------------------------------------- the return reason after intake

def test_the_return_reason_is_recorded_on_the_unit_page_after_intake(browser, station, depot):
    tag = station.seed.tags[SERIAL]
    log_in(browser, station, "clerk", PASSWORDS["clerk"], path=f"/login?next=/unit/{tag}")
    wait_for_path(browser, f"/unit/{tag}")
    connected(browser)
    form = element(browser, "reason-form")
    assert form.get_attribute("data-tag") == tag
    words = text_input(browser, "reason-text")
    assert words.get_attribute("value") == "no power"  # the reason as it stands: a correction keeps the rest
    text_input(browser, "reason-code").send_keys("NOSCR" + Keys.ENTER)
    words.send_keys(Keys.CONTROL, "a")
    words.send_keys("冷车黑屏")
    element(browser, "reason-save").click()
    wait_for_text(browser, "unit-visits", "黑屏 no picture — 冷车黑屏")
    assert "Reason recorded" in element(browser, "unit-timeline").text

    closed = depot["repeat_of"]  # shipped: its reason can no longer change
    browser.get(station.url(f"/unit/{closed}"))
    card = wait(browser).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f'[data-testid="visit-intake"][data-tag="{closed}"]'))
    assert not card.find_elements(*by_testid("reason-form"))
