"""Long id lists in statements: at most IN_CHUNK binds per `IN (...)`.

PostgreSQL (asyncpg) refuses a statement with more than 32,767 parameters and SQLite's limit may
be lower; a list that grows with the member count is split instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

_T = TypeVar("_T")

IN_CHUNK = 1000


def chunked(values: Iterable[_T], size: int = IN_CHUNK) -> Iterator[list[_T]]:
    """`values` in lists of at most `size`, in order."""
    it = iter(values)
    while chunk := list(islice(it, size)):
        yield chunk
