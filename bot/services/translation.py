"""gettext for services: the active locale's translation, or the English source text.

Services build messages that reach people in two ways: through the bot, where aiogram's I18n
middleware has set a context with the member's locale, and through the command line or plain
library use, where the caller may set one (`with i18n.context(), i18n.use_locale("de"):`) or
not. Without a context these return the English msgid, so tests and scripts that set none read
English and never fail for want of a catalog.

Import `gettext` as `_` and call it with string literals, so Babel extracts them:
`_("line {line}: {message}")` and, where a count meets a noun, `_(singular, plural, n)`. Fill in
values with .format() after translating.
"""

from __future__ import annotations

from typing import overload

from aiogram.utils.i18n.context import get_i18n

__all__ = ["gettext", "ngettext"]


@overload
def gettext(message: str) -> str: ...


@overload
def gettext(message: str, plural: str, n: int) -> str: ...


def gettext(message: str, plural: str | None = None, n: int = 1) -> str:
    """message in the active locale; with plural and n, the form for n (see ngettext)."""
    if plural is not None:
        return ngettext(message, plural, n)
    try:
        i18n = get_i18n()
    except LookupError:
        return message
    return i18n.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for n in the active locale; without one, English: singular for 1, else plural."""
    try:
        i18n = get_i18n()
    except LookupError:
        return singular if n == 1 else plural
    return i18n.gettext(singular, plural, n)
