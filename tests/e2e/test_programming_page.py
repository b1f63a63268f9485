"""Reflash at the bench from /programming, in a real browser, against the programmer simulator on a pty.

The station's rma.toml names the simulator's stable link (``[programming] port``) before the server
starts. The lead releases the new firmware from the page, scans a unit in programming, watches the bar
(bytes per second, time left) and reads the result; a second unit's flash has a weak cell: the verify
finds it, and the page says where.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from drivers.programmer_sim import ProgrammerSimulator
from rma.core import services as core
from rma.core.states import VisitState
from rma.db import Database
from rma.programming import registry
from tests.e2e.pages import by_testid, element, focused, log_in_ok, wait, wait_for_text
from tests.e2e.station import PASSWORDS, SERIAL, SERIAL_2, WAIT_S

# A whole reflash is many changes in a row (every block committed to the ledger with its seal, then
# the verify read back): on a busy 2-core box its end may come well after one change's WAIT_S.
REFLASH_S = 4 * WAIT_S


def until_done(driver):  # noqa: ANN001, ANN201
    return WebDriverWait(driver, REFLASH_S, ignored_exceptions=(WebDriverException,))

pytestmark = pytest.mark.e2e

LINK = "usb-RMA_GP-400_GP400-0012-if00-port0"
OLD_IMAGE = random.Random("e2e old").randbytes(64 * 1024)
NEW_IMAGE = random.Random("e2e new").randbytes(512 * 1024)  # about 6 s at 921,600 baud: the bar is seen moving


@pytest.fixture
def programmer_dir(tmp_path) -> Path:  # noqa: ANN001
    """rma.toml, written before the server starts: the programmer's port is a stable link."""
    folder = tmp_path / "serial-by-id"
    folder.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "rma.toml").write_text(f'[station]\nname = "bench-1"\n\n[programming]\nport = "{folder / LINK}"\n',
                                   encoding="utf-8")
    return folder


@pytest.fixture
def bench(programmer_dir, station, monkeypatch):  # noqa: ANN001, ANN201
    """HU-8800's old firmware released and the new one a draft; both units of the station in programming."""
    monkeypatch.setenv("RMA_HOME", str(station.home))  # the registry's files where the server reads them
    db = Database.from_url(station.db_url)
    with db.uow() as uow:
        lead = core.get_actor(uow, "lead")
        for data, version in ((OLD_IMAGE, "3.1.0"), (NEW_IMAGE, "3.2.1")):
            image = registry.add_image(uow, lead, data=data, filename=f"{version}.bin", version=version,
                                       models=["HU-8800"], memory="W25Q16", chip_id="EF4015")
            uow.session.flush()
            if version == "3.1.0":
                registry.release_image(uow, lead, str(image.id))
            else:
                new_id = image.id
        for tag in station.seed.tags.values():
            for to in ("awaiting_bench", "in_repair", "programming"):
                core.move_visit(uow, lead, tag, VisitState(to), "reflash")
    yield db, new_id
    db.dispose()


def scan(driver, key: str) -> None:  # noqa: ANN001
    wait(driver).until(lambda d: focused(d).get_attribute("data-testid") == "reflash-scan",
                       "the scan field should have focus")
    focused(driver).send_keys(key + Keys.ENTER)


def test_the_lead_releases_the_firmware_and_reflashes_a_unit_watching_its_progress(programmer_dir, browser, station,
                                                                                   bench):
    db, new_id = bench
    tag, other = station.seed.tags[SERIAL], station.seed.tags[SERIAL_2]
    log_in_ok(browser, station, "lead", PASSWORDS["lead"])
    browser.get(station.url("/programming"))
    wait_for_text(browser, "programmer-port", "(from rma.toml)")
    wait_for_text(browser, "programming-queue", tag)
    wait_for_text(browser, "programming-queue", "3.1.0")  # what they would get now

    element(browser, f"release-{new_id}").click()
    element(browser, "firmware-confirm").click()
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="firmware-table"] [data-state='
                                                                   '"released"]').__len__() == 2)
    browser.get(station.url("/programming"))  # the queue now offers the new firmware
    wait_for_text(browser, "programming-queue", "3.2.1")

    with ProgrammerSimulator(directory=programmer_dir, name=LINK, latency=0.05) as sim:
        sim.load(1, OLD_IMAGE)
        scan(browser, tag)
        wait_for_text(browser, "reflash-versions", "3.1.0 → 3.2.1")  # the chip was read first
        wait_for_text(browser, "reflash-chip", "EF4015")
        wait_for_text(browser, "reflash-rate", "kB/s")
        wait_for_text(browser, "reflash-left", "s left")
        result = until_done(browser).until(lambda d: d.find_element(*by_testid("reflash-result")))
        assert result.get_attribute("data-result") == "ok"
        assert element(browser, "reflash-word").text == "PROGRAMMED"
        assert "3.1.0 → 3.2.1" in browser.find_element(*by_testid("reflash-result")).text
        assert sim.contents(1)[: len(NEW_IMAGE)] == NEW_IMAGE
    with db.uow(readonly=True) as uow:
        visit = core.find_visit(uow, tag)
        assert visit.state is VisitState.AWAITING_TEST and visit.unit.firmware_version == "3.2.1"

    with ProgrammerSimulator(directory=programmer_dir, name=LINK, faults=["verify_mismatch_at=0x2345"],
                             pace=False) as sim:
        scan(browser, other)
        result = until_done(browser).until(lambda d: d.find_element(*by_testid("reflash-result")) if d.find_elements(
            By.CSS_SELECTOR, '[data-testid="reflash-result"][data-result="failed"]') else False)
        text = result.text
        assert "first bad address 0x00002345" in text and "It goes back to repair." in text
    with db.uow(readonly=True) as uow:
        assert core.find_visit(uow, other).state is VisitState.IN_REPAIR

    browser.get(station.url(f"/unit/{SERIAL_2}"))  # the unit page says it in words
    wait_for_text(browser, "unit-programming", "first bad address 0x00002345")
    wait_for_text(browser, "unit-timeline", "Programming failed")
