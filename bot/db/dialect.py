"""Statements that differ between SQLite and PostgreSQL (INSERT .. ON CONFLICT)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

_T = TypeVar("_T")


def _insert_for(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415

        return insert
    from sqlalchemy.dialects.sqlite import insert  # noqa: PLC0415

    return insert


def dialect_insert(session: AsyncSession) -> Any:
    """The dialect's INSERT construct, which knows ON CONFLICT on SQLite and PostgreSQL alike."""
    return _insert_for(session.get_bind().dialect.name)


_BUILT: dict[tuple[str, Callable[[Any], Any]], Any] = {}


def dialect_statement(session: AsyncSession, build: Callable[[Any], _T]) -> _T:
    """`build(insert)` with the dialect's INSERT construct, built once per dialect.

    For statements on the path of every update: building a statement (and its cache key) costs
    more than running it. `build` must be a module-level function; its parameters are passed at
    execution.
    """
    dialect = session.get_bind().dialect.name
    statement = _BUILT.get((dialect, build))
    if statement is None:
        statement = _BUILT[(dialect, build)] = build(_insert_for(dialect))
    return statement
