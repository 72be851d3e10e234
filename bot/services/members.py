"""Members: recording who the bot has met, finding them again, their language and reachability."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, make_transient_to_detached

from bot.db.chunks import chunked
from bot.db.dialect import dialect_statement
from models import GroupHost, Member, MemberRole, Profile
from models.base import utcnow

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


_MEMBERS = Member.__table__
# Statements built once: building one costs more than running it, and these run per update.
# What the bookkeeping needs to know about the sender, in one query that always returns a row:
# their member row (NULLs when the bot never met them), whether there are profile or role rows
# to load, and whether the KV's setup names them as a host (by id or @username; a NULL
# username matches nothing).
_ONE_ROW = select(literal(1).label("one")).subquery("one_row")
_PROBE = select(
    *_MEMBERS.c,
    exists().where(Profile.member_id == _MEMBERS.c.id).label("has_profile"),
    exists().where(MemberRole.member_id == _MEMBERS.c.id).label("has_roles"),
    exists()
    .where(
        or_(
            GroupHost.telegram_id == bindparam("user_id"), GroupHost.username == bindparam("handle")
        )
    )
    .label("named_host"),
).select_from(_ONE_ROW.outerjoin(_MEMBERS, _MEMBERS.c.id == bindparam("user_id")))
# The member with roles and profile, for those who have any; the roles joined into the same
# query (the mapping would load them with a second SELECT).
_LOAD_MEMBER = (
    select(Member).where(Member.id == bindparam("member_id")).options(joinedload(Member.roles))
)


def _insert_new_member(insert: Any) -> Any:
    return insert(Member).on_conflict_do_nothing(index_elements=["id"])


def _normalise_username(username: str | None) -> str | None:
    return username.lower()[:USERNAME_MAX] if username else None


def _as_loaded(session: AsyncSession, values: dict[str, Any]) -> Member:
    """A member without profile and roles, put into the session as if loaded from `values`.

    The ORM's own loading (and, for a new member, its unit of work) costs many times the query;
    for a member with nothing but their row the result is the same object.
    """
    member = Member(**values)
    # Set, not loaded: a lazy load would need IO outside await.
    member.roles = []
    member.profile = None
    make_transient_to_detached(member)
    session.add(member)
    return member


def _in_session(session: AsyncSession, member_id: int) -> Member | None:
    identity = Member.__mapper__.identity_key_from_primary_key((member_id,))
    known = session.sync_session.identity_map.get(identity)
    return known if isinstance(known, Member) else None


async def _load_member(session: AsyncSession, member_id: int) -> Member:
    result = await session.execute(_LOAD_MEMBER, {"member_id": member_id})
    return result.unique().scalar_one()


async def _insert_member(
    session: AsyncSession, member_id: int, language: str | None, now: datetime
) -> Member | None:
    """Insert a member seen for the first time; None when a concurrent update was first."""
    values = {
        "id": member_id,
        "first_name": None,
        "username": None,
        "language": None,
        "telegram_language": language,
        "reachable": True,
        "created_at": now,
        "last_seen_at": now,
        "departed_at": None,
    }
    connection = await session.connection()
    result = await connection.execute(dialect_statement(session, _insert_new_member), values)
    return _as_loaded(session, values) if result.rowcount else None


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
    connection = await session.connection()
    probe = (
        await connection.execute(
            _PROBE,
            {"user_id": sighting.user_id, "handle": _normalise_username(sighting.username)},
        )
    ).one()
    created = False
    member = _in_session(session, sighting.user_id)
    if member is not None:
        pass  # loaded earlier in this session, as session.get would return it
    elif probe.id is None:
        member = await _insert_member(session, sighting.user_id, language, now)
        created = member is not None
        if member is None:  # inserted by a concurrent update meanwhile
            member = await _load_member(session, sighting.user_id)
    elif probe.has_profile or probe.has_roles:
        member = await _load_member(session, sighting.user_id)
    else:
        row = probe._mapping
        member = _as_loaded(session, {column.key: row[column] for column in _MEMBERS.c})
    changed = created
    # Whether the setup names them a host is asked on first sight and then hourly (with
    # last_seen), so a change in the setup is picked up without every update writing.
    due = created or now - member.last_seen_at >= LAST_SEEN_RESOLUTION
    if (
        member.consented
        or member.roles
        or member.id in always_identified
        or (due and probe.named_host)
    ):
        changed = await identify(session, member, sighting.first_name, sighting.username) or changed
    if member.telegram_language != language:
        member.telegram_language = language
        changed = True
    if due and not created:
        member.last_seen_at = now
        changed = True
    return member, changed


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
    """Mark whether the bot can message this member (False after they block it); blocking
    also marks them departed (members.departed_at), unblocking clears that."""
    member = await session.get(Member, member_id)
    if member is None:
        return False
    changed = member.reachable != reachable
    member.reachable = reachable
    # Blocking the bot is leaving it (retention counts from here); unblocking is coming back.
    if not reachable and member.departed_at is None:
        member.departed_at = utcnow()
        changed = True
    elif reachable and member.departed_at is not None:
        member.departed_at = None
        changed = True
    return changed


async def members_by_id(session: AsyncSession, member_ids: Collection[int]) -> dict[int, Member]:
    """The members among `member_ids` the bot knows, by id (one query)."""
    if not member_ids:
        return {}
    found: dict[int, Member] = {}
    for chunk in chunked(member_ids):
        rows = await session.scalars(select(Member).where(Member.id.in_(chunk)))
        found.update((member.id, member) for member in rows)
    return found
