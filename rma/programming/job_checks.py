"""``rma check`` for IC batch jobs: the programming ledger and the parts ledger tell one story.

One set-based query per job text of the parts ledger (a job's moves) against the results of
the job's attempts (its ICs), returning only the jobs that break:

- ``programmed_ic_without_programming``: more ICs of a job were booked good into stock (the
  stores' ``program`` moves out of the programming room) than the job has attempts that ended
  ok and verified with the image's SHA-256: a programmed IC in stock without a good attempt;
- ``ic_job_counts_mismatch``: fewer booked good than verified ok attempts, or scrapped ICs
  (``job_scrap``) other than the failed attempts;
- ``ic_job_over_programmed``: more ICs ended good or failed, or left in progress, than the job
  was issued less what it returned (never more programmed than issued).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text

from rma.core.checks import Violation, register_check
from rma.db import UnitOfWork
from rma.inventory.models import VIRTUAL_CODES, LocationKind

ONE = 1000  # an IC in the parts ledger's thousandths


def _number(dialect: str) -> str:
    if dialect == "postgresql":
        return "('ICJ-' || lpad(CAST(j.id AS text), 6, '0'))"
    return "printf('ICJ-%06d', j.id)"


@register_check
def check_ic_jobs(uow: UnitOfWork) -> Iterator[Violation]:
    s = uow.session
    room = s.execute(text("SELECT id FROM stock_locations WHERE code = :c"),
                     {"c": VIRTUAL_CODES[LocationKind.PROGRAMMING]}).scalar()
    if room is None:
        return
    number = _number(s.get_bind().dialect.name)
    rows = s.execute(text(f"""
        WITH moves AS (
            SELECT m.job,
                   sum(CASE WHEN m.kind = 'program' AND m.from_id = :room THEN sgn * m.qty_milli ELSE 0 END) AS good,
                   sum(CASE WHEN m.kind = 'job_scrap' THEN sgn * m.qty_milli ELSE 0 END) AS failed,
                   sum(CASE WHEN m.kind = 'job_issue' THEN sgn * m.qty_milli ELSE 0 END)
                   - sum(CASE WHEN m.kind = 'job_return' THEN sgn * m.qty_milli ELSE 0 END) AS net
            FROM (SELECT job, kind, from_id, qty_milli,
                         CASE WHEN corrects_id IS NULL THEN 1 ELSE -1 END AS sgn
                  FROM stock_moves WHERE job IS NOT NULL AND (from_id = :room OR to_id = :room)) m
            GROUP BY m.job),
        tries AS (
            SELECT {number} AS job,
                   sum(CASE WHEN r.result = 'ok' AND r.verified AND r.chip_sha256 = a.image_sha256
                            THEN 1 ELSE 0 END) AS good,
                   sum(CASE WHEN r.result = 'failed' THEN 1 ELSE 0 END) AS failed,
                   sum(CASE WHEN r.attempt_id IS NULL THEN 1 ELSE 0 END) AS busy,
                   min(ja.attempt_id) AS first_attempt
            FROM ic_jobs j
            JOIN ic_job_attempts ja ON ja.job_id = j.id
            JOIN programming_attempts a ON a.id = ja.attempt_id
            LEFT JOIN programming_results r ON r.attempt_id = ja.attempt_id
            GROUP BY j.id)
        SELECT coalesce(m.job, t.job), coalesce(m.good, 0), coalesce(m.failed, 0), coalesce(m.net, 0),
               coalesce(t.good, 0), coalesce(t.failed, 0), coalesce(t.busy, 0), t.first_attempt
        FROM moves m FULL OUTER JOIN tries t ON t.job = m.job
        WHERE coalesce(m.good, 0) <> coalesce(t.good, 0) * {ONE}
           OR coalesce(m.failed, 0) <> coalesce(t.failed, 0) * {ONE}
           OR (coalesce(t.good, 0) + coalesce(t.failed, 0) + coalesce(t.busy, 0)) * {ONE} > coalesce(m.net, 0)
        """), {"room": room}).all()
    for job, booked_good, booked_failed, net, good, failed, busy, first in rows:
        attempts = (first,) if first else ()
        if booked_good > good * ONE:
            yield Violation("programmed_ic_without_programming", job,
                            f"job {job} booked {booked_good // ONE} programmed IC(s) into stock, but only {good} of "
                            f"its attempts ended ok and verified: a programmed IC in stock has no good attempt "
                            f"behind it", "stock_moves", attempts)
        elif booked_good != good * ONE or booked_failed != failed * ONE:
            yield Violation("ic_job_counts_mismatch", job,
                            f"job {job}: the parts ledger has {booked_good // ONE} good and {booked_failed // ONE} "
                            f"scrapped, its attempts {good} verified good and {failed} failed",
                            "ic_job_attempts", attempts)
        if (good + failed + busy) * ONE > net:
            yield Violation("ic_job_over_programmed", job,
                            f"job {job} has {good} good, {failed} failed and {busy} in progress, more than the "
                            f"{net // ONE} IC(s) it was issued (less returns)", "ic_job_attempts", attempts)
