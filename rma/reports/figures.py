"""The department's figures (the supervisor's dashboard and the monthly report, 售后月报表).

Each figure is defined once, here: a function of a read-only unit of work and ``Filters``
(a window of whole months, a model, a customer) that aggregates in SQL and returns plain
values; its formula is its docstring (and README's "Figures" table). Every figure a person can
click has a *drill-down* — the rows behind it, listed by the same conditions that counted it
(``visit_set`` / ``drill_visits``, ``drill_runs``, ``drill_moves``, ``drill_attempts``), so a
bar and its list cannot disagree.

Times are the depot's local months (as the stores' statement and the courier costs are). A
filter that matches nothing gives empty figures, not an error. The stores' figures come from
``rma.inventory.reports`` (not recomputed here); they are by model where the stores' figure is
(parts cost per repaired unit), never by customer.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, distinct, exists, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from rma.bench.models import BenchCode, CodeKind, Finding, LabourSession, RepairCard
from rma.core import settings
from rma.core.models import (
    Customer,
    ProductModel,
    ReturnsLedgerEntry,
    Unit,
    User,
    Visit,
)
from rma.core.parse import check_limit, clean_key, parse_month
from rma.core.sqlplan import unindexed
from rma.core.states import VisitState
from rma.db import UnitOfWork
from rma.errors import DomainError
from rma.intake.models import IntakeRecord, Interception, VisitAlert
from rma.inventory.amounts import add_months, month_of, month_range, month_text
from rma.inventory.models import CountLine, MoveKind, Part, StockCount, StockMove
from rma.programming.models import ProgrammingAttempt, ProgrammingResult
from rma.test_station.models import Outcome, RunKind, TestRun, TestRunEnd

S = VisitState
MOST_MONTHS = 36
BUCKETS = ("0-2", "3-7", "8-14", "15+")  # days since received; a bucket's upper bound is 3, 8, 15 days
LEFT = (S.SHIPPED, S.REFURBISHED, S.RETURNED_UNREPAIRED)  # what leaves the depot (scrapped stays)
REPAIRED = (S.SHIPPED, S.REFURBISHED)
OPEN_STATES = tuple(s for s in VisitState if s not in (S.SHIPPED, S.REFURBISHED, S.SCRAPPED, S.RETURNED_UNREPAIRED))
PARETO_BY = ("symptom", "defect", "designator")


# ---------------------------------------------------------------- the filters and the window

@dataclass(frozen=True)
class Filters:
    """Whole months ``first``..``last`` (YYYYMM), and optionally one model and one customer (codes)."""

    first: int
    last: int
    model: str | None = None
    customer: str | None = None

    @property
    def months(self) -> list[int]:
        return month_range(self.first, self.last)

    def as_dict(self) -> dict[str, Any]:
        return {"from": month_text(self.first), "to": month_text(self.last), "model": self.model,
                "customer": self.customer}


def month_start(month: int) -> datetime:
    return datetime(month // 100, month % 100, 1).astimezone()


def this_month(uow: UnitOfWork) -> int:
    now = uow.now().astimezone()
    return month_of(now.year, now.month)


def _month(raw: str, uow: UnitOfWork) -> int:
    year, number = parse_month(raw)
    month = month_of(year, number)
    if month > this_month(uow):
        raise DomainError("bad_month", "month {month} is in the future", month=month_text(month))
    return month


def filters(uow: UnitOfWork, *, month: str | None = None, date_from: str | None = None, date_to: str | None = None,
            model: str | None = None, customer: str | None = None) -> Filters:
    """Filters from what a person typed: one month, or ``from``..``to`` (months, YYYY-MM); none: this month."""
    if month and (date_from or date_to):
        raise DomainError("bad_window", "give either a month or a from/to window, not both")
    if month:
        first = last = _month(month, uow)
    else:
        last = _month(date_to, uow) if date_to else this_month(uow)
        first = _month(date_from, uow) if date_from else last
    if first > last:
        raise DomainError("bad_window", "the window starts ({first}) after it ends ({last})",
                          first=month_text(first), last=month_text(last))
    if len(Filters(first, last).months) > MOST_MONTHS:
        raise DomainError("bad_window", "a window is at most {most} months", most=MOST_MONTHS)
    return Filters(first, last, clean_key(model, "model") if model else None,
                   clean_key(customer, "customer") if customer else None)


def page_filters(uow: UnitOfWork, month: str | None, to: str | None, model: str | None,
                 customer: str | None) -> Filters:
    """The dashboard's and its lists' filters: one month, or the months ``month``..``to`` when a
    last month is given too (a year at most); none: this month."""
    window = {"date_from": month or None, "date_to": to} if to else {"month": month or None}
    return filters(uow, **window, model=model or None, customer=customer or None)


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime
    asof: datetime  # the end, or now when the window runs to today
    current: bool
    starts: tuple[datetime, ...]  # every month's start, and the end


def _window(uow: UnitOfWork, f: Filters) -> _Window:
    starts = tuple(month_start(m) for m in f.months) + (month_start(add_months(f.last, 1)),)
    now = uow.now()
    return _Window(starts[0], starts[-1], min(starts[-1], now), now <= starts[-1], starts)


def _in(column: Any, w: _Window) -> Any:
    return and_(column >= w.start, column < w.end)


def _month_bucket(column: Any, w: _Window, months: list[int]) -> Any:
    """The local month (YYYYMM) of a time in the window, as CASE over the months' starts."""
    return case(*[(column < w.starts[i + 1], months[i]) for i in range(len(months))], else_=months[-1])


def _days(uow: UnitOfWork, later: Any, earlier: Any) -> Any:
    """Days between two timestamps, fractional, in SQL."""
    if uow.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def _customer_id(f: Filters) -> Any:
    return select(Customer.id).where(Customer.code == f.customer).scalar_subquery()


def _model_id(f: Filters) -> Any:
    return select(ProductModel.id).where(ProductModel.code == f.model).scalar_subquery()


