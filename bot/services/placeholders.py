"""Placeholders in texts organisers write (the welcome): one rule wherever the text comes from."""

from __future__ import annotations

import string
from collections.abc import Collection

# What a custom welcome may contain: the newcomers' names and the KV's name.
WELCOME_PLACEHOLDERS = ("names", "kv")


def unknown_placeholder(text: str, allowed: Collection[str]) -> str | None:
    """The first placeholder not in `allowed` (as written, e.g. "{name:>5}"), or None.

    Raises ValueError for unbalanced braces; literal braces are written {{ and }}.
    """
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "")
            return shown + (f":{spec}" if spec else "") + "}"
    return None
