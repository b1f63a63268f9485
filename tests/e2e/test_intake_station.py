"""The logistics clerk at the intake station: waybill, serials as fast as a scanner types them,
labels, warranty, repeats, interceptions, bad scans, closing a parcel; the returns ledger; a
serial scanner on the station."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from rma.core import services as core
from rma.core.states import VisitState
from rma.db import Database
from rma.intake import services
from tests.e2e.intake_data import (
    IN_WARRANTY,
    INTERCEPT_ACTION,
    INTERCEPTED,
    OUT_OF_WARRANTY,
    REASON,
    REPEATED,
    receive,
    seed_intake,
)
from tests.e2e.pages import (
    connected,
    element,
    focused,
    log_in,
    text_input,
    wait,
    wait_for_path,
    wait_for_text,
)
from tests.e2e.station import PASSWORDS, Station

pytestmark = pytest.mark.e2e

WAYBILL = "SF123456789012"  # looks like an SF waybill: the courier is guessed


# ---------------------------------------------------------------- the clerk's moves

@pytest.fixture
def depot(station: Station) -> dict[str, str]:
    return seed_intake(station.db_url)


def open_intake(driver: WebDriver, station: Station, user: str = "clerk") -> WebElement:
    log_in(driver, station, user, PASSWORDS[user], path="/login?next=/intake")
    wait_for_path(driver, "/intake")
    connected(driver)
    return scan_field(driver)


def scan_field(driver: WebDriver) -> WebElement:
    field = element(driver, "intake-scan")
    wait(driver).until(lambda d: focused(d) == field, "the intake scan field should have focus")
    return field


def open_parcel(driver: WebDriver, waybill: str = WAYBILL, customer: str = "SH-PD01", declared: str = "") -> None:
    """Scan the waybill; in the form, pick the sender by typing and Enter, then the count and Enter."""
    scan_field(driver).send_keys(waybill + Keys.ENTER)
    element(driver, "new-parcel-form")
    wait(driver).until(lambda d: text_input(d, "new-parcel-customer") == focused(d),
                       "the sender field should have focus")
    focused(driver).send_keys(customer[:5] + Keys.ENTER)
    declared_field = element(driver, "new-parcel-declared")
    wait(driver).until(lambda d: focused(d) == declared_field, "Enter in the sender field moves on to the count")
    declared_field.send_keys(declared + Keys.ENTER)
    wait_for_text(driver, "parcel-waybill", waybill)
    scan_field(driver)


def rows(driver: WebDriver, kind: str | None = None) -> list[WebElement]:
    selector = '[data-testid="intake-row"]' + (f'[data-kind="{kind}"]' if kind else "")
    return driver.find_elements(By.CSS_SELECTOR, selector)


def row_of(driver: WebDriver, serial: str, kind: str = "unit") -> WebElement:
    selector = f'[data-testid="intake-row"][data-kind="{kind}"][data-serial="{serial}"]'
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, selector), f"a {kind} row for {serial}")
    return driver.find_element(By.CSS_SELECTOR, selector)


def wait_for_rows(driver: WebDriver, n: int, kind: str | None = None) -> list[WebElement]:
    wait(driver).until(lambda d: len(rows(d, kind)) >= n, f"{n} {kind or ''} rows")
    return rows(driver, kind)


def label_printed(driver: WebDriver, row: WebElement) -> None:
    """The station has no printer, only a folder: the row says the label was saved, and where."""
    status = row.find_element(By.CSS_SELECTOR, '[data-testid="label-status"]')
    wait(driver).until(lambda d: status.get_attribute("data-status") in {"saved", "printed", "failed"},
                       "the label's status")
    assert status.get_attribute("data-status") == "saved", status.text
    assert status.text.startswith("Label saved to ") and status.text.endswith(".png"), status.text
    assert Path(status.text.removeprefix("Label saved to ")).is_file()


def label_files(station: Station, tag: str) -> list[Path]:
    return sorted((station.home / "printed-labels").glob(f"unit_tag-{tag}-*.png"))


def tag_of(row: WebElement) -> str:
    return row.find_element(By.CSS_SELECTOR, '[data-testid="row-tag"]').text


def warranty_of(row: WebElement) -> str:
    return row.find_element(By.CSS_SELECTOR, "[data-warranty]").get_attribute("data-warranty")


# ---------------------------------------------------------------- the tests

def test_a_parcel_opened_by_its_waybill_and_two_serials_scanned_back_to_back(browser, station, depot):
    field = open_intake(browser, station)
    assert "Step 1" in element(browser, "intake-step").text
    field.send_keys(WAYBILL + Keys.ENTER)
    wait_for_text(browser, "new-parcel-waybill", WAYBILL)
    wait(browser).until(lambda d: element(d, "new-parcel-courier").get_attribute("value") == "SF",
                        "the courier is guessed from the waybill")
    wait(browser).until(lambda d: text_input(d, "new-parcel-customer") == focused(d))
    focused(browser).send_keys("SH-PD" + Keys.ENTER)
    wait(browser).until(lambda d: focused(d) == element(d, "new-parcel-declared"))
    focused(browser).send_keys("2" + Keys.ENTER)
    wait_for_text(browser, "parcel-waybill", WAYBILL)
    assert element(browser, "parcel-courier").text == "SF"
    assert "Step 2" in element(browser, "intake-step").text

    field = scan_field(browser)
    field.send_keys(IN_WARRANTY + "\n")  # a wedge scanner: both scans typed before the page answers
    field.send_keys(OUT_OF_WARRANTY + "\n")

    both = wait_for_rows(browser, 2, "unit")
    assert [r.get_attribute("data-serial") for r in both] == [OUT_OF_WARRANTY, IN_WARRANTY]  # newest on top
    out_row, in_row = both
    assert tag_of(in_row).startswith("R26-") and tag_of(out_row) != tag_of(in_row)
    assert in_row.get_attribute("data-tag") == tag_of(in_row)
    assert warranty_of(in_row) == "in" and "In warranty" in in_row.text and "until 20" in in_row.text
    assert warranty_of(out_row) == "out" and "Out of warranty" in out_row.text
    assert "HU-8800" in in_row.text and "harness" in in_row.text  # the model and its accessories checklist
    for row in both:
        label_printed(browser, row)
        assert label_files(station, tag_of(row)), f"no label file for {tag_of(row)}"
    wait_for_text(browser, "parcel-count", "Scanned 2 of 2 declared")
    assert not rows(browser, "error")
    assert element(browser, "scan-area").get_attribute("data-signal") == "ok"

    # The accessories of the newest unit, from the keyboard: Alt+A ticks them all and saves.
    ActionChains(browser).key_down(Keys.ALT).send_keys("a").key_up(Keys.ALT).perform()
    box = out_row.find_element(By.CSS_SELECTOR, 'input[type="checkbox"][value="harness"]')
    wait(browser).until(lambda d: box.is_selected(), "Alt+A ticks every accessory of the newest unit")
    db = Database.from_url(station.db_url)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with db.uow(readonly=True) as uow:
                ticked = services.intake_summary(uow, core.find_visit(uow, tag_of(out_row)))["accessories"]
            if ticked:
                break
            time.sleep(0.1)
        assert ticked == ["harness"]
    finally:
        db.dispose()
    assert focused(browser) == scan_field(browser)


def test_an_interception_shows_its_action_and_a_repeat_return_names_the_earlier_tag(browser, station, depot):
    open_intake(browser, station)
    open_parcel(browser)
    # The dealer's complaint for the next scans, from the keyboard: Alt+R, type, Enter, back to scanning.
    ActionChains(browser).key_down(Keys.ALT).send_keys("r").key_up(Keys.ALT).perform()
    wait(browser).until(lambda d: text_input(d, "intake-reason") == focused(d), "Alt+R goes to the reason")
    focused(browser).send_keys(REASON + Keys.ENTER)
    field = scan_field(browser)
    field.send_keys(INTERCEPTED + Keys.ENTER)
    field.send_keys(REPEATED + Keys.ENTER)

    intercepted = row_of(browser, INTERCEPTED)
    alert = intercepted.find_element(By.CSS_SELECTOR, '[data-testid="interception-alert"]')
    assert INTERCEPT_ACTION in alert.text and "Interception" in alert.text
    assert "bg-red-700" in alert.get_attribute("class")

    repeated = row_of(browser, REPEATED)
    badge = repeated.find_element(By.CSS_SELECTOR, '[data-testid="repeat-badge"]')
    assert "REPEAT" in badge.text and depot["repeat_of"] in badge.text
    assert badge.find_element(By.TAG_NAME, "a").get_attribute("href").endswith(f"/unit/{depot['repeat_of']}")
    assert not repeated.find_elements(By.CSS_SELECTOR, '[data-testid="interception-alert"]')
    assert f"Reason: {REASON} · 不开机 no power" in repeated.text and REASON in intercepted.text

    # The unit page keeps what intake decided, and reprints the label.
    tag = tag_of(intercepted)
    label_printed(browser, intercepted)
    intercepted.find_element(By.CSS_SELECTOR, '[data-testid="row-tag"]').click()
    wait_for_path(browser, f"/unit/{tag}")
    card = browser.find_element(By.CSS_SELECTOR, f'[data-testid="visit-intake"][data-tag="{tag}"]')
    assert f"SF {WAYBILL}" in card.find_element(By.CSS_SELECTOR, '[data-testid="intake-parcel"]').text
    assert INTERCEPT_ACTION in card.find_element(By.CSS_SELECTOR, '[data-testid="interception-alert"]').text
    assert "Warranty unknown" in card.text
    connected(browser)
    before = len(label_files(station, tag))
    card.find_element(By.CSS_SELECTOR, '[data-testid="reprint-label"]').click()
    wait_for_text(browser, "reprint-status", f"Label saved to {station.home / 'printed-labels'}")
    assert len(label_files(station, tag)) == before + 1


def test_garbled_scans_are_red_rows_and_the_same_serial_twice_is_the_same_tag(browser, station, depot):
    open_intake(browser, station)
    open_parcel(browser)
    field = scan_field(browser)
    field.send_keys("HU" * 100 + Keys.ENTER)  # 200 characters: a wrong label or a stuck scanner
    # An ESC inside a scan (a scanner with a wrong prefix setting); WebDriver cannot type it, so the
    # browser gets it as a wedge would leave it: in the field, then Enter.
    browser.execute_script("""
        const f = arguments[0]; f.value = 'HU88\\u001b000005';
        f.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));""", field)
    field.send_keys(IN_WARRANTY + Keys.ENTER)  # the next good scan still works

    good = row_of(browser, IN_WARRANTY)
    errors = wait_for_rows(browser, 2, "error")
    control, too_long = errors  # newest first
    assert "Scan too long: 200 characters" in too_long.text
    assert "HUHUHUHU" in too_long.find_element(By.CSS_SELECTOR, '[data-testid="row-scan"]').text  # kept, escaped
    assert "control character '\\x1b' at position 5" in control.text
    assert "'HU88\\x1b000005'" in control.find_element(By.CSS_SELECTOR, '[data-testid="row-scan"]').text
    assert "border-red-700" in control.get_attribute("class")
    tag = tag_of(good)
    label_printed(browser, good)

    scan_field(browser).send_keys(IN_WARRANTY + Keys.ENTER)
    again = row_of(browser, IN_WARRANTY, kind="again")
    assert tag_of(again) == tag
    assert "Already scanned" in again.text
    assert len(rows(browser, "unit")) == 1  # never a second visit
    wait_for_text(browser, "parcel-count", "Scanned 1 (no declared count)")
    assert element(browser, "scan-area").get_attribute("data-signal") == "warn"

    before = len(label_files(station, tag))
    again.find_element(By.CSS_SELECTOR, '[data-testid="reprint"]').click()
    wait(browser).until(lambda d: len(label_files(station, tag)) == before + 1, "the reprint makes a second label")
    label_printed(browser, again)


def test_closing_a_parcel_with_fewer_units_than_declared_says_short(browser, station, depot, tmp_path):
    open_intake(browser, station)
    open_parcel(browser, declared="3")
    field = scan_field(browser)
    field.send_keys(IN_WARRANTY + Keys.ENTER)
    field.send_keys(OUT_OF_WARRANTY + Keys.ENTER)
    wait_for_rows(browser, 2, "unit")
    wait_for_text(browser, "parcel-count", "Scanned 2 of 3 declared")

    # A photo of the waybill is kept with the parcel, and shown as a thumbnail.
    photo = tmp_path / "waybill.png"
    Image.new("RGB", (800, 500), (230, 230, 250)).save(photo)
    browser.find_element(By.CSS_SELECTOR, '[data-testid="waybill-upload"] input[type="file"]').send_keys(str(photo))
    thumb = wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="waybill-thumbs"] img'))[0]
    wait(browser).until(lambda d: d.execute_script("return arguments[0].naturalWidth", thumb) == 320,
                        "the thumbnail is served to the signed-in clerk")
    assert focused(browser) == scan_field(browser)

    ActionChains(browser).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
    dialog = element(browser, "close-dialog")
    assert "Declared 3, scanned 2." in dialog.text and "SHORT delivery: 1 unit(s) missing" in dialog.text
    confirm = element(browser, "close-confirm")
    wait(browser).until(lambda d: focused(d) == confirm, "Enter closes the parcel")
    focused(browser).send_keys(Keys.ENTER)

    closed = element(browser, "closed-parcel")
    assert f"Parcel {WAYBILL} closed: declared 3, scanned 2." in closed.text
    assert "SHORT delivery: 1 unit(s) missing" in closed.text
    assert "Step 1" in element(browser, "intake-step").text
    db = Database.from_url(station.db_url)
    try:
        with db.uow(readonly=True) as uow:
            report = services.parcel_report(uow, WAYBILL)
    finally:
        db.dispose()
    assert (report["declared"], report["scanned"], report["discrepancy"]) == (3, 2, "short")
    assert report["closed_by"] == "clerk" and len(report["attachments"]) == 1


def test_the_returns_ledger_filters_by_customer_and_exports_csv(browser, station, depot, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    log_in(browser, station, "lead", PASSWORDS["lead"], path="/login?next=/ledger")
    wait_for_path(browser, "/ledger")
    connected(browser)
    table = wait_for_text(browser, "ledger-table", depot["repeat_of"])
    assert station.seed.tags["HU88000001"] in table.text  # every customer before filtering

    text_input(browser, "f-customer").send_keys("GZ-TH" + Keys.ENTER)
    wait_for_text(browser, "ledger-count", "Visits: 1")
    table = element(browser, "ledger-table")
    assert depot["repeat_of"] in table.text and REPEATED in table.text and "GZ-TH02" in table.text
    assert station.seed.tags["HU88000001"] not in table.text
    link = table.find_element(By.LINK_TEXT, depot["repeat_of"])
    assert link.get_attribute("href").endswith(f"/unit/{depot['repeat_of']}")

    element(browser, "ledger-export").click()
    wait(browser).until(lambda d: [p for p in downloads.glob("*.csv")], "the CSV export should download")
    (path,) = downloads.glob("*.csv")
    lines = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert list(lines[0]) == services.VISIT_COLUMNS
    assert [(r["tag"], r["serial"], r["customer"], r["state"]) for r in lines] == [
        (depot["repeat_of"], REPEATED, "GZ-TH02", "shipped")]


@pytest.fixture
def serial_scanner(tmp_path):  # noqa: ANN001, ANN201
    """A simulated USB scanner, written into the station's rma.toml before the station starts."""
    from drivers.scanner_sim import ScannerSimulator

    (tmp_path / "dev").mkdir()
    sim = ScannerSimulator(tmp_path / "dev")
    home = tmp_path / "home"
    home.mkdir()
    (home / "rma.toml").write_text(
        f'[scanner]\nkind = "serial"\nurl = "{sim.url}"\n\n'
        f'[printer]\nkind = "folder"\npath = "{home / "printed-labels"}"\n', encoding="utf-8")
    yield sim
    sim.close()


