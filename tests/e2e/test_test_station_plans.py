"""The test station screen when a plan file is broken: only that model is refused, and the
tester reads which file, which line and why."""

from __future__ import annotations

import pytest

from rma.test_station.plans import BUILTIN
from tests.e2e.pages import wait_for_text

# The test station's rig (a seeded station, a tester, the fixture's port in rma.toml), shared.
from tests.e2e.test_test_station_screen import (  # noqa: F401
    fixture_home,
    open_test_station,
    rig,
    scan_tag,
)

pytestmark = pytest.mark.e2e


def test_the_test_station_says_which_model_a_broken_plan_disables(rig, browser):  # noqa: F811
    """A broken plan dropped on a running station: its model is refused with file, line and reason;
    the page stays ready for the next scan."""
    plans_dir = rig.station.home / "plans"
    plans_dir.mkdir()
    text = (BUILTIN / "hu-8800.toml").read_text(encoding="utf-8").replace("version = 1", 'version = "one"', 1)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("version"))
    (plans_dir / "hu-8800.toml").write_text(text, encoding="utf-8")
    tag = rig.awaiting_test()
    open_test_station(browser, rig)
    scan_tag(browser, tag)
    message = wait_for_text(browser, "error-message", "the test plan of HU-8800 is broken").text
    assert f"hu-8800.toml:{line}" in message and "version must be a whole number" in message
    assert rig.state(tag) == "awaiting_test" and rig.runs(tag) == []
