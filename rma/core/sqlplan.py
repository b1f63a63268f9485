"""What a query tells SQLite's planner when its statistics cannot be trusted.

``rma`` gives SQLite sampled statistics (``Database.refresh_statistics``: ``analysis_limit``
reads the first entries of each index), which say that each of a visit's few states holds a
hundred rows. A query that asks for the visits closed in a month *as shipped or refurbished*
then reads every shipped visit through the state index, instead of the month's range of the
closed-at index (1.5 s instead of 0.1 s at a million visits). ``unindexed(column)`` keeps a
condition off the column's indexes on SQLite (``+column``, SQLite's documented way) and is the
column itself on PostgreSQL, whose statistics are real.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class unindexed(ColumnElement):  # noqa: N801 - used like a SQL function
    """The column, not to be looked up by its own indexes (SQLite); the range of another index is."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(unindexed)
def _plain(element: unindexed, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(unindexed, "sqlite")
def _sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)