def test_a_serial_scanner_station_takes_scans_without_the_keyboard(serial_scanner, browser, station, depot):
    db = Database.from_url(station.db_url)
    try:  # a parcel opened earlier at another station
        with db.uow() as uow:
            services.receive_parcel(uow, core.get_actor(uow, "clerk"), courier="ZTO", waybill="7300012345678",
                                    customer_code="SH-PD01", declared=2)
    finally:
        db.dispose()
    open_intake(browser, station)
    chip = wait_for_text(browser, "scanner-chip", "Scanner connected")
    assert chip.get_attribute("data-connected") == "yes"

    serial_scanner.scan("7300012345678", aim_prefix="]C0")  # the waybill: carry on with that parcel
    wait_for_text(browser, "parcel-waybill", "7300012345678")
    serial_scanner.scan(IN_WARRANTY)
    row = row_of(browser, IN_WARRANTY)
    assert warranty_of(row) == "in"
    label_printed(browser, row)
    assert label_files(station, tag_of(row))
    serial_scanner.noise(b"HU88\xff\xfe\r")  # a wrong baud rate: a garbled scan, said out loud
    (garbled,) = wait_for_rows(browser, 1, "error")
    assert "Garbled scan" in garbled.text
    wait_for_text(browser, "parcel-count", "Scanned 1 of 2 declared")

    serial_scanner.unplug()  # the cable is pulled mid-shift, then put back
    wait_for_text(browser, "scanner-chip", "Scanner disconnected")
    assert chip.get_attribute("data-connected") == "no"
    serial_scanner.replug()
    wait_for_text(browser, "scanner-chip", "Scanner connected")
    serial_scanner.scan(OUT_OF_WARRANTY)
    assert warranty_of(row_of(browser, OUT_OF_WARRANTY)) == "out"
    wait_for_text(browser, "parcel-count", "Scanned 2 of 2 declared")


