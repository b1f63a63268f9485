"""The supervisor at the dashboard: June's figures, the biggest bar of the fault Pareto opens the
visits behind it, and the monthly report downloads as a workbook that says what the page says."""

from __future__ import annotations

import openpyxl
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from rma.core import services as core
from rma.core import settings
from rma.core.models import Role
from rma.db import Database
from tests.e2e.pages import (
    connected,
    element,
    log_in,
    text_input,
    wait,
    wait_for_notification,
    wait_for_path,
    wait_for_text,
)
from tests.e2e.station import Station
from tests.figures_data import make_june

pytestmark = pytest.mark.e2e

BIGGEST_BAR_JS = """
const el = arguments[0];
const chart = getElement(parseInt(el.id.slice(1))).chart;
const option = chart.getOption();
const data = option.series[0].data;
let best = 0;
data.forEach((v, i) => { if (v > data[best]) best = i; });
const [x, y] = chart.convertToPixel({seriesIndex: 0}, [best, data[best] / 2]);
return [x, y, option.xAxis[0].data[best]];
"""


@pytest.fixture
def june(station: Station) -> dict[str, str]:
    db = Database.from_url(station.db_url)
    try:
        return make_june(db, seeded=True)
    finally:
        db.dispose()


def test_the_supervisor_opens_the_biggest_fault_and_downloads_the_month(browser, station, june, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    browser.set_window_size(1400, 1000)
    log_in(browser, station, "boss", "boss-pass-1")
    wait_for_path(browser, "/")
    browser.get(station.url("/dashboard?month=2025-06"))
    connected(browser)
    wait_for_text(browser, "dash-title", "Figures of 2025-06")
    wait_for_text(browser, "tile-received-value", "7")
    assert element(browser, "tile-first_pass_yield-value").text == "66.7 %"

    pareto = element(browser, "pareto-chart")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", pareto)
    x, y, name = wait(browser).until(lambda d: d.execute_script(BIGGEST_BAR_JS, pareto))
    assert name.startswith("D09")  # loose connector: U1 and U2
    size = pareto.size
    ActionChains(browser).move_to_element_with_offset(pareto, int(x - size["width"] / 2),
                                                      int(y - size["height"] / 2)).click().perform()
    wait_for_path(browser, "/dashboard/list")
    wait_for_text(browser, "list-title", "D09")
    assert element(browser, "list-total").text.startswith("2 in all")
    listed = element(browser, "list-rows").text
    assert june["U1"] in listed and june["U2"] in listed and june["U4"] not in listed

    element(browser, "list-back").click()
    wait_for_path(browser, "/dashboard")
    wait_for_text(browser, "dash-title", "Figures of 2025-06")
    element(browser, "dash-xlsx").click()
    wait(browser).until(lambda d: [p for p in downloads.glob("*.xlsx")], "the monthly report should download")
    (path,) = downloads.glob("*.xlsx")
    assert path.name == "rma-monthly-report-2025-06.xlsx"
    book = openpyxl.load_workbook(path)
    units = {r[0]: r[2] for r in book["Units"].iter_rows(min_row=2, values_only=True)}
    test = {r[0]: r[2] for r in book["Test"].iter_rows(min_row=2, values_only=True)}
    quality = {r[0]: r[2] for r in book["Quality"].iter_rows(min_row=2, values_only=True)}
    assert units["Units received"] == 7
    assert test["First-pass yield"] == 0.6667
    assert quality["Repeat-repair rate"] == 0.3333


def test_the_supervisor_reads_three_months_at_once_and_opens_the_visits_behind_a_tile(browser, station, june):
    browser.set_window_size(1400, 1000)
    log_in(browser, station, "boss", "boss-pass-1")
    wait_for_path(browser, "/")
    browser.get(station.url("/dashboard?month=2025-05&to=2025-07"))  # June's visits, and a month either side
    connected(browser)
    wait_for_text(browser, "dash-title", "Figures of 2025-05 to 2025-07")
    wait_for_text(browser, "tile-received-value", "7")
    element(browser, "tile-received").click()
    wait_for_path(browser, "/dashboard/list")
    wait_for_text(browser, "list-filters", "2025-05 to 2025-07")
    assert element(browser, "list-total").text.startswith("7 in all")
    assert all(tag in element(browser, "list-rows").text for tag in (june["U1"], june["U2"], june["U4"]))
    element(browser, "list-back").click()
    wait_for_path(browser, "/dashboard")
    wait_for_text(browser, "dash-title", "Figures of 2025-05 to 2025-07")

    browser.get(station.url("/dashboard?month=2025-07&to=2025-05"))  # backwards: said, not drawn
    connected(browser)
    wait_for_notification(browser, "the window starts (2025-07) after it ends (2025-05)")
    browser.get(station.url("/dashboard?month=2025-07&to=2025-08"))  # months with nothing received
    connected(browser)
    wait_for_text(browser, "dash-title", "Figures of 2025-07 to 2025-08")
    wait_for_text(browser, "tile-received-value", "0")


@pytest.fixture
def boss(station: Station) -> None:
    db = Database.from_url(station.db_url)
    try:
        with db.uow() as uow:
            core.add_user(uow, core.get_actor(uow, "admin"), username="boss", password="boss-pass-1",
                          roles=[Role.SUPERVISOR])
    finally:
        db.dispose()


def test_the_supervisor_changes_a_setting_and_a_bad_one_is_refused_with_its_range(browser, station, boss):
    log_in(browser, station, "boss", "boss-pass-1")
    wait_for_path(browser, "/")
    browser.get(station.url("/settings"))
    connected(browser)
    box = text_input(browser, "setting-repeat_window_days-value")
    assert box.get_attribute("value") == "90"
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("0")
    element(browser, "setting-repeat_window_days-save").click()
    wait_for_notification(browser, "repeat_window_days must be a whole number from 1 to 3650")
    box = text_input(browser, "setting-repeat_window_days-value")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("60")
    element(browser, "setting-repeat_window_days-save").click()
    wait_for_text(browser, "setting-repeat_window_days", "changed by boss")
    db = Database.from_url(station.db_url)
    try:
        with db.uow(readonly=True) as uow:
            assert settings.value(uow, "repeat_window_days") == 60
    finally:
        db.dispose()
