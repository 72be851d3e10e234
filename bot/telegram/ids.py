"""Ids and numbers that arrive from outside (callback data, /start links, command arguments).

Telegram hands the bot whatever a client sends: a forged button may carry 99999999999999999999,
which Python parses happily and the database refuses (OverflowError on SQLite, "out of int32
range" from asyncpg). Every number is therefore checked against the range of the column it
meets before it reaches a query, and a bad one is treated exactly like a stale one.

Rows' ids are Integer columns: 32-bit on PostgreSQL, so 2^31 - 1 is their limit on both
backends. Telegram's user and chat ids are BigInteger (64-bit).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from models.base import MAX_ID

# The largest id an Integer primary key holds (models.base.valid_id).
INT32_MAX = MAX_ID - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# A row's id, a page, a position, a count: never negative, fits an Integer column.
DbId = Annotated[int, Field(ge=0, le=INT32_MAX)]
# A Telegram user id (members.id is BigInteger), or a number that may need 64 bits.
TelegramId = Annotated[int, Field(ge=0, le=INT64_MAX)]
# A number that may be negative (a step down): compared and clamped, never looked up.
SignedInt = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]

# ASCII digits only: str.isdigit() and int() accept "²" or "٣", which no id contains (and
# int("²") raises).
_NUMBER = re.compile(r"-?[0-9]{1,19}")


def parse_int(text: str | None, *, minimum: int = 0, maximum: int = INT32_MAX) -> int | None:
    """The number `text` spells in ASCII digits (an optional "-", blanks around ignored), or
    None when it is anything else or outside minimum..maximum."""
    if text is None:
        return None
    stripped = text.strip()
    if _NUMBER.fullmatch(stripped) is None:
        return None
    value = int(stripped)
    return value if minimum <= value <= maximum else None


def parse_id(text: str | None) -> int | None:
    """A row's id typed or linked from outside; None when it can't be one."""
    return parse_int(text, minimum=0, maximum=INT32_MAX)


def parse_telegram_id(text: str | None, *, signed: bool = False) -> int | None:
    """A Telegram user id (`signed`: a chat id, negative for groups); None when it can't be one."""
    return parse_int(text, minimum=INT64_MIN if signed else 0, maximum=INT64_MAX)
