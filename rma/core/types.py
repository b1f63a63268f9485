"""Shared column types and ``Annotated`` aliases for the typed models."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Annotated

from sqlalchemy import DateTime, Enum, Integer, String
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back an aware UTC datetime (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
timestamp = Annotated[datetime, mapped_column(UTCDateTime())]
code = Annotated[str, mapped_column(String(32))]
name = Annotated[str, mapped_column(String(200))]


def str_enum(cls: type[enum.Enum]) -> Enum:
    """An enum column stored as its plain string values on both databases (no ALTER TYPE to add one)."""
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])