def _scope(f: Filters) -> list[Any]:
    """Visits of the filter's model and customer (the query joins Unit and ProductModel)."""
    conds = []
    if f.model:
        conds.append(ProductModel.code == f.model)
    if f.customer:
        conds.append(Visit.customer_id == _customer_id(f))
    return conds


def _visits_from(*cols: Any, models: bool = True) -> Any:
    """Visits, joined to their unit and model when the query reads the model (its code, family, or
    the model filter); every visit has both, so leaving them out changes no count, only saves a
    look-up of each visit's unit and model. Outer joins (the same rows) keep SQLite reading the
    visits by the window's index, not every unit of every model."""
    q = select(*cols).select_from(Visit)
    return (q.outerjoin(Unit, Unit.id == Visit.unit_id).outerjoin(ProductModel, ProductModel.id == Unit.model_id)
            if models else q)


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


# ---------------------------------------------------------------- sets of visits (figure = count, drill = list)

def _closed_as(w: _Window, *states: VisitState) -> list[Any]:
    # the window's range of the closed-at index, never every visit of the states (see rma.core.sqlplan)
    return [_in(Visit.closed_at, w), unindexed(Visit.state).in_([s.value for s in states])]


def _failed_outgoing() -> Any:
    return exists().where(TestRun.visit_id == Visit.id, TestRun.kind == RunKind.OUTGOING.value,
                          TestRunEnd.run_id == TestRun.id, TestRunEnd.outcome == Outcome.FAIL.value)


def _state_at(w: _Window) -> Any:
    """A visit's state at the window's as-of time: its current one when the window runs to today,
    else the last state the returns ledger moved it to before then."""
    if w.current:
        return Visit.state
    r = ReturnsLedgerEntry
    return (select(r.to_state).where(r.visit_id == Visit.id, r.to_state.is_not(None), r.at < w.asof)
            .order_by(r.id.desc()).limit(1).scalar_subquery())


def _open_at(w: _Window) -> list[Any]:
    if w.current:
        return [Visit.closed_at.is_(None)]
    # two ranges of the closed_at index (still open; closed after then), not every visit received before
    return [or_(and_(Visit.closed_at.is_(None), Visit.opened_at < w.asof),
                and_(Visit.closed_at >= w.asof, Visit.opened_at < w.asof))]


def _age_bucket(w: _Window) -> Any:
    return case((Visit.opened_at > w.asof - timedelta(days=3), BUCKETS[0]),
                (Visit.opened_at > w.asof - timedelta(days=8), BUCKETS[1]),
                (Visit.opened_at > w.asof - timedelta(days=15), BUCKETS[2]), else_=BUCKETS[3])


def _late(uow: UnitOfWork, w: _Window) -> Any:
    """Received longer ago than its family's target turnaround (a department setting)."""
    return or_(*[and_(ProductModel.family == fam,
                      Visit.opened_at < w.asof - timedelta(days=settings.turnaround_target(uow, fam)))
                 for fam in settings.FAMILIES],
               and_(ProductModel.family.not_in(settings.FAMILIES),
                    Visit.opened_at < w.asof - timedelta(days=settings.turnaround_target(uow, "?"))))


def _active_finding(column: Any, value: Any, w: _Window | None = None) -> Any:
    """The visit has a finding with ``column == value`` not withdrawn (its signs sum above 0)."""
    q = select(func.sum(Finding.sign)).where(Finding.visit_id == Visit.id, column == value)
    if w is not None:
        q = q.where(_in(Finding.at, w))
    return q.scalar_subquery() > 0


def _any_finding() -> Any:
    return select(func.sum(Finding.sign)).where(Finding.visit_id == Visit.id).scalar_subquery() > 0


def _alert_done(alert: Any) -> Any:
    r = ReturnsLedgerEntry
    return exists().where(r.visit_id == alert.visit_id, r.event == "alert_done",
                          r.details["alert"].as_integer() == alert.id)


def visit_set(uow: UnitOfWork, f: Filters, name: str, key: str | None = None) -> list[Any]:
    """The conditions of a named set of visits; a figure counts it, its drill-down lists it.

    received: opened in the window · repaired: closed in the window as shipped or refurbished ·
    refurbished / shipped / scrapped / returned_unrepaired: closed in the window in that state ·
    left: closed as shipped, refurbished or returned unrepaired · repeat: opened in the window
    and flagged a repeat return at intake · first_time_fix: repaired without a failed outgoing
    test · with_findings / nff: left in the window with any / a no-fault-found finding standing ·
    wip (key ``state`` or ``state:bucket``): open at the as-of time · late: open past the
    target turnaround · symptom / defect / designator (key the code): a finding of it standing,
    recorded in the window · intercepted / intercepted_done (key the plan's id): an alert of
    the plan raised in the window (and marked done) · technician (key the username): the
    repair card decided in the window by that technician.
    """
    w = _window(uow, f)
    conds = _scope(f)
    if name == "received":
        conds.append(_in(Visit.opened_at, w))
    elif name == "repaired":
        conds += _closed_as(w, *REPAIRED)
    elif name in ("refurbished", "shipped", "scrapped", "returned_unrepaired"):
        conds += _closed_as(w, S(name))
    elif name == "left":
        conds += _closed_as(w, *LEFT)
    elif name == "repeat":
        conds += [_in(Visit.opened_at, w), exists().where(IntakeRecord.visit_id == Visit.id,
                                                         IntakeRecord.repeat_of_id.is_not(None))]
    elif name == "first_time_fix":
        conds += [*_closed_as(w, *REPAIRED), ~_failed_outgoing()]
    elif name == "with_findings":
        conds += [*_closed_as(w, *LEFT, S.SCRAPPED), _any_finding()]
    elif name == "nff":
        conds += [*_closed_as(w, *LEFT, S.SCRAPPED), _active_finding(Finding.nff, True)]
    elif name in ("wip", "late"):
        conds += _open_at(w)
        if name == "late":
            conds.append(_late(uow, w))
        state, _sep, bucket = (key or "").partition(":")
        if state:
            conds.append(_state_at(w) == state)
        if bucket:
            conds.append(_age_bucket(w) == bucket)
    elif name in PARETO_BY:
        column = {"symptom": Finding.symptom_code, "defect": Finding.defect_code,
                  "designator": Finding.designator}[name]
        conds.append(_active_finding(column, key or "", w))
    elif name in ("intercepted", "intercepted_done"):
        a = aliased(VisitAlert)
        q = exists().where(a.visit_id == Visit.id, _in(a.raised_at, w), a.interception_id == _int_key(key))
        conds.append(q.where(_alert_done(a)) if name == "intercepted_done" else q)
    elif name == "technician":
        conds.append(exists().where(RepairCard.visit_id == Visit.id, _in(RepairCard.decided_at, w),
                                    RepairCard.technician_id == select(User.id).where(User.username == (key or ""))
                                    .scalar_subquery()))
    else:
        raise DomainError("unknown_figure", "no list of visits called {name!r}; lists: {known}", name=name,
                          known=", ".join(VISIT_SETS))
    return conds


