"""The admin page says what this station lacks, in the admin's language, before anyone scans."""

from __future__ import annotations

import socket

import pytest

from tests.e2e.pages import (
    by_testid,
    connected,
    element,
    log_in,
    wait,
    wait_for_path,
    wait_for_text,
)
from tests.e2e.station import PASSWORDS

pytestmark = pytest.mark.e2e

FIXTURE_PORT = "/dev/serial/by-id/usb-rma-fixture-unplugged-if00"


@pytest.fixture
def printer_port(tmp_path) -> int:
    """A label printer that is switched off (its port refuses), and an unplugged fixture, in rma.toml."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "home"
    home.mkdir()
    (home / "rma.toml").write_text(
        f'[printer]\nkind = "tcp"\nhost = "127.0.0.1"\nport = {port}\n\n[test_station]\nport = "{FIXTURE_PORT}"\n',
        encoding="utf-8")
    return port


def problems(browser) -> dict[str, str]:
    return {e.get_attribute("data-problem"): e.text for e in browser.find_elements(*by_testid("station-problem"))}


def test_the_admin_page_shows_an_unanswering_printer_and_an_unplugged_fixture(printer_port, browser, station):
    assert f"[printer_refused] Label printer 127.0.0.1:{printer_port}" in station.log(), "said at start too"
    log_in(browser, station, "admin", PASSWORDS["admin"], path="/login?next=/admin")
    wait_for_path(browser, "/admin")
    connected(browser)
    wait(browser).until(lambda d: len(problems(d)) == 2, "two problems on the admin page")
    found = problems(browser)
    assert f"Label printer 127.0.0.1:{printer_port} refuses the connection" in found["printer_refused"]
    assert f"The test fixture port {FIXTURE_PORT} does not exist" in found["fixture_port_missing"]
    assert not browser.find_elements(*by_testid("station-ok"))

    # the printer is switched on: checking again leaves only the fixture
    with socket.socket() as printer:
        printer.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        printer.bind(("127.0.0.1", printer_port))
        printer.listen(4)
        element(browser, "station-check-again").click()
        wait(browser).until(lambda d: list(problems(d)) == ["fixture_port_missing"], "only the fixture is left")

    element(browser, "lang-zh").click()
    wait_for_text(browser, "station-check", "重新检查")
    wait(browser).until(lambda d: "测试夹具端口" in problems(d).get("fixture_port_missing", ""),
                        "the problem reads in Chinese")
    assert FIXTURE_PORT in problems(browser)["fixture_port_missing"]