def test_the_intake_station_speaks_chinese(browser, station, depot):
    open_intake(browser, station)
    element(browser, "lang-zh").click()
    wait_for_text(browser, "intake-step", "第 1 步")
    connected(browser)
    open_parcel(browser)
    field = scan_field(browser)
    field.send_keys("序列号" + Keys.ENTER)  # typed through a Chinese input method
    field.send_keys(IN_WARRANTY + Keys.ENTER)
    row = row_of(browser, IN_WARRANTY)
    assert "保内" in row.text and "至 20" in row.text
    (garbled,) = wait_for_rows(browser, 1, "error")
    assert "乱码扫描" in garbled.text and "\\u5e8f" in garbled.text
    wait(browser).until(lambda d: "标签已保存到" in row_of(d, IN_WARRANTY).text)


def _pass(db_url: str, *tags: str) -> None:
    db = Database.from_url(db_url)
    try:
        with db.uow() as uow:
            lead = core.get_actor(uow, "lead")
            for tag in tags:
                for state in ("awaiting_bench", "in_repair", "awaiting_test", "in_test", "passed"):
                    core.move_visit(uow, lead, tag, VisitState(state), "repaired and tested")
    finally:
        db.dispose()


def ship_rows(driver: WebDriver, kind: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, f'[data-testid="ship-row"][data-kind="{kind}"]')


