"""Members: recording who the bot has met, finding them again, their language and reachability."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import GroupHost, Member

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
    session: AsyncSession,
    sighting: Sighting,
    now: datetime,
    *,
    always_identified: Collection[int] = (),
) -> tuple[Member, bool]:
    """Create or refresh the member seen in an update; returns (member, whether anything changed).

    Without consent the bot keeps nothing beyond the Telegram id and language: name and username
    are stored only for members who agreed, hold a role, or are listed in `always_identified`
    (ADMIN_IDS). Nothing is written when nothing changed.
    """
    language = (sighting.language_code or None) and sighting.language_code[:16]
    member = await session.get(Member, sighting.user_id)
    created = member is None
    if member is None:
        member = Member(
            id=sighting.user_id,
            telegram_language=language,
            reachable=True,
            created_at=now,
            last_seen_at=now,
        )
        # Set, not loaded: a lazy load on a pending object would need IO outside await.
        member.roles = []
        member.profile = None
        session.add(member)
    changed = created
    # The host lookup is a query; asking on first sight and then hourly (with last_seen) keeps
    # it off the path of every single update.
    due = created or now - member.last_seen_at >= LAST_SEEN_RESOLUTION
    if (
        member.consented
        or member.roles
        or member.id in always_identified
        or (due and await _is_named_host(session, member.id, sighting.username))
    ):
        changed = await identify(session, member, sighting.first_name, sighting.username) or changed
    if member.telegram_language != language:
        member.telegram_language = language
        changed = True
    if due and not created:
        member.last_seen_at = now
        changed = True
    return member, changed


async def _is_named_host(session: AsyncSession, user_id: int, username: str | None) -> bool:
    """Whether the KV's setup names this person as a host (by id or @username).

    Hosts run groups on the KV's behalf; their name is needed to tell them apart and their
    username to find them, so they are identified like role holders.
    """
    handle = _normalise_username(username)
    condition = GroupHost.telegram_id == user_id
    if handle:
        condition = or_(condition, GroupHost.username == handle)
    return await session.scalar(select(exists().where(condition))) or False


async def identify(
    session: AsyncSession, member: Member, first_name: str | None, username: str | None
) -> bool:
    """Store the member's name and username (after consent, or for role holders).

    A username now held by this member is taken away from anyone who had it before, so
    @username look-ups stay unambiguous. Returns whether anything changed.
    """
    name = (first_name or "?")[:FIRST_NAME_MAX]
    handle = _normalise_username(username)
    changed = False
    if member.first_name != name:
        member.first_name = name
        changed = True
    if member.username != handle:
        member.username = handle
        changed = True
        if handle:
            await _release_username(session, handle, keep=member.id)
    return changed


def forget_identity(member: Member) -> bool:
    """Drop name and username (consent withdrawn); returns whether anything changed."""
    if member.first_name is None and member.username is None:
        return False
    member.first_name = None
    member.username = None
    return True


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
