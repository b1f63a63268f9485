"""Where a figure clicks through to: ``/dashboard/list`` with the figure, the bar and the filters."""

from __future__ import annotations

from urllib.parse import urlencode

LIST_PATH = "/dashboard/list"


def drill_url(figure: str, key: str | None = None, *, month: str | None = None, to: str | None = None,
              model: str | None = None, customer: str | None = None) -> str:
    """``month`` alone is one month; with ``to``, the months from ``month`` to ``to``."""
    params = {"figure": figure, "key": key, "month": month, "to": to if to != month else None, "model": model,
              "customer": customer}
    return LIST_PATH + "?" + urlencode({k: v for k, v in params.items() if v})


def report_name(month: str, suffix: str) -> str:
    return f"rma-monthly-report-{month}.{suffix}"
