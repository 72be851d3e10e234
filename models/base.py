"""Declarative base, constraint naming convention, the UTC timestamp and enum column types."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Enum, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names keep Alembic's autogenerate and downgrades predictable on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always stored and returned as aware UTC.

    SQLite has no time zone type, so naive values there are read back as UTC; refusing naive
    input keeps local times from sneaking into the database.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; store aware UTC values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Ids of INTEGER primary keys; buttons and links carry any number a forger likes, and one past
# what the column holds must be "unknown", not a database error.
MAX_ID = 2**31


def valid_id(value: int) -> bool:
    """Whether `value` can be the id of a row (a button's or link's id is checked first)."""
    return 0 < value < MAX_ID


def utcnow() -> datetime:
    """The current time as aware UTC."""
    return datetime.now(UTC)


def text_enum(kind: type[enum.StrEnum], name: str) -> Enum:
    """An enum column stored as its values in a short VARCHAR, the same on SQLite and PostgreSQL.

    Not a native PostgreSQL enum: adding a value then needs no type migration.
    """
    return Enum(
        kind,
        name=name,
        native_enum=False,
        length=16,
        validate_strings=True,
        values_callable=lambda values: [value.value for value in values],
    )