VISIT_SETS = ("received", "repaired", "refurbished", "shipped", "scrapped", "returned_unrepaired", "left", "repeat",
              "first_time_fix", "with_findings", "nff", "wip", "late", *PARETO_BY, "intercepted",
              "intercepted_done", "technician")


def _int_key(key: str | None) -> int:
    try:
        return int(key or "")
    except ValueError:
        return 0


def _reads_model(f: Filters, name: str) -> bool:
    """Whether a visit set's conditions read the model (the model filter; "late" reads its family)."""
    return bool(f.model) or name == "late"


def count_visits(uow: UnitOfWork, f: Filters, name: str, key: str | None = None) -> int:
    return int(uow.session.scalar(_visits_from(func.count(Visit.id), models=_reads_model(f, name))
                                  .where(*visit_set(uow, f, name, key))) or 0)


def drill_visits(uow: UnitOfWork, f: Filters, name: str, key: str | None = None, *, limit: int | None = 500,
                 offset: int = 0) -> dict[str, Any]:
    """The visits behind a figure, newest first: how many in all, and a page of them."""
    check_limit(limit, 10_000)
    conds = visit_set(uow, f, name, key)
    total = int(uow.session.scalar(_visits_from(func.count(Visit.id), models=_reads_model(f, name))
                                   .where(*conds)) or 0)
    q = (_visits_from(Visit.tag, Unit.serial, ProductModel.code, Customer.code, Visit.state, Visit.opened_at,
                      Visit.closed_at).outerjoin(Customer, Customer.id == Visit.customer_id).where(*conds)
         .order_by(Visit.opened_at.desc(), Visit.id.desc()).offset(offset))
    if limit:
        q = q.limit(limit)
    rows = [{"tag": t, "serial": s, "model": m, "customer": c, "state": VisitState(st).value,
             "opened_at": o.isoformat(), "closed_at": cl.isoformat() if cl else None}
            for t, s, m, c, st, o, cl in uow.session.execute(q)]
    return {"figure": name, "key": key, "filters": f.as_dict(), "total": total, "rows": rows}


# ---------------------------------------------------------------- speed: work in progress and turnaround

def wip(uow: UnitOfWork, f: Filters) -> dict[str, Any]:
    """Work in progress at the window's end (now, for a window that runs to today): open visits
    (received, not yet shipped, refurbished, scrapped or returned unrepaired) by state and by days
    since received (0–2, 3–7, 8–14, 15+), and those received longer ago than their model
    family's target turnaround (setting ``target_turnaround_days.<family>``). Returns ledger:
    the state at a past time is the last state it moved the visit to before then."""
    w = _window(uow, f)
    state, bucket = _state_at(w).label("state"), _age_bucket(w).label("bucket")
    q = (_visits_from(state, bucket, func.count(Visit.id), func.sum(case((_late(uow, w), 1), else_=0)))
         .where(*_open_at(w), *_scope(f)).group_by(state, bucket))
    cells: dict[str, dict[str, int]] = {}
    late: dict[str, int] = {}
    for st, b, n, k in uow.session.execute(q):
        st = VisitState(st).value
        cells.setdefault(st, dict.fromkeys(BUCKETS, 0))[b] = int(n)
        late[st] = late.get(st, 0) + int(k or 0)
    rows = [{"state": s.value, **cells[s.value], "total": sum(cells[s.value].values()), "late": late[s.value]}
            for s in OPEN_STATES if s.value in cells]
    return {"asof": w.asof.isoformat(), "buckets": list(BUCKETS), "rows": rows,
            "total": sum(r["total"] for r in rows), "late": sum(r["late"] for r in rows)}


TENTHS = 10  # turnaround is counted in tenths of a day (2.4 hours): the figures show one decimal


def _nearest_rank(bins: list[tuple[int, int]], n: int, p: float) -> float:
    """The ⌈p·n⌉-th shortest of ``n`` durations given as sorted (tenths of a day, how many)."""
    rank, seen = max(1, math.ceil(p * n - 1e-9)), 0
    for tenths, count in bins:
        seen += count
        if seen >= rank:
            return tenths / TENTHS
    return bins[-1][0] / TENTHS


def turnaround(uow: UnitOfWork, f: Filters, *, trend_months: int = 0) -> dict[str, Any]:
    """Turnaround, received (visit opened) → left the depot (closed as shipped, refurbished into
    stock or returned unrepaired; scrapped units never leave), in days, for the visits that left in
    the window: the median and the 90th percentile (nearest rank: the ⌈p·n⌉-th shortest), by
    model and month, by month, by model and over the window. One query counts the visits per
    model, month and tenth of a day; the percentiles are read off those counts. With
    ``trend_months``, also ``trend``: the by-month rows of that many months to the window's last
    (the dashboard's trend line), from the same query."""
    first = min(f.first, add_months(f.last, -(trend_months - 1))) if trend_months else f.first
    w = _window(uow, Filters(first, f.last))
    months = Filters(first, f.last).months
    days = _days(uow, Visit.closed_at, Visit.opened_at)
    month = _month_bucket(Visit.closed_at, w, months)
    tenths = func.round(days * TENTHS)
    # by the unit's model id (the codes looked up after): no look-up of the model for each visit
    scope = [Unit.model_id == _model_id(f)] if f.model else []
    if f.customer:
        scope.append(Visit.customer_id == _customer_id(f))
    q = (select(Unit.model_id, month, tenths, func.count(), func.sum(days)).select_from(Visit)
         .outerjoin(Unit, Unit.id == Visit.unit_id).where(*_closed_as(w, *LEFT), *scope)
         .group_by(Unit.model_id, month, tenths))
    codes = dict(uow.session.execute(select(ProductModel.id, ProductModel.code)).all())
    counted = [(codes[model], int(m), int(t), int(n), float(total)) for model, m, t, n, total in uow.session.execute(q)]
    out = _turnaround_of(counted, set(f.months))
    if trend_months:
        out["trend"] = _turnaround_of(counted, set(months[-trend_months:]))["by_month"]
    return out


