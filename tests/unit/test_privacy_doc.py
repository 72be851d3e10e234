"""docs/privacy.md, the record of processing a board hands to its data-protection officer, stays
true to the schema: every table is described in it, and it names no table or column that isn't
there (a renamed or removed one fails here, not at the officer's desk)."""

from __future__ import annotations

import re
from pathlib import Path

import models  # noqa: F401  (registers every model with the metadata)
from models.base import Base

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"
# `name` or `table.column` in backticks: what the document uses for tables and columns.
IDENTIFIER = re.compile(r"`([a-z][a-z0-9_]*)(?:\.([a-z][a-z0-9_]*))?`")
# Backticked lower-case names that are no table: the setup file's key and file, an engine
# option, a PostgreSQL tool.
NOT_TABLES = frozenset({"privacy_contact", "kv.yaml", "hide_parameters", "pg_dump"})
# A row of a markdown table whose first cell is one backticked name: a table described.
TABLE_ROW = re.compile(r"^\| `([a-z][a-z0-9_]*)` \|", re.MULTILINE)


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _named() -> list[tuple[str, str | None]]:
    found = []
    for match in IDENTIFIER.finditer(_text()):
        table, column = match.group(1), match.group(2)
        whole = f"{table}.{column}" if column else table
        if whole not in NOT_TABLES:
            found.append((table, column))
    return found


def test_every_table_is_described_in_a_row() -> None:
    described = set(TABLE_ROW.findall(_text()))
    missing = sorted(set(Base.metadata.tables) - described)
    assert missing == [], f"tables without a row in docs/privacy.md: {missing}"


def test_every_table_is_named_in_backticks() -> None:
    named = {table for table, _column in _named()}
    missing = sorted(set(Base.metadata.tables) - named)
    assert missing == [], f"tables docs/privacy.md doesn't name: {missing}"


def test_every_table_and_column_named_exists() -> None:
    tables = Base.metadata.tables
    unknown = sorted(
        {
            f"{table}.{column}" if column else table
            for table, column in _named()
            if table not in tables or (column is not None and column not in tables[table].c)
        }
    )
    assert unknown == [], f"docs/privacy.md names tables or columns that don't exist: {unknown}"


def test_each_table_has_one_row() -> None:
    rows = TABLE_ROW.findall(_text())
    doubled = sorted({name for name in rows if rows.count(name) > 1})
    assert doubled == [], f"tables described twice in docs/privacy.md: {doubled}"
