"""The figures read a month's visits by the month's range of the closed-at index, even when
SQLite's statistics are the sampled ones a station gets (``Database.refresh_statistics``): those
say each state holds about a hundred visits, and a query that trusted them read every shipped
visit of a million (the year's figures: 22 s instead of 7 s). SQLite only: PostgreSQL keeps real
statistics."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from rma import migrate
from rma.db import Database, make_engine
from rma.inventory import reports
from rma.reports import figures as F

# sqlite_stat1 as `rma db upgrade` left it on a copy of the million-visit fixture (analysis_limit)
SAMPLED = {
    ("visits", "ix_visits_closed_at"): "1025232 1 1 1 1",
    ("visits", "ix_visits_state_opened"): "491064 112 1 1",
    ("visits", "ix_visits_state"): "876148 112",
    ("visits", "ix_visits_opened_at"): "1055808 1",
    ("visits", "ix_visits_unit_id"): "1287104 2",
    ("visits", "ix_visits_customer_opened"): "914004 1001 1 1",
    ("visits", "ix_visits_customer_id"): "1192095 1001",
    ("units", "ix_units_model_id"): "1063104 1001",
    ("product_models", "sqlite_autoindex_product_models_1"): "6 1",
}


@pytest.fixture
def sampled(tmp_path):
    url = f"sqlite:///{tmp_path / 'station.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # makes sqlite_stat1
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
        for (table, index), stat in SAMPLED.items():
            conn.execute(text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:t, :i, :s)"),
                         {"t": table, "i": index, "s": stat})
    engine.dispose()
    db = Database.from_url(url)  # a new connection reads the statistics
    yield db
    db.dispose()


def plans_of(db: Database, run) -> dict[str, str]:  # noqa: ANN001
    """Every SELECT that ``run`` sends, with SQLite's plan for it."""
    sent: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, params, _context, _many):  # noqa: ANN001, ANN202
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.uow(readonly=True) as uow:
            run(uow)
            sent_now = list(sent)
            return {statement: " / ".join(row[-1] for row in uow.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, params)) for statement, params in sent_now}
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)


def test_a_months_and_a_years_figures_read_the_visits_by_when_they_closed(sampled):
    def dashboard(uow):  # noqa: ANN001, ANN202
        for window in ({"month": "2025-06"}, {"date_from": "2024-07", "date_to": "2025-06"}):
            f = F.filters(uow, **window)
            F.all_figures(uow, f, trend_months=12)
            reports.parts_cost(uow, "2025-06")

    plans = plans_of(sampled, dashboard)
    visits = {s: p for s, p in plans.items() if "FROM visits" in s or "JOIN visits" in s}
    assert visits, "the figures read visits"
    # a kept past month is checked from the rows after its marks, never from the month's visits
    late = [p for s, p in visits.items() if "JOIN visits ON visits.id = +" in s]
    assert len(late) >= 2 and all("USING INTEGER PRIMARY KEY (rowid>?)" in p for p in late), late
    for statement, plan in visits.items():
        assert "ix_visits_state" not in plan, f"{plan}\n{statement}"  # never every visit of a state
        if "JOIN units ON units.id = visits.unit_id" in statement:  # never every unit of every model
            assert "SCAN product_models" not in plan and "ix_units_model_id" not in plan, f"{plan}\n{statement}"
        assert not any(step.startswith("SCAN visits") for step in plan.split(" / ")), f"{plan}\n{statement}"
    assert sum("ix_visits_closed_at (closed_at>? AND closed_at<?)" in p for p in visits.values()) >= 5