def _turnaround_of(counted: list[tuple[str, int, int, int, float]], months: set[int]) -> dict[str, Any]:
    """Turnaround's summaries from the counts (model, month, tenths, visits, Σ days) of ``months``."""
    groups: dict[tuple[str | None, int | None], dict[int, list[float]]] = {}
    for model, m, t, n, total in counted:
        if m not in months:
            continue
        for key in ((model, m), (None, m), (model, None), (None, None)):
            cell = groups.setdefault(key, {}).setdefault(t, [0, 0.0])
            cell[0] += n
            cell[1] += total

    def summary(key: tuple[str | None, int | None]) -> dict[str, Any]:
        bins = sorted((t, int(c[0])) for t, c in groups[key].items())
        n = sum(c for _t, c in bins)
        mean = sum(c[1] for c in groups[key].values()) / n
        return {"units": n, "median_days": _nearest_rank(bins, n, 0.5), "p90_days": _nearest_rank(bins, n, 0.9),
                "mean_days": round(mean, 1)}

    def rows(of_model: bool, of_month: bool) -> list[dict[str, Any]]:
        keys = sorted((k for k in groups if (k[0] is not None) == of_model and (k[1] is not None) == of_month),
                      key=lambda k: (k[0] or "", k[1] or 0))
        return [{**({"model": k[0]} if of_model else {}), **({"month": month_text(k[1])} if of_month else {}),
                 **summary(k)} for k in keys]

    return {"by_model_month": rows(True, True), "by_month": rows(False, True), "by_model": rows(True, False),
            "all": summary((None, None)) if groups else {"units": 0, "median_days": None, "p90_days": None,
                                                          "mean_days": None}}


# ---------------------------------------------------------------- volumes and quality

def units(uow: UnitOfWork, f: Filters) -> dict[str, int]:
    """Units received (visits opened in the window), repaired (closed as shipped or refurbished),
    refurbished (into stock), shipped (back to the sender), scrapped and returned unrepaired
    (closed in that state in the window). Returns ledger / visits."""
    w = _window(uow, f)
    received = count_visits(uow, f, "received")
    # two ranges of two indexes (opened in the window; closed in it, by state), each read alone
    closed = dict(uow.session.execute(
        _visits_from(Visit.state, func.count(), models=bool(f.model))
        .where(*_closed_as(w, S.REFURBISHED, S.SHIPPED, S.SCRAPPED, S.RETURNED_UNREPAIRED), *_scope(f))
        .group_by(Visit.state)).all())
    refurbished, shipped, scrapped, unrepaired = (
        int(closed.get(s, 0)) for s in (S.REFURBISHED, S.SHIPPED, S.SCRAPPED, S.RETURNED_UNREPAIRED))
    return {"received": received, "repaired": refurbished + shipped, "refurbished": refurbished,
            "shipped": shipped, "scrapped": scrapped, "returned_unrepaired": unrepaired}


def quality(uow: UnitOfWork, f: Filters) -> dict[str, Any]:
    """Repeat-repair rate (返修率) = visits opened in the window that intake flagged as a repeat
    return (back within ``repeat_window_days`` of leaving after repair) ÷ units that left after
    repair in the window (closed as shipped or refurbished). First-time-fix rate (一次修复率) =
    repaired visits in the window without a failed outgoing test ÷ repaired visits."""
    repeat = count_visits(uow, f, "repeat")
    repaired = count_visits(uow, f, "repaired")
    # the repaired visits that failed one: from the few failed runs (the outcome's index), not every visit
    w = _window(uow, f)
    failed = uow.session.scalar(
        _visits_from(func.count(distinct(Visit.id)), models=bool(f.model)).join(TestRun, TestRun.visit_id == Visit.id)
        .join(TestRunEnd, TestRunEnd.run_id == TestRun.id)
        .where(TestRunEnd.outcome == Outcome.FAIL.value, TestRun.kind == RunKind.OUTGOING.value,
               *_closed_as(w, *REPAIRED), *_scope(f)))
    ftf = repaired - int(failed or 0)  # = the visit set "first_time_fix"
    return {"repeat": repeat, "repaired": repaired, "repeat_rate": _rate(repeat, repaired),
            "first_time_fix": ftf, "first_time_fix_rate": _rate(ftf, repaired),
            "repeat_window_days": int(settings.value(uow, "repeat_window_days"))}


# ---------------------------------------------------------------- the test station

def _runs_scope(f: Filters, w: _Window) -> list[Any]:
    conds = [_in(TestRun.started_at, w), TestRun.kind == RunKind.OUTGOING.value]
    if f.model:
        conds.append(TestRun.model == f.model)
    if f.customer:
        conds.append(TestRun.visit_id.in_(select(Visit.id).where(Visit.customer_id == _customer_id(f))))
    return conds


RUN_SETS = ("first", "first_pass", "first_fail", "retest")


def _run_set(name: str) -> Any:
    judged = TestRunEnd.outcome.in_([Outcome.PASS.value, Outcome.FAIL.value])
    return {"first": and_(judged, TestRun.attempt == 1),
            "first_pass": and_(TestRun.attempt == 1, TestRunEnd.outcome == Outcome.PASS.value),
            "first_fail": and_(TestRun.attempt == 1, TestRunEnd.outcome == Outcome.FAIL.value),
            "retest": and_(judged, TestRun.attempt > 1)}[name]