def test_shipping_two_passed_units_in_one_parcel_from_the_keyboard(browser, station):
    """unit → waybill → courier (guessed: Enter accepts) → cost (Enter ships); an empty cost never ships,
    and an amount typed where the unit goes is a cost, not a unit scan."""
    first, second = station.seed.tags["HU88000001"], station.seed.tags["HU88000002"]
    _pass(station.db_url, first, second)
    log_in(browser, station, "clerk", PASSWORDS["clerk"], path="/login?next=/shipping")
    wait_for_path(browser, "/shipping")
    connected(browser)
    unit = element(browser, "ship-unit")
    wait(browser).until(lambda d: focused(d) == unit)
    unit.send_keys(first + Keys.ENTER)
    wait(browser).until(lambda d: focused(d) == element(d, "ship-waybill"))
    focused(browser).send_keys("SF777777777777" + Keys.ENTER)
    courier = element(browser, "ship-courier")
    wait(browser).until(lambda d: focused(d) == courier, "the courier is guessed: it is shown to be accepted")
    assert courier.get_attribute("value") == "SF"
    focused(browser).send_keys(Keys.ENTER)  # Enter accepts the guess
    cost = element(browser, "ship-cost")
    wait(browser).until(lambda d: focused(d) == cost, "then the cost")
    focused(browser).send_keys(Keys.ENTER)  # an empty cost does not ship
    hint = wait_for_text(browser, "ship-hint", "Type the courier cost")
    assert "No cost" in hint.text
    assert focused(browser) == cost and not ship_rows(browser, "shipped")
    focused(browser).send_keys("18.50" + Keys.ENTER)

    row = wait(browser).until(lambda d: d.find_element(
        By.CSS_SELECTOR, '[data-testid="ship-row"][data-kind="shipped"][data-serial="HU88000001"]'))
    assert "Shipped back" in row.text and "to SH-PD01 by SF SF777777777777" in row.text and "cost 18.50" in row.text
    wait(browser).until(lambda d: "Label saved to" in row.text)
    assert sorted((station.home / "printed-labels").glob("parcel*-SF777777777777-*.png"))
    assert not browser.find_element(By.CSS_SELECTOR, '[data-testid="ship-hint"]').is_displayed()

    wait(browser).until(lambda d: focused(d) == element(d, "ship-unit"))
    focused(browser).send_keys(second + Keys.ENTER)  # same parcel: one scan and Enter
    wait(browser).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, '[data-testid="ship-row"][data-kind="shipped"][data-serial="HU88000002"]'))
    db = Database.from_url(station.db_url)
    try:
        with db.uow(readonly=True) as uow:
            report = services.parcel_report(uow, "SF777777777777")
    finally:
        db.dispose()
    assert (report["direction"], report["cost"], sorted(u["tag"] for u in report["units"])) == (
        "out", "18.50", sorted([first, second]))

    # A new parcel: the cost typed where the unit goes lands in the cost field, never as a unit scan error.
    element(browser, "ship-new-parcel").click()
    wait(browser).until(lambda d: focused(d) == element(d, "ship-unit"))
    wait(browser).until(lambda d: element(d, "ship-waybill").get_attribute("value") == "")
    focused(browser).send_keys("25.00" + Keys.ENTER)
    wait(browser).until(lambda d: cost.get_attribute("value") == "25.00", "the amount goes into the cost field")
    wait_for_text(browser, "ship-hint", "25.00 is an amount, not a unit")
    assert element(browser, "ship-unit").get_attribute("value") == ""
    assert not ship_rows(browser, "error")


