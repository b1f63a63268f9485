"""The department's figures from a small June the test makes through the services (intake, bench,
labour, the test station against the fixture simulator, shipping), compared with what a person
counts by hand from the story below; and each figure's drill-down lists the visits it counted.

June 2025 (local time): parcel P1 on the 2nd at 09:00 brings U1–U5 (HU-8800, SH-PD01).
U1: LCD/J3/D09 found, tested pass, shipped on the 5th at 09:00 (3 days).
U2: LCD/J3/D09, tested FAIL, repaired again, passed at attempt 2, shipped on the 9th (7 days).
U3: no fault found, passed, refurbished into stock on the 12th (10 days).
U4: PWR/U12/D03 found, returned unrepaired on the 3rd at 09:00 (1 day).
U5: taken on the 3rd, still in repair at the month's end (28 days: 15+, past the 10-day target).
Parcel P2 on the 27th brings U1 again (a repeat return) and U6 (caught by an interception plan):
both wait for the bench at the month's end (3.6 days: 3–7).
"""

from __future__ import annotations

import pytest

from rma.errors import DomainError
from rma.reports import figures as F
from rma.test_station import services as station
from tests.figures_data import make_june


@pytest.fixture
def june(db, rma_env):
    return db, make_june(db)


def figures_of(db, **kw):
    with db.uow(readonly=True) as uow:
        f = F.filters(uow, **kw)
        return f, F.all_figures(uow, f)


def visits_of(db, f, name, key=None):
    with db.uow(readonly=True) as uow:
        return sorted(r["tag"] for r in F.drill_visits(uow, f, name, key)["rows"])


def test_june_by_hand(june):
    db, tags = june
    f, fig = figures_of(db, month="2025-06")
    assert fig["units"] == {"received": 7, "repaired": 3, "refurbished": 1, "shipped": 2, "scrapped": 0,
                            "returned_unrepaired": 1}
    # left: U4 1 day, U1 3, U2 7, U3 10 → median the 2nd of 4 (3), 90th percentile the 4th (10)
    assert fig["turnaround"]["all"]["units"] == 4
    assert fig["turnaround"]["all"]["median_days"] == pytest.approx(3.0, abs=0.05)
    assert fig["turnaround"]["all"]["p90_days"] == pytest.approx(10.0, abs=0.05)
    assert fig["turnaround"]["by_model_month"][0]["model"] == "HU-8800"
    assert fig["turnaround"]["by_model_month"][0]["month"] == "2025-06"
    # repeat: U1 back (1) ÷ repaired 3; first-time fix: U1, U3 (U2 failed its test) ÷ 3
    q = fig["quality"]
    assert (q["repeat"], q["repaired"], q["repeat_rate"]) == (1, 3, 0.3333)
    assert (q["first_time_fix"], q["first_time_fix_rate"]) == (2, 0.6667)
    # first tests U1 pass, U3 pass, U2 fail; U2's second test a re-test; NFF: U3 of U1–U4 with findings
    t = fig["testing"]
    assert (t["first_tests"], t["first_pass"], t["first_fail"], t["retests"]) == (3, 2, 1, 1)
    assert (t["first_pass_yield"], t["retests_per_unit"], t["nff"], t["with_findings"], t["nff_rate"]) == \
        (0.6667, 0.3333, 1, 4, 0.25)
    # at the month's end: U5 in repair 15+ days (late), U1 again and U6 awaiting the bench 3–7 days
    w = {r["state"]: r for r in fig["wip"]["rows"]}
    assert set(w) == {"in_repair", "awaiting_bench"}
    assert (w["in_repair"]["15+"], w["in_repair"]["late"]) == (1, 1)
    assert (w["awaiting_bench"]["3-7"], w["awaiting_bench"]["total"], w["awaiting_bench"]["late"]) == (2, 2, 0)
    assert (fig["wip"]["total"], fig["wip"]["late"]) == (3, 1)
    defect = {r["key"]: r["visits"] for r in fig["pareto"]["defect"]["rows"]}
    assert defect == {"D09": 2, "D03": 1} and fig["pareto"]["defect"]["rows"][0]["cumulative"] == 0.6667
    assert {r["key"]: r["visits"] for r in fig["pareto"]["designator"]["rows"]} == {"J3": 2, "U12": 1}
    assert {r["key"]: r["visits"] for r in fig["pareto"]["symptom"]["rows"]} == {"202": 4}
    assert [(r["caught"], r["done"]) for r in fig["interceptions"]["rows"]] == [(1, 0)]
    # the tech decided U1, U2 (again on the 6th), U3, U4 in June; labour 1 + 2 + 1 + 1 hours
    assert fig["technicians"]["rows"] == [{"technician": "tech", "units": 4, "hours": 5.0}]
    assert (fig["couriers"]["total"], fig["couriers"]["parcels"]) == ("62.50", 4)
    assert fig["couriers"]["months"][0]["link"] == "/couriers?month=2025-06"
    assert fig["parts"]["repaired_units"] == 3 and fig["parts"]["parts_value"] == "0.00"

    # every figure's list holds exactly the visits a person would name
    assert visits_of(db, f, "repaired") == sorted([tags["U1"], tags["U2"], tags["U3"]])
    assert visits_of(db, f, "repeat") == [tags["U1b"]]
    assert visits_of(db, f, "first_time_fix") == sorted([tags["U1"], tags["U3"]])
    assert visits_of(db, f, "defect", "D09") == sorted([tags["U1"], tags["U2"]])
    assert visits_of(db, f, "nff") == [tags["U3"]]
    assert visits_of(db, f, "wip", "in_repair:15+") == [tags["U5"]]
    assert visits_of(db, f, "late") == [tags["U5"]]
    assert visits_of(db, f, "intercepted", str(fig["interceptions"]["rows"][0]["plan"])) == [tags["U6"]]
    assert visits_of(db, f, "technician", "tech") == sorted(tags[u] for u in ("U1", "U2", "U3", "U4"))
    with db.uow(readonly=True) as uow:
        runs = F.drill_runs(uow, f, "first_fail")
        assert runs["total"] == 1 and runs["rows"][0]["tag"] == tags["U2"]
        assert F.drill_runs(uow, f, "retest")["rows"][0]["attempt"] == 2
        # the test station's own first-pass yield says the same
        own = station.first_pass_yield(uow)
        assert [(r["first_tests"], r["first_pass"], r["retests"]) for r in own] == [(3, 2, 1)]