def testing(uow: UnitOfWork, f: Filters) -> dict[str, Any]:
    """Outgoing tests started in the window that ended PASS or FAIL (the test ledger), as the test
    station counts them: first-pass yield = first tests (attempt 1) that passed ÷ first tests;
    re-tests per unit = judged tests of attempt > 1 ÷ first tests; no-fault-found rate = visits
    closed in the window with a standing no-fault-found finding ÷ those with any standing finding
    (the findings ledger)."""
    w = _window(uow, f)
    q = (select(*[func.sum(case((_run_set(k), 1), else_=0)) for k in RUN_SETS])
         .select_from(TestRun).join(TestRunEnd, TestRunEnd.run_id == TestRun.id).where(*_runs_scope(f, w)))
    first, first_pass, first_fail, retests = (int(x or 0) for x in uow.session.execute(q).one())
    # per visit closed in the window: its standing findings and standing no-fault-found (the sets
    # "with_findings" and "nff"), in one pass over the findings of those visits
    per_visit = (_visits_from(func.sum(Finding.sign).label("all"),
                              func.sum(case((Finding.nff.is_(True), Finding.sign), else_=0)).label("nff"),
                              models=bool(f.model))
                 .join(Finding, Finding.visit_id == Visit.id)
                 .where(*_closed_as(w, *LEFT, S.SCRAPPED), *_scope(f))
                 .group_by(unindexed(Visit.id)).subquery())  # not every visit in id order, to group without sorting
    found, nff = (int(x or 0) for x in uow.session.execute(
        select(func.sum(case((per_visit.c.all > 0, 1), else_=0)),
               func.sum(case((per_visit.c.nff > 0, 1), else_=0)))).one())
    return {"first_tests": first, "first_pass": first_pass, "first_fail": first_fail, "retests": retests,
            "first_pass_yield": _rate(first_pass, first), "retests_per_unit": _rate(retests, first),
            "nff": nff, "with_findings": found, "nff_rate": _rate(nff, found)}


