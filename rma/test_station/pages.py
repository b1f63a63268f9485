"""The test station area: its pages (NiceGUI).

- ``/test``            running a test: scan, live steps, prompts, checklist, verdict (pages_run.py)
- ``/test/ledger``     the test ledger with filters, CSV/JSON export, first-pass yield (pages_ledger.py)
- ``/test/run/{id}``   one run with every step, limits, raw reply and the checklist (pages_ledger.py)
"""

from __future__ import annotations

from rma.test_station import pages_ledger
from rma.test_station.pages_run import test_station
from rma.ui.areas import TEST_STATION
from rma.ui.frame import SessionUser, protected_page


def register() -> None:
    @protected_page(TEST_STATION.path, area=TEST_STATION, title="Test station")
    async def test_station_page(user: SessionUser) -> None:
        await test_station(user)

    pages_ledger.register()