def test_filters_that_match_nothing_give_empty_figures(june):
    db, _tags = june
    for kw in ({"month": "2025-06", "model": "NO-SUCH"}, {"month": "2025-06", "customer": "NOBODY"},
               {"month": "2025-05"}):
        _f, fig = figures_of(db, **kw)
        assert fig["units"]["received"] == 0 and fig["turnaround"]["all"]["units"] == 0
        assert fig["quality"]["repeat_rate"] is None and fig["testing"]["first_pass_yield"] is None
        assert fig["pareto"]["defect"]["rows"] == [] and fig["technicians"]["rows"] == []
    _f, fig = figures_of(db, month="2025-06", model="HU-8800", customer="SH-PD01")
    assert fig["units"]["received"] == 7


def test_a_year_window_and_today_count_the_same_june(june):
    db, tags = june
    _f, year = figures_of(db, date_from="2025-01", date_to="2025-12")
    assert year["units"]["received"] == 7 and year["testing"]["first_tests"] == 3
    assert [m["month"] for m in year["turnaround"]["by_month"]] == ["2025-06"]
    f, now = figures_of(db)  # this month: the work in progress as it stands today
    assert {r["state"]: r["total"] for r in now["wip"]["rows"]} == {"in_repair": 1, "awaiting_bench": 2}
    assert now["wip"]["late"] == 3  # all three were received weeks ago
    assert visits_of(db, f, "wip", "awaiting_bench") == sorted([tags["U1b"], tags["U6"]])


def test_the_dashboards_trend_comes_with_the_months_turnaround_and_reaches_back_a_year(june):
    db, _tags = june
    with db.uow(readonly=True) as uow:
        june_only = F.turnaround(uow, F.filters(uow, month="2025-06"))
        july = F.filters(uow, month="2025-07")
        july_alone = F.turnaround(uow, july)
        with_trend = F.turnaround(uow, july, trend_months=12)
        year = F.turnaround(uow, F.filters(uow, date_from="2024-08", date_to="2025-07"))
    # July's own figures count July alone (nobody left in July) ...
    assert with_trend["all"]["units"] == 0 and with_trend["by_month"] == []
    assert {k: v for k, v in with_trend.items() if k != "trend"} == july_alone
    # ... and its trend is the twelve months to July, June's four departures among them
    assert with_trend["trend"] == year["by_month"] == june_only["by_month"]
    assert with_trend["trend"][0]["units"] == 4 and with_trend["trend"][0]["month"] == "2025-06"


def test_the_figures_on_two_connections_are_the_figures_on_one(june):
    db, _tags = june
    with db.uow(readonly=True) as uow:
        f = F.filters(uow, month="2025-06")
        one = F.all_figures(uow, f, connections=1, trend_months=12)
        two = F.all_figures(uow, f, connections=2, trend_months=12)
    assert two == one
    assert two["units"]["received"] == 7 and set(two["pareto"]) == set(F.PARETO_BY)


def test_a_figure_that_fails_on_the_second_connection_fails_the_load_and_starts_nothing_after(june, monkeypatch):
    db, _tags = june
    started: list[str] = []

    def failing(uow, f):
        started.append("parts")
        raise DomainError("db_down", "the database went away")

    def counted(name, figure):
        def run(uow, f, **kw):
            started.append(name)
            return figure(uow, f, **kw)
        return run

    # parts is the first figure to start: on one connection it fails while the other runs turnaround
    monkeypatch.setitem(F.FIGURES, "parts", failing)
    for name in ("units", "wip", "quality", "testing", "interceptions", "programming", "couriers", "technicians"):
        monkeypatch.setitem(F.FIGURES, name, counted(name, F.FIGURES[name]))
    with db.uow(readonly=True) as uow:
        f = F.filters(uow, month="2025-06")
        with pytest.raises(DomainError) as err:
            F.all_figures(uow, f, connections=2)
    assert err.value.code == "db_down"
    # the other connection finishes what it had taken, and takes no more: not the eight others
    assert "parts" in started and len(started) <= 3


@pytest.mark.parametrize("kw,code", [
    ({"month": "2999-01"}, "bad_month"), ({"month": "June"}, "bad_month"), ({"month": "2025-13"}, "bad_month"),
    ({"date_from": "2025-06", "date_to": "2025-01"}, "bad_window"),
    ({"date_from": "2020-01", "date_to": "2025-01"}, "bad_window"),
    ({"month": "2025-06", "date_from": "2025-01"}, "bad_window"),
])
def test_bad_months_are_refused_with_a_clear_error(db, kw, code):
    with db.uow(readonly=True) as uow, pytest.raises(DomainError) as e:
        F.filters(uow, **kw)
    assert e.value.code == code