def drill_runs(uow: UnitOfWork, f: Filters, name: str, *, limit: int | None = 500) -> dict[str, Any]:
    """The test runs behind a test figure (``first``, ``first_pass``, ``first_fail``, ``retest``)."""
    if name not in RUN_SETS:
        raise DomainError("unknown_figure", "no list of test runs called {name!r}; lists: {known}", name=name,
                          known=", ".join(RUN_SETS))
    check_limit(limit, 10_000)
    w = _window(uow, f)
    conds = [*_runs_scope(f, w), _run_set(name)]
    base = select(TestRun.id).join(TestRunEnd, TestRunEnd.run_id == TestRun.id).where(*conds)
    total = int(uow.session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    q = (select(TestRun.id, Visit.tag, Unit.serial, TestRun.model, TestRun.attempt, TestRunEnd.outcome,
                TestRun.station, TestRun.started_at)
         .join(TestRunEnd, TestRunEnd.run_id == TestRun.id).join(Visit, Visit.id == TestRun.visit_id)
         .join(Unit, Unit.id == Visit.unit_id).where(*conds).order_by(TestRun.started_at.desc(), TestRun.id.desc()))
    if limit:
        q = q.limit(limit)
    rows = [{"run": r, "tag": t, "serial": s, "model": m, "attempt": a, "outcome": Outcome(o).value, "station": st,
             "started_at": at.isoformat()} for r, t, s, m, a, o, st, at in uow.session.execute(q)]
    return {"figure": name, "filters": f.as_dict(), "total": total, "rows": rows}


# ---------------------------------------------------------------- faults and interceptions

def pareto(uow: UnitOfWork, f: Filters, by: str = "defect") -> dict[str, Any]:
    """Fault Pareto (the findings ledger): per symptom, defect or reference designator, the visits
    with such a finding recorded in the window and not withdrawn (its rows' signs sum above 0),
    most first, with each one's share and the cumulative share of all those counts. By model:
    filter on the model."""
    if by not in PARETO_BY:
        raise DomainError("bad_pareto", "a Pareto is by one of: {known}", known=", ".join(PARETO_BY))
    w = _window(uow, f)
    column = {"symptom": Finding.symptom_code, "defect": Finding.defect_code, "designator": Finding.designator}[by]
    conds = [_in(Finding.at, w), column.is_not(None)]
    if f.model:
        conds.append(Finding.model_id == _model_id(f))
    if f.customer:
        conds.append(Finding.visit_id.in_(select(Visit.id).where(Visit.customer_id == _customer_id(f))))
    standing = (select(column.label("key"), Finding.visit_id).where(*conds).group_by(column, Finding.visit_id)
                .having(func.sum(Finding.sign) > 0).subquery())
    counts = list(uow.session.execute(select(standing.c.key, func.count()).group_by(standing.c.key)
                                      .order_by(func.count().desc(), standing.c.key)))
    words: dict[str, tuple[str, str]] = {}
    if by != "designator" and counts:
        kind = CodeKind.SYMPTOM if by == "symptom" else CodeKind.DEFECT
        words = {c: (en, zh) for c, en, zh in uow.session.execute(
            select(BenchCode.code, BenchCode.text_en, BenchCode.text_zh)
            .where(BenchCode.kind == kind.value, BenchCode.code.in_([k for k, _n in counts])))}
    total = sum(int(n) for _k, n in counts)
    rows, running = [], 0
    for key, n in counts:
        running += int(n)
        en, zh = words.get(key, (key, key))
        rows.append({"key": key, "text_en": en, "text_zh": zh, "visits": int(n), "share": _rate(int(n), total),
                     "cumulative": _rate(running, total)})
    return {"by": by, "rows": rows, "total": total}


def interceptions(uow: UnitOfWork, f: Filters) -> dict[str, Any]:
    """Interception plans (拦截计划): per plan, the alerts it raised on visits received in the
    window (units it caught) and how many of those are marked done (an ``alert_done`` event in
    the returns ledger); plans that caught nothing in the window are listed with 0."""
    w = _window(uow, f)
    a = aliased(VisitAlert)
    visit_conds = [Visit.id == a.visit_id]
    if f.customer:
        visit_conds.append(Visit.customer_id == _customer_id(f))
    caught = (select(a.interception_id.label("plan"), func.count().label("caught"),
                     func.sum(case((_alert_done(a), 1), else_=0)).label("done"))
              .where(_in(a.raised_at, w), exists().where(*visit_conds)).group_by(a.interception_id).subquery())
    q = (select(Interception.id, ProductModel.code, Interception.kind, Interception.action, Interception.active,
                func.coalesce(caught.c.caught, 0), func.coalesce(caught.c.done, 0))
         .join(ProductModel, ProductModel.id == Interception.model_id)
         .outerjoin(caught, caught.c.plan == Interception.id).order_by(Interception.id))
    if f.model:
        q = q.where(ProductModel.code == f.model)
    rows = [{"plan": i, "model": m, "kind": str(getattr(k, "value", k)), "action": act, "active": bool(on),
             "caught": int(c), "done": int(d)} for i, m, k, act, on, c, d in uow.session.execute(q)]
    return {"rows": rows, "caught": sum(r["caught"] for r in rows), "done": sum(r["done"] for r in rows)}


# ---------------------------------------------------------------- parts (the stores' own figures)

def parts(uow: UnitOfWork, f: Filters) -> dict[str, Any]:
    """The stores' figures, from ``rma.inventory.reports`` (not recomputed): parts cost per
    repaired unit (fitted parts' value of the visits that left repaired ÷ those visits; per model
    with a model filter), first-time fill rate of the window's months, stock value at the
    window's end (its statement's closing value), stock turns and slow/dead stock as of today;
    and the count variance rate: Σ|variance value| ÷ Σ book value of the count lines of the
    counts closed in the window (a rate over ``count_variance_percent`` needs explaining)."""
    from rma.inventory import reports

    units_n, value = 0, Decimal(0)
    for rows in reports.parts_cost_by_month(uow, f.first, f.last).values():  # each month as parts_cost has it
        rows = [r for r in rows if r[0] == f.model] if f.model else rows
        units_n += sum(n for _m, n, _v, _k in rows)
        value += Decimal(reports.money_text(sum(v for _m, _n, v, _k in rows)))
    now = this_month(uow)
    back = len(Filters(f.first, now).months)
    fill = reports.fill_rate(uow, months=min(back, MOST_MONTHS)) if back <= MOST_MONTHS else {"rows": []}
    fill_rows = [r for r in fill["rows"] if f.first <= int(r["month"].replace("-", "")) <= f.last]
    lines_n, filled = sum(r["lines"] for r in fill_rows), sum(r["filled_first"] for r in fill_rows)
    lines, _closed = reports.month_lines(uow, f.last)
    stock_value = sum(line["closing_value"] for line in lines.values())
    turns, slow = _stores_today(uow)
    w = _window(uow, f)
    book = CountLine.book_milli * Part.unit_cost_e4 / 1000
    variance_abs, book_value = uow.session.execute(
        select(func.coalesce(func.sum(func.abs(CountLine.variance_e4)), 0), func.coalesce(func.sum(book), 0))
        .join(StockCount, StockCount.id == CountLine.count_id).join(Part, Part.id == CountLine.part_id)
        .where(_in(StockCount.closed_at, w), CountLine.book_milli.is_not(None))).one()
    return {"repaired_units": units_n, "parts_value": f"{value:.2f}",
            "cost_per_repaired_unit": f"{value / units_n:.2f}" if units_n else None,
            "fill_lines": lines_n, "filled_first": filled, "fill_rate": _rate(filled, lines_n),
            "stock_value": reports.money_text(stock_value), "stock_turns": turns["turns"],
            "slow_value": slow["value"]["slow"], "dead_value": slow["value"]["dead"],
            "slow_parts": sum(1 for r in slow["rows"] if r["status"] == "slow"),
            "dead_parts": sum(1 for r in slow["rows"] if r["status"] == "dead"),
            "count_variance_value": reports.money_text(int(variance_abs)),
            "count_book_value": reports.money_text(int(book_value)),
            "count_variance_rate": _rate(int(variance_abs), int(book_value))}


_TODAY: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, Any]]] = {}


