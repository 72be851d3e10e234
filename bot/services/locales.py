"""Which language to talk to a member in."""

from __future__ import annotations

from collections.abc import Collection

from models import Member


def resolve_locale(
    chosen: str | None,
    telegram_code: str | None,
    *,
    available: Collection[str],
    default: str,
) -> str:
    """The member's stored choice, else Telegram's language when supported, else the default.

    Telegram sends IETF tags such as "en-GB" or "de"; only the primary language matters here.
    """
    if chosen in available:
        return chosen
    if telegram_code:
        primary = telegram_code.split("-", 1)[0].split("_", 1)[0].lower()
        if primary in available:
            return primary
    return default


def member_locale(member: Member | None, *, available: Collection[str], default: str) -> str:
    """The language for writing to a member outside their own update."""
    return resolve_locale(
        member.language if member else None,
        member.telegram_language if member else None,
        available=available,
        default=default,
    )
