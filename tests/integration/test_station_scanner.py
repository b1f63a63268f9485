"""The station's serial scanner hub: scans reach the listening page, none is lost meanwhile."""

import queue
import time

from drivers.scanner import ScanResult, ScannerDisconnected, ScannerReconnected
from drivers.scanner_sim import ScannerSimulator
from rma.intake.station_scanner import ScannerSettings, StationScanner


def _wait_for(q, kind, timeout=10):
    while True:
        item = q.get(timeout=timeout)
        if isinstance(item, kind):
            return item


def test_scans_reach_the_page_and_wait_when_no_page_listens():
    with ScannerSimulator() as sim:
        hub = StationScanner(ScannerSettings(url=sim.url)).start()
        try:
            first = queue.Queue()
            stop = hub.subscribe(first.put)
            deadline = time.monotonic() + 10
            while not hub.connected and time.monotonic() < deadline:  # bytes sent before the open are lost
                time.sleep(0.05)
            sim.scan("R26-000001", aim_prefix="]C0")
            assert _wait_for(first, ScanResult).value == "R26-000001"
            stop()
            sim.scan("R26-000002")  # nobody listens: kept for the next page
            sim.scan("bad\x1bscan")
            time.sleep(0.5)
            second = queue.Queue()
            hub.subscribe(second.put)
            got = [_wait_for(second, ScanResult), _wait_for(second, ScanResult)]
            assert got[0].value == "R26-000002" and got[1].error.code == "control_characters"
            sim.unplug()
            assert isinstance(_wait_for(second, ScannerDisconnected), ScannerDisconnected)
            assert not hub.connected
            sim.replug()
            _wait_for(second, ScannerReconnected)
            sim.scan("R26-000003")
            assert _wait_for(second, ScanResult).value == "R26-000003"
        finally:
            hub.stop()


def test_keyboard_wedge_stations_have_no_serial_scanner():
    assert ScannerSettings.from_station({}) is None
    assert ScannerSettings.from_station({"kind": "wedge"}) is None
    s = ScannerSettings.from_station({"kind": "serial", "url": "socket://127.0.0.1:9", "terminator": "CRLF"})
    assert (s.url, s.terminator, s.baudrate) == ("socket://127.0.0.1:9", "CRLF", 9600)