def _stores_today(uow: UnitOfWork) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stores' figures as of today (stock turns, slow and dead stock), kept while the parts
    ledger has no new move and the day is the same: they read the whole ledger, and change only
    with a move or a new day."""
    from rma.inventory import reports

    key = (str(uow.session.get_bind().url), uow.now().astimezone().date(),
           uow.session.scalar(select(func.max(StockMove.id))))
    hit = _TODAY.get(key)
    if hit is None:
        hit = (reports.stock_turns(uow), reports.slow_stock(uow))
        _TODAY.clear()
        _TODAY[key] = hit
    return hit


def drill_moves(uow: UnitOfWork, f: Filters, *, limit: int | None = 500) -> dict[str, Any]:
    """The parts moves behind parts cost per repaired unit: the fits (and their reversals) of the
    visits that left repaired in the window."""
    check_limit(limit, 10_000)
    m = StockMove
    repaired = _visits_from(Visit.id, models=bool(f.model)).where(*visit_set(uow, f, "repaired"))
    conds = [m.kind == MoveKind.FIT.value, m.visit_id.in_(repaired)]
    total = int(uow.session.scalar(select(func.count()).select_from(m).where(*conds)) or 0)
    q = (select(m.id, m.at, Part.part_number, Part.name_en, Part.name_zh, m.qty_milli, m.value_e4, m.corrects_id,
                Visit.tag, m.designator).join(Part, Part.id == m.part_id).join(Visit, Visit.id == m.visit_id)
         .where(*conds).order_by(m.at.desc(), m.id.desc()))
    if limit:
        q = q.limit(limit)
    from rma.inventory.amounts import money_text
    rows = [{"move": i, "at": at.isoformat(), "part_number": pn, "name_en": en, "name_zh": zh,
             "qty": q_ / 1000 * (-1 if c else 1), "value": money_text(v * (-1 if c else 1)), "tag": tag,
             "designator": d} for i, at, pn, en, zh, q_, v, c, tag, d in uow.session.execute(q)]
    return {"figure": "parts_cost", "filters": f.as_dict(), "total": total, "rows": rows}


# ---------------------------------------------------------------- programming, couriers, technicians

def _attempt_scope(f: Filters, w: _Window) -> list[Any]:
    p = ProgrammingAttempt
    conds = [_in(p.started_at, w)]
    if f.model:
        conds.append(p.unit_id.in_(select(Unit.id).join(ProductModel, ProductModel.id == Unit.model_id)
                                   .where(ProductModel.code == f.model)))
    if f.customer:
        conds.append(p.visit_id.in_(select(Visit.id).where(Visit.customer_id == _customer_id(f))))
    return conds


def programming(uow: UnitOfWork, f: Filters) -> dict[str, Any]:
    """The programming ledger: attempts started in the window; per programmer socket, attempts and
    yield (ended OK ÷ attempts); reflashes = attempts on a unit's visit that ended OK; IC jobs =
    distinct stores jobs with parts issued to programming in the window (the parts ledger)."""
    w = _window(uow, f)
    p, r = ProgrammingAttempt, ProgrammingResult
    ok = r.result == "ok"
    q = (select(p.socket, func.count(), func.sum(case((ok, 1), else_=0)),
                func.sum(case((and_(ok, p.visit_id.is_not(None)), 1), else_=0)))
         .outerjoin(r, r.attempt_id == p.id).where(*_attempt_scope(f, w)).group_by(p.socket).order_by(p.socket))
    sockets = [{"socket": s, "attempts": int(n), "ok": int(k or 0), "yield": _rate(int(k or 0), int(n)),
                "reflashes": int(x or 0)} for s, n, k, x in uow.session.execute(q)]
    jobs = 0
    if not f.model and not f.customer:
        jobs = int(uow.session.scalar(select(func.count(distinct(StockMove.job)))
                                      .where(StockMove.job > "", StockMove.kind == MoveKind.JOB_ISSUE.value,  # a range of the job index
                                             _in(StockMove.at, w))) or 0)
    attempts, oks = sum(s["attempts"] for s in sockets), sum(s["ok"] for s in sockets)
    return {"attempts": attempts, "ok": oks, "yield": _rate(oks, attempts),
            "reflashes": sum(s["reflashes"] for s in sockets), "jobs": jobs, "by_socket": sockets}


def drill_attempts(uow: UnitOfWork, f: Filters, *, socket: int | None = None, limit: int | None = 500) -> dict[str, Any]:
    """The programming attempts behind a programming figure (one socket, or all)."""
    check_limit(limit, 10_000)
    p, r = ProgrammingAttempt, ProgrammingResult
    conds = _attempt_scope(f, _window(uow, f)) + ([p.socket == socket] if socket is not None else [])
    total = int(uow.session.scalar(select(func.count()).select_from(p).where(*conds)) or 0)
    q = (select(p.id, Visit.tag, Unit.serial, p.station, p.socket, p.image_version, r.result, p.started_at)
         .outerjoin(r, r.attempt_id == p.id).outerjoin(Visit, Visit.id == p.visit_id)
         .outerjoin(Unit, Unit.id == p.unit_id).where(*conds).order_by(p.started_at.desc(), p.id.desc()))
    if limit:
        q = q.limit(limit)
    rows = [{"attempt": i, "tag": t, "serial": s, "station": st, "socket": so, "firmware": v,
             "result": getattr(res, "value", res) if res else None, "started_at": at.isoformat()}
            for i, t, s, st, so, v, res, at in uow.session.execute(q)]
    return {"figure": "programming", "filters": f.as_dict(), "total": total, "rows": rows}


def couriers(uow: UnitOfWork, f: Filters) -> dict[str, Any]:
    """Courier costs (物流费用核对) as the intake's ``rma courier costs`` counts them (parcels opened
    in the month, by courier and direction), totalled in SQL per month; each month links to the
    intake's page of its parcels."""
    from rma.intake.models import Parcel

    w = _window(uow, f)
    month = _month_bucket(Parcel.opened_at, w, f.months)
    rows = uow.session.execute(
        select(month, Parcel.courier, Parcel.direction, func.count(), func.sum(Parcel.cost),
               func.sum(case((Parcel.cost.is_(None), 1), else_=0)))
        .where(_in(Parcel.opened_at, w)).group_by(month, Parcel.courier, Parcel.direction)
        .order_by(month, Parcel.courier, Parcel.direction))
    by_month: dict[int, list[dict[str, Any]]] = {m: [] for m in f.months}
    for m, courier, direction, n, cost, without in rows:
        by_month[int(m)].append({"courier": courier, "direction": getattr(direction, "value", direction),
                                 "parcels": int(n), "cost": f"{Decimal(cost or 0):.2f}", "without_cost": int(without)})
    months = [{"month": month_text(m), "total": f"{sum(Decimal(r['cost']) for r in rs):.2f}", "by_courier": rs,
               "link": f"/couriers?month={month_text(m)}"} for m, rs in by_month.items()]
    return {"total": f"{sum(Decimal(m['total']) for m in months):.2f}",
            "parcels": sum(r["parcels"] for rs in by_month.values() for r in rs), "months": months}


