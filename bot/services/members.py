"""Members: recording who the bot has met, finding them again, their language and reachability."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, inspect, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from bot.db.chunks import chunked
from bot.db.dialect import dialect_statement
from bot.db.fsm_storage import FSM_TABLE, FSM_WHERE_KEY
from bot.services.leases import this_process
from bot.services.updates import claim_statement, claim_update
from models import GroupHost, Member, MemberRole, ProcessedUpdate, Profile
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


# Statements built once: building one costs more than running it, and these run per update.
# What the bookkeeping needs to know about the sender, in one query that always returns a row:
# the member with their profile (NULL when the bot never met them; the profile is joined by its
# mapping), whether there are role rows to load (few members have any), and whether the KV's
# setup names them as a host (by id or @username; a NULL username matches nothing).
_ONE_ROW = select(literal(1).label("one")).subquery("one_row")
_HAS_ROLES = exists().where(MemberRole.member_id == Member.id).label("has_roles")
_NAMED_HOST = (
    exists()
    .where(
        or_(
            GroupHost.telegram_id == bindparam("user_id"), GroupHost.username == bindparam("handle")
        )
    )
    .label("named_host")
)
_PROBE = (
    select(Member, _HAS_ROLES, _NAMED_HOST)
    .select_from(_ONE_ROW)
    .outerjoin(Member, Member.id == bindparam("user_id"))
    # Loaded below when has_roles says there are any.
    .options(lazyload(Member.roles))
)


def _probe_statement(insert: Any, *, claim: bool, fsm: bool) -> Any:
    """The probe, with the sender's FSM row (`fsm`) and, where the database can put an INSERT
    into a query (PostgreSQL), the claim of the update id (`claim`): one round trip for the
    whole bookkeeping."""
    statement = _PROBE
    if fsm:
        statement = statement.add_columns(
            FSM_TABLE.c.state.label("fsm_state"), FSM_TABLE.c.data.label("fsm_data")
        ).outerjoin(FSM_TABLE, FSM_WHERE_KEY)
    if claim:
        claimed = (
            claim_statement(insert)
            .values(
                update_id=bindparam("update_id"),
                received_at=bindparam("received_at"),
                owner=bindparam("owner"),
            )
            .returning(ProcessedUpdate.update_id)
            .cte("claim")
        )
        statement = statement.add_columns(
            exists(select(claimed)).label("claimed")  # data-modifying CTEs always run, once
        )
    return statement


def _probe_with_claim_and_fsm(insert: Any) -> Any:
    return _probe_statement(insert, claim=True, fsm=True)


def _probe_with_claim(insert: Any) -> Any:
    return _probe_statement(insert, claim=True, fsm=False)


def _probe_with_fsm(insert: Any) -> Any:
    return _probe_statement(insert, claim=False, fsm=True)


def _probe_alone(insert: Any) -> Any:
    return _probe_statement(insert, claim=False, fsm=False)


_PROBES = {
    (True, True): _probe_with_claim_and_fsm,
    (True, False): _probe_with_claim,
    (False, True): _probe_with_fsm,
    (False, False): _probe_alone,
}
# The member with roles and profile, when a concurrent update inserted them meanwhile.
_LOAD_MEMBER = (
    select(Member).where(Member.id == bindparam("member_id")).options(selectinload(Member.roles))
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


async def _load_member(session: AsyncSession, member_id: int) -> Member:
    return (await session.execute(_LOAD_MEMBER, {"member_id": member_id})).scalar_one()


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
        # Every column, so the object needs no load (a pause is read on /einstellungen).
        "paused_until": None,
    }
    connection = await session.connection()
    result = await connection.execute(dialect_statement(session, _insert_new_member), values)
    return _as_loaded(session, values) if result.rowcount else None


@dataclass(frozen=True, slots=True)
class UpdateSeen:
    """What see_update found: whether the update is new, the sender, their FSM row."""

    claimed: bool
    member: Member
    changed: bool
    # The sender's FSM row as read with the member (None, None: no row); only when asked for.
    fsm_state: str | None = None
    fsm_data: dict[str, Any] | None = None


async def see_update(
    session: AsyncSession,
    update_id: int,
    sighting: Sighting,
    now: datetime,
    *,
    always_identified: Collection[int] = (),
    fsm_key: dict[str, Any] | None = None,
) -> UpdateSeen:
    """Claim the update id for this process, and create or refresh its sender (see
    record_sighting), reading the sender's FSM row with them when `fsm_key`
    (bot.db.fsm_storage.key_parameters) is given.

    On PostgreSQL this is one round trip: the claim is an INSERT in the probe's WITH clause.
    SQLite can't put an INSERT into a query, so there the claim is a statement before it. A
    core INSERT .. ON CONFLICT either way: the ORM's unit of work has no "insert unless
    present", and a claim must be atomic. The caller commits (or rolls back a duplicate).
    """
    in_query = session.get_bind().dialect.name == "postgresql"
    owner = this_process().id
    claimed = True if in_query else await claim_update(session, update_id, now, owner=owner)
    parameters: dict[str, Any] = {"update_id": update_id, "received_at": now, "owner": owner}
    row, member, created = await _probe(
        session, sighting, now, claim=in_query, fsm_key=fsm_key, extra=parameters
    )
    if in_query:
        claimed = bool(row.claimed)
    changed = await _refresh(session, member, sighting, now, row, created, always_identified)
    if fsm_key is None:
        return UpdateSeen(claimed, member, changed)
    return UpdateSeen(claimed, member, changed, row.fsm_state, row.fsm_data)


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
    row, member, created = await _probe(session, sighting, now, claim=False, fsm_key=None)
    changed = await _refresh(session, member, sighting, now, row, created, always_identified)
    return member, changed


async def _probe(
    session: AsyncSession,
    sighting: Sighting,
    now: datetime,
    *,
    claim: bool,
    fsm_key: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> tuple[Any, Member, bool]:
    """(the probe's row, the member, whether they were created now)."""
    statement = dialect_statement(session, _PROBES[(claim, fsm_key is not None)])
    parameters = {
        "user_id": sighting.user_id,
        "handle": _normalise_username(sighting.username),
        **(extra or {}),
        **(fsm_key or {}),
    }
    row = (await session.execute(statement, parameters)).one()
    member: Member | None = row.Member
    if member is None:
        language = (sighting.language_code or None) and sighting.language_code[:16]
        inserted = await _insert_member(session, sighting.user_id, language, now)
        if inserted is not None:
            return row, inserted, True
        # Inserted by a concurrent update meanwhile.
        return row, await _load_member(session, sighting.user_id), False
    if "roles" in inspect(member).unloaded:
        if row.has_roles:
            await session.refresh(member, ["roles"])
        else:
            set_committed_value(member, "roles", [])
    return row, member, False


async def _refresh(
    session: AsyncSession,
    member: Member,
    sighting: Sighting,
    now: datetime,
    row: Any,
    created: bool,
    always_identified: Collection[int],
) -> bool:
    """Bring the member's stored name, language and last_seen up to date; whether it changed."""
    language = (sighting.language_code or None) and sighting.language_code[:16]
    changed = created
    # Whether the setup names them a host is asked on first sight and then hourly (with
    # last_seen), so a change in the setup is picked up without every update writing.
    due = created or now - member.last_seen_at >= LAST_SEEN_RESOLUTION
    if (
        member.consented
        or member.roles
        or member.id in always_identified
        or (due and row.named_host)
    ):
        changed = await identify(session, member, sighting.first_name, sighting.username) or changed
    if member.telegram_language != language:
        member.telegram_language = language
        changed = True
    if due and not created:
        member.last_seen_at = now
        changed = True
    return changed


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


# The profile's collections that are not loaded with the member (models.profile).
_ANSWER_COLLECTIONS = ("topics", "activity_types")


async def load_answers(session: AsyncSession, profile: Profile) -> Profile:
    """Load the profile's topics and activity types unless they are loaded already.

    They are lazy="raise" because the update path loads every sender's profile and almost no
    update reads them; whoever reads them calls this first (cheap when already loaded).
    """
    unloaded = inspect(profile).unloaded
    names = [name for name in _ANSWER_COLLECTIONS if name in unloaded]
    if names:
        await session.refresh(profile, names)
    return profile


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
    if changed:
        # Assigning an equal value still marks the member dirty, and the next commit then
        # flushes: a connection checkout and an empty transaction on every /start.
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
