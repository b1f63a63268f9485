"""A materials clerk runs an IC batch job of 8 ICs in a real browser, against the 4-socket programmer
simulator on a pty whose socket 3 failed its self-test: she opens the job from /programming, scans
the bin of the blank ICs and types the quantity, runs the job with Enter, swaps the ICs between
rounds and presses Enter again, sees socket 3 switched off, the others lit green with their yield,
the counts from the ledgers, and the stock moved: 8 programmed ICs in their bin, 8 blanks fewer.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from drivers.programmer_sim import ProgrammerSimulator
from rma.core import services as core
from rma.core.models import Role
from rma.db import Database
from rma.inventory import catalogue, stock
from rma.programming import registry
from tests.e2e.pages import (
    by_testid,
    connected,
    element,
    log_in,
    text_input,
    wait,
    wait_for_path,
    wait_for_text,
)
from tests.e2e.station import Station

pytestmark = pytest.mark.e2e

LINK = "usb-RMA_GP-400_GP400-0012-if00-port0"
CLERK, CLERK_PASSWORD = "chen", "chen-materials-1"
IMAGE = random.Random("e2e ic job").randbytes(64 * 1024)
BLANK, PROGRAMMED = "SPI-W25Q16", "SPI-W25Q16-P1.4.0"


@pytest.fixture
def programmer_dir(tmp_path) -> Path:  # noqa: ANN001
    folder = tmp_path / "serial-by-id"
    folder.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "rma.toml").write_text(f'[station]\nname = "stores-1"\n\n[programming]\nport = "{folder / LINK}"\n',
                                   encoding="utf-8")
    return folder


@pytest.fixture
def ic_store(programmer_dir, station: Station, monkeypatch):  # noqa: ANN001, ANN201
    """A materials clerk; 40 blank W25Q16s in bin A-03-01; the image for them released by the lead."""
    monkeypatch.setenv("RMA_HOME", str(station.home))  # the registry's files where the server reads them
    db = Database.from_url(station.db_url)
    with db.uow() as uow:
        core.add_user(uow, core.get_actor(uow, "admin"), username=CLERK, password=CLERK_PASSWORD,
                      roles=[Role.MATERIALS], display_name="陈静")
    with db.uow() as uow:
        clerk = core.get_actor(uow, CLERK)
        catalogue.add_supplier(uow, clerk, "SZ-HX", "深圳华星电子")
        for code in ("A-03-01", "P-01-01"):
            catalogue.add_bin(uow, clerk, code)
        catalogue.add_part(uow, clerk, part_number=BLANK, name_zh="SPI Flash W25Q16", name_en="SPI flash W25Q16",
                           category="ic", abc="B")
    with db.uow() as uow:
        stock.receive(uow, core.get_actor(uow, CLERK), supplier="SZ-HX", delivery_note="DN-0100", line=1,
                      part_number=BLANK, bin_code="A-03-01", quantity="40", unit_cost="2.40")
        image = registry.add_image(uow, core.get_actor(uow, CLERK), data=IMAGE, filename="boot.bin",
                                   version="1.4.0", part_number=BLANK, memory="W25Q16", chip_id="EF4015")
        uow.session.flush()
        registry.release_image(uow, core.get_actor(uow, "lead"), str(image.id))
        image_id = image.id
    yield db, image_id
    db.dispose()


def type_into(driver, testid: str, text: str, end: str = Keys.TAB) -> None:  # noqa: ANN001
    field = text_input(driver, testid)
    field.clear()
    field.send_keys(text + end)


def press(driver, key: str) -> None:  # noqa: ANN001
    """A key pressed with no field focused, as the clerk does between rounds."""
    driver.execute_script("document.activeElement && document.activeElement.blur()")
    ActionChains(driver).send_keys(key).perform()


def shown(driver, testid: str) -> bool:  # noqa: ANN001
    found = driver.find_elements(*by_testid(testid))
    return bool(found) and found[0].is_displayed()


def stopped(driver) -> str | None:  # noqa: ANN001
    found = driver.find_elements(*by_testid("job-status"))
    return found[0].get_attribute("data-stopped") if found else None


def socket_state(driver, n: int) -> str | None:  # noqa: ANN001
    return element(driver, f"socket-{n}").get_attribute("data-state")


def test_a_materials_clerk_runs_a_job_of_eight_with_a_bad_socket(programmer_dir, browser, station, ic_store):
    db, image_id = ic_store
    log_in(browser, station, CLERK, CLERK_PASSWORD, path="/login?next=/programming")
    wait_for_path(browser, "/programming")
    connected(browser)
    type_into(browser, "job-new-image", str(image_id))
    type_into(browser, "job-new-part", BLANK)
    type_into(browser, "job-new-quantity", "8")
    type_into(browser, "job-new-bin", "P-01-01", Keys.ENTER)  # Enter opens the job
    wait(browser).until(lambda d: "/programming/job/ICJ-" in d.current_url)
    connected(browser)
    key = element(browser, "job-number").text
    wait_for_text(browser, "job-what", f"{PROGRAMMED} · firmware 1.4.0")

    type_into(browser, "job-issue-bin", "A-03-01", Keys.ENTER)  # the scanner ends with Enter: on to the quantity
    type_into(browser, "job-issue-quantity", "8", Keys.ENTER)
    wait_for_text(browser, "job-issued", "8")
    wait_for_text(browser, "job-left", "8")

    with ProgrammerSimulator(faults=["bad_socket=3"], directory=programmer_dir, name=LINK) as sim:
        press(browser, Keys.ENTER)  # out of the fields, Enter runs the job
        wait(browser).until(lambda d: not shown(d, "job-go"), "the job should start")
        rounds = 0
        while True:
            wait(browser).until(lambda d: shown(d, "job-go") or stopped(d), "the round should end")
            if stopped(browser):
                break
            rounds += 1
            assert socket_state(browser, 3) == "off"
            assert {socket_state(browser, n) for n in (1, 2, 4)} == {"ok"}  # lit green
            for n in range(1, 5):  # the clerk's hands: good ICs to the tray, blanks in
                sim.load(n, b"\xff" * (2 * 1024 * 1024))
            press(browser, Keys.ENTER)
            wait(browser).until(lambda d: not shown(d, "job-go") or stopped(d))

    assert rounds == 2  # 3 + 3 + 2 ICs on the three good sockets
    assert stopped(browser) == "complete"
    wait_for_text(browser, "job-good", "8")
    for testid, value in (("job-failed", "0"), ("job-in-progress", "0"), ("job-left", "0"), ("job-yield", "100.0")):
        assert element(browser, testid).text == value, testid
    assert "self-test" in element(browser, "socket-3-detail").text
    assert element(browser, "socket-1-counts").text == "good 3 · failed 0 · yield 100.0 %"
    assert element(browser, "socket-4-counts").text == "good 2 · failed 0 · yield 100.0 %"
    assert len(browser.find_elements(By.CSS_SELECTOR, '[data-testid="job-attempts"] tbody tr')) == 8

    # the stock moved: the programmed part's page shows 8 in bin P-01-01, the blanks 32 in A-03-01
    browser.get(station.url(f"/stores/part/{PROGRAMMED}"))
    wait_for_text(browser, "part-card", PROGRAMMED)
    wait_for_text(browser, "part-bins", "P-01-01")
    assert "8" in element(browser, "part-bins").text
    browser.get(station.url(f"/stores/part/{BLANK}"))
    wait_for_text(browser, "part-bins", "32")
    browser.get(station.url("/programming"))
    wait_for_text(browser, "jobs", key)