def technicians(uow: UnitOfWork, f: Filters) -> dict[str, Any]:
    """Technician output and labour (the bench): per technician, repair cards decided in the
    window (units done at the bench) and labour hours of sessions started in the window and ended
    (Σ ended − started)."""
    w = _window(uow, f)
    card_conds = [_in(RepairCard.decided_at, w), RepairCard.technician_id.is_not(None)]
    lab_conds = [_in(LabourSession.started_at, w), LabourSession.ended_at.is_not(None)]
    if f.model:
        model_id = _model_id(f)
        card_conds.append(RepairCard.model_id == model_id)
        lab_conds.append(LabourSession.visit_id.in_(select(RepairCard.visit_id).where(RepairCard.model_id == model_id)))
    if f.customer:
        of_customer = select(Visit.id).where(Visit.customer_id == _customer_id(f))
        card_conds.append(RepairCard.visit_id.in_(of_customer))
        lab_conds.append(LabourSession.visit_id.in_(of_customer))
    done = dict(uow.session.execute(select(RepairCard.technician_id, func.count()).where(*card_conds)
                                    .group_by(RepairCard.technician_id)).all())
    hours = dict(uow.session.execute(
        select(LabourSession.technician_id,
               func.sum(_days(uow, LabourSession.ended_at, LabourSession.started_at)) * 24)
        .where(*lab_conds).group_by(LabourSession.technician_id)).all())
    names = dict(uow.session.execute(select(User.id, User.username).where(User.id.in_(set(done) | set(hours))))
                 .all()) if done or hours else {}
    rows = sorted(({"technician": names[t], "units": int(done.get(t, 0)), "hours": round(float(hours.get(t) or 0), 2)}
                   for t in set(done) | set(hours)), key=lambda r: (-r["units"], r["technician"]))
    return {"rows": rows, "units": sum(r["units"] for r in rows), "hours": round(sum(r["hours"] for r in rows), 2)}


# ---------------------------------------------------------------- every figure at once

FIGURES: dict[str, Callable[[UnitOfWork, Filters], dict[str, Any]]] = {
    "units": units, "wip": wip, "turnaround": turnaround, "quality": quality, "testing": testing,
    "interceptions": interceptions, "parts": parts, "programming": programming, "couriers": couriers,
    "technicians": technicians,
}


def without_jit(uow: UnitOfWork) -> None:
    """PostgreSQL compiles a statement whose estimated cost is high (JIT): 100-150 ms for each
    figure's query, more than the query itself takes on its index ranges. Off for this transaction."""
    if uow.session.get_bind().dialect.name == "postgresql":
        uow.session.execute(text("SET LOCAL jit = off"))


def no_parallel_workers(uow: UnitOfWork) -> None:
    """PostgreSQL runs a big scan in parallel worker processes. The figures already keep the
    cores busy with their own connections; workers on top of them only made them wait for each
    other (a year at a million visits, 2 cores: 5.1 s with workers, 4.4-4.6 s without)."""
    if uow.session.get_bind().dialect.name == "postgresql":
        uow.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


# the slowest first, so the last figure to start is a short one (a year at a million visits:
# parts ≈ 1.7-4 s, turnaround and testing ≈ 1.2 s, couriers and technicians ≈ 0.9, a Pareto ≈ 0.6)
SLOWEST_FIRST = ("parts", "turnaround", "testing", "couriers", "technicians", "quality", "pareto",
                 "units", "wip", "interceptions", "programming")
CONNECTIONS = 2  # the figures' queries run on this many connections at once


def _second_connection(uow: UnitOfWork) -> bool:
    """Whether another connection sees what ``uow`` sees: not for an in-memory SQLite database
    (a second connection would be another, empty database)."""
    url = uow.session.get_bind().url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


def all_figures(uow: UnitOfWork, f: Filters, *, paretos: tuple[str, ...] = PARETO_BY,
                trend_months: int = 0, connections: int = CONNECTIONS) -> dict[str, Any]:
    """Every figure of the window (what the monthly report prints); the dashboard asks only for
    the Pareto it shows, and for the turnaround trend of ``trend_months`` months to the window's
    last (``turnaround.trend``).

    The figures are independent queries, each one range of an index. They run on ``connections``
    connections at once (``uow``'s and read-only ones of their own, each its own transaction),
    slowest first: the database works on two cores while Python waits (a year at a million
    visits, SQLite: 7.8 s one after the other, 4.4 s on two). The other connections see what is
    committed, so ``uow`` must have written nothing it has not committed (the figures only read).
    Each figure reads one consistent state; two figures may read states a commit apart, as they
    do on PostgreSQL's read committed. An in-memory SQLite database has one connection."""
    jobs: list[tuple[str, Callable[[UnitOfWork], Any]]] = [
        (name, (lambda u: turnaround(u, f, trend_months=trend_months)) if name == "turnaround"
         else (lambda u, figure=figure: figure(u, f))) for name, figure in FIGURES.items()]
    jobs += [(f"pareto {by}", lambda u, by=by: pareto(u, f, by)) for by in paretos]
    jobs.sort(key=lambda job: SLOWEST_FIRST.index(job[0].split()[0]))
    results = _run_on_connections(uow, jobs, connections if _second_connection(uow) else 1)
    out: dict[str, Any] = {"filters": f.as_dict()}
    out.update((name, results[name]) for name in FIGURES)
    out["pareto"] = {by: results[f"pareto {by}"] for by in paretos}
    return out


def _run_on_connections(uow: UnitOfWork, jobs: list[tuple[str, Callable[[UnitOfWork], Any]]],
                        connections: int) -> dict[str, Any]:
    """Each job's result by name; ``uow`` takes jobs in this thread and each of ``connections - 1``
    threads takes them on a read-only unit of work of its own, from one queue in order."""
    pending = iter(jobs)
    lock = threading.Lock()
    results: dict[str, Any] = {}
    failed = threading.Event()  # a figure failed: nobody starts another

    def work(u: UnitOfWork) -> None:
        try:
            without_jit(u)
            if connections > 1:
                no_parallel_workers(u)
            while not failed.is_set():
                with lock:
                    job = next(pending, None)
                if job is None:
                    return
                results[job[0]] = job[1](u)
        except BaseException:
            failed.set()
            raise

    def own_connection() -> None:
        readonly = uow.session.get_bind().execution_options(rma_readonly=True)
        with UnitOfWork(Session(readonly), uow.clock) as u:
            work(u)

    if connections <= 1:
        work(uow)
        return results
    with ThreadPoolExecutor(connections - 1, thread_name_prefix="figures") as pool:
        helpers = [pool.submit(own_connection) for _ in range(connections - 1)]
        try:
            work(uow)
        finally:
            errors = [h.exception() for h in helpers]
    for error in errors:
        if error is not None:
            raise error
    return results