def test_shipping_with_no_cost_is_said_on_purpose(browser, station, depot):
    db = Database.from_url(station.db_url)
    try:  # a third unit, received through intake and passed
        tag = receive(db, IN_WARRANTY, waybill="SF444444444444")
    finally:
        db.dispose()
    _pass_from_bench(station.db_url, tag)
    log_in(browser, station, "clerk", PASSWORDS["clerk"], path="/login?next=/shipping")
    wait_for_path(browser, "/shipping")
    connected(browser)
    wait(browser).until(lambda d: focused(d) == element(d, "ship-unit"))
    focused(browser).send_keys(tag + Keys.ENTER)
    wait(browser).until(lambda d: focused(d) == element(d, "ship-waybill"))
    focused(browser).send_keys("7300098765432" + Keys.ENTER)  # a ZTO waybill: guessed
    wait(browser).until(lambda d: focused(d) == element(d, "ship-courier"))
    focused(browser).send_keys(Keys.ENTER)
    wait(browser).until(lambda d: focused(d) == element(d, "ship-cost"))
    ActionChains(browser).key_down(Keys.ALT).send_keys("n").key_up(Keys.ALT).perform()  # no cost, on purpose
    wait(browser).until(lambda d: element(d, "ship-no-cost").is_selected(), "Alt+N ticks no cost")
    focused(browser).send_keys(Keys.ENTER)
    row = wait(browser).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f'[data-testid="ship-row"][data-kind="shipped"][data-serial="{IN_WARRANTY}"]'))
    assert "no cost" in row.find_element(By.CSS_SELECTOR, '[data-testid="ship-cost-shown"]').text
    assert "by ZTO 7300098765432" in row.text


