"""Members: recording who the bot has met, finding them again, their language and reachability."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Member

# last_seen_at is for "who is still around", not an audit trail: refreshing it at most hourly
# keeps a chatty member from costing a write on every single message.
LAST_SEEN_RESOLUTION = timedelta(hours=1)
FIRST_NAME_MAX = 64
USERNAME_MAX = 32


@dataclass(frozen=True, slots=True)
class Sighting:
    """What an update tells about its sender."""

    user_id: int
    first_name: str
    username: str | None
    language_code: str | None


def _normalise_username(username: str | None) -> str | None:
    return username.lower()[:USERNAME_MAX] if username else None


async def record_sighting(
    session: AsyncSession, sighting: Sighting, now: datetime
) -> tuple[Member, bool]:
    """Create or refresh the member seen in an update; returns (member, whether anything changed).

    Nothing is written when nothing changed. A username now held by this member is taken away from
    anyone who had it before, so @username look-ups stay unambiguous.
    """
    first_name = (sighting.first_name or "?")[:FIRST_NAME_MAX]
    username = _normalise_username(sighting.username)
    language = (sighting.language_code or None) and sighting.language_code[:16]
    member = await session.get(Member, sighting.user_id)
    if member is None:
        member = Member(
            id=sighting.user_id,
            first_name=first_name,
            username=username,
            telegram_language=language,
            reachable=True,
            created_at=now,
            last_seen_at=now,
        )
        session.add(member)
        member.roles = []
        if username:
            await _release_username(session, username, keep=sighting.user_id)
        return member, True

    changed = False
    if member.first_name != first_name:
        member.first_name = first_name
        changed = True
    if member.username != username:
        member.username = username
        changed = True
        if username:
            await _release_username(session, username, keep=member.id)
    if member.telegram_language != language:
        member.telegram_language = language
        changed = True
    if now - member.last_seen_at >= LAST_SEEN_RESOLUTION:
        member.last_seen_at = now
        changed = True
    return member, changed


async def _release_username(session: AsyncSession, username: str, *, keep: int) -> None:
    await session.execute(
        update(Member)
        .where(Member.username == username, Member.id != keep)
        .values(username=None)
        .execution_options(synchronize_session="fetch")
    )


async def find_member(session: AsyncSession, reference: str) -> Member | None:
    """A member by "@username", "username" or numeric Telegram id, as an admin would type it."""
    text = reference.strip()
    if text.lstrip("-").isdigit():
        return await session.get(Member, int(text))
    name = _normalise_username(text.removeprefix("@"))
    if not name:
        return None
    return await session.scalar(select(Member).where(Member.username == name))


async def get_member(session: AsyncSession, member_id: int) -> Member | None:
    """The member with this Telegram id, if the bot has met them."""
    return await session.get(Member, member_id)


async def set_language(session: AsyncSession, member: Member, locale: str) -> bool:
    """Store the member's chosen language; returns whether it changed. The caller commits."""
    if member.language == locale:
        return False
    member.language = locale
    return True


async def set_reachable(session: AsyncSession, member_id: int, reachable: bool) -> bool:
    """Mark whether the bot can message this member (False after they block it)."""
    member = await session.get(Member, member_id)
    if member is None or member.reachable == reachable:
        return False
    member.reachable = reachable
    return True
