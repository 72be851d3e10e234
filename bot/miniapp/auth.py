"""Who is asking: Telegram's initData checked with the bot token, its age, and the role.

Telegram signs the Mini App's launch data (initData) with a key derived from the bot token;
only Telegram and the bot know it. aiogram checks the signature
(aiogram.utils.web_app.safe_parse_webapp_init_data); a signed initData is still replayable
by whoever got hold of it, so its auth_date must be recent too (MINIAPP_MAX_AGE_SECONDS).
The role comes from the database on every request, so a revoked organiser is refused at once.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from datetime import datetime, timedelta

from aiogram.utils.web_app import WebAppUser, safe_parse_webapp_init_data
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.members import get_member
from bot.services.roles import allows, effective_roles
from models import Member, Role

# How the page sends initData: "Authorization: tma <initData>" (the scheme Telegram's docs use).
SCHEME = "tma"
# initData is a few hundred characters; anything much longer is not Telegram's.
MAX_INIT_DATA_LENGTH = 4096
# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = timedelta(minutes=5)
# Who may open the dashboard (admins may do everything: bot.services.roles.allows).
DASHBOARD_ROLES = frozenset({Role.ORGANISER})


class Refusal(enum.StrEnum):
    """Why a request was refused; the code the page shows a text for."""

    MISSING = "missing"  # no initData at all
    INVALID = "invalid"  # malformed, or the signature doesn't match
    EXPIRED = "expired"  # signed, but too old (or from the future)
    FORBIDDEN = "forbidden"  # a real member, but not an organiser

    @property
    def status(self) -> int:
        """The HTTP status: 403 for a known person without the role, 401 otherwise."""
        return 403 if self is Refusal.FORBIDDEN else 401


class AuthError(Exception):
    """The request is refused for `reason`; `user` when the signature was genuine."""

    def __init__(self, reason: Refusal, user: WebAppUser | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.user = user


def init_data_from_header(value: str | None) -> str | None:
    """The initData in an "Authorization: tma <initData>" header (None: no such header)."""
    if not value:
        return None
    scheme, _, data = value.strip().partition(" ")
    if scheme.lower() != SCHEME or not data.strip():
        return None
    return data.strip()


def verify_init_data(
    init_data: str | None, *, token: str, now: datetime, max_age: timedelta
) -> WebAppUser:
    """The user of a genuine, recent initData; AuthError otherwise.

    Genuine: Telegram's HMAC-SHA256 signature over the other fields checks out with `token`.
    Recent: auth_date no older than `max_age` and no later than a few minutes ahead of `now`.
    """
    if not init_data:
        raise AuthError(Refusal.MISSING)
    if len(init_data) > MAX_INIT_DATA_LENGTH:
        raise AuthError(Refusal.INVALID)
    try:
        parsed = safe_parse_webapp_init_data(token, init_data)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # A bad signature, a query string that doesn't parse, or a user field that isn't a
        # user (pydantic's ValidationError is a ValueError too).
        raise AuthError(Refusal.INVALID) from exc
    if parsed.user is None:
        raise AuthError(Refusal.INVALID)
    age = now - parsed.auth_date
    if age > max_age or age < -CLOCK_SKEW:
        raise AuthError(Refusal.EXPIRED, parsed.user)
    return parsed.user


async def dashboard_viewer(
    session: AsyncSession, user_id: int, *, admin_ids: Collection[int]
) -> Member | None:
    """The member behind `user_id` if they may see the dashboard; AuthError(FORBIDDEN) if not.

    Organisers and admins (stored, or configured in ADMIN_IDS) may. An admin from ADMIN_IDS the
    bot hasn't met yet is let in too, without a Member (None).
    """
    member = await get_member(session, user_id)
    stored = member.role_set if member is not None else ()
    if not allows(effective_roles(user_id, stored, admin_ids), DASHBOARD_ROLES):
        raise AuthError(Refusal.FORBIDDEN)
    return member