def _pass_from_bench(db_url: str, tag: str) -> None:
    db = Database.from_url(db_url)
    try:
        with db.uow() as uow:
            lead = core.get_actor(uow, "lead")
            for state in ("in_repair", "awaiting_test", "in_test", "passed"):
                core.move_visit(uow, lead, tag, VisitState(state), "repaired and tested")
    finally:
        db.dispose()


def test_an_admin_imports_shipment_records_and_sees_the_rejected_lines(browser, station, tmp_path):
    records = tmp_path / "records.csv"
    records.write_text("serial,model,manufactured_on,shipped_on,customer\n"
                       "HU88000500,HU-8800,2025-01-01,2025-02-01,SH-PD01\n"
                       "NOT A SERIAL,HU-8800,,,\n"
                       "HU88000501,NO-SUCH,,,\n", encoding="utf-8")
    log_in(browser, station, "admin", PASSWORDS["admin"], path="/login?next=/admin")
    wait_for_path(browser, "/admin")
    connected(browser)
    browser.find_element(By.CSS_SELECTOR, '[data-testid="import-upload"] input[type="file"]').send_keys(str(records))
    counts = wait_for_text(browser, "import-counts", "3 rows")
    assert counts.text == "3 rows: 1 units created, 0 updated, 2 rejected."
    rejected = element(browser, "import-rejected").text
    assert "is not a serial number" in rejected and "unknown model 'NO-SUCH'" in rejected
    assert element(browser, "import-step").text == "3 of 3 rows"
