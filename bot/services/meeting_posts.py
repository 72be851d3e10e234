"""Meetings posted into their group's Telegram chat, and keeping the posts' counts current.

A host or organiser posts a meeting into the chat(s) the KV setup maps to its group; each post
is a MeetingPost row. Every change to the answers bumps the row's `revision`
(meeting_notices.touch_posts); the pacer (jobs.meeting_posts) claims posts whose shown revision
is behind and edits them, at most one edit per chat every EDIT_GAP, so Telegram's 20 messages
per minute per group hold and many answers in a row become one edit.

Claiming is one conditional UPDATE ("dirty, and nothing in this chat edited lately"): on SQLite
the write lock makes it atomic; on PostgreSQL the chat's rows are first locked with FOR UPDATE
SKIP LOCKED (a chat another instance is claiming is skipped this round), so two instances never
edit one chat at once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.services import hosting, rsvp, schedule
from bot.services.errors import DomainError
from bot.services.rsvp import Counts, RsvpError
from models import Meeting, MeetingPost, MeetingStatus, Role, ServedChat

# Telegram takes about 20 messages a minute into one group; edits count too. One edit per chat
# every 3 s stays within that however many answers come in.
EDIT_GAP = timedelta(seconds=3)
# Chats edited per pacer run at most (a run every 2 s keeps well under the overall 30/s).
CHATS_PER_RUN = 20
# Roles that may post any group's meetings; a group's own hosts may post theirs.


class PostError(DomainError, ValueError):
    """A post that can't be made. `reason`: "unknown" (no such meeting, or a forged id),
    "not_allowed" (not a host of the group, nor an organiser), "cancelled", "started",
    "no_chat" (no Telegram chat is mapped to the group)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A chat of the group to post into, with the post already there (if any)."""

    chat_id: int
    title: str
    language: str
    existing: MeetingPost | None


@dataclass(frozen=True, slots=True)
class PostPlan:
    """What posting a meeting involves: the meeting, its counts, and the chats to post into."""

    meeting: Meeting
    counts: Counts
    targets: list[Target]

    @property
    def posted_before(self) -> bool:
        """Whether the meeting is already posted in one of the chats."""
        return any(target.existing is not None for target in self.targets)


@dataclass(frozen=True, slots=True)
class Claim:
    """A post this instance may edit now."""

    meeting_id: int
    chat_id: int
    message_id: int
    language: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a post should show: its meeting and counts as of `revision`."""

    post: MeetingPost
    meeting: Meeting
    counts: Counts
    revision: int


async def _meeting(session: AsyncSession, meeting_id: int) -> Meeting:
    meeting = await schedule.find_meeting(session, meeting_id)
    if meeting is None:
        raise PostError("unknown")
    return meeting


async def plan_post(
    session: AsyncSession,
    *,
    meeting_id: int,
    member_id: int,
    roles: Collection[Role],
    now: datetime,
) -> PostPlan:
    """Check that the member may post the meeting and where it would go.

    Raises PostError: "unknown", "not_allowed" (checked before anything about the meeting is
    told), "cancelled", "started", "no_chat".
    """
    meeting = await _meeting(session, meeting_id)
    if not await hosting.can_manage(
        session, member_id=member_id, member_roles=roles, group=meeting.group
    ):
        raise PostError("not_allowed")
    if meeting.status == MeetingStatus.CANCELLED:
        raise PostError("cancelled")
    if meeting.starts_at <= now:
        raise PostError("started")
    chats = list(
        await session.scalars(
            select(ServedChat)
            .where(ServedChat.group_id == meeting.group_id)
            .order_by(ServedChat.chat_id)
        )
    )
    if not chats:
        raise PostError("no_chat")
    posts = {
        post.chat_id: post
        for post in await session.scalars(
            select(MeetingPost).where(MeetingPost.meeting_id == meeting.id)
        )
    }
    targets = [
        Target(chat.chat_id, chat.title, chat.language, posts.get(chat.chat_id)) for chat in chats
    ]
    counts = (await rsvp.counts(session, [meeting]))[meeting.id]
    return PostPlan(meeting, counts, targets)


async def record_post(
    session: AsyncSession,
    *,
    meeting_id: int,
    chat_id: int,
    message_id: int,
    language: str,
    pinned: bool,
    shown: Counts,
    now: datetime,
) -> MeetingPost:
    """Keep a post just sent (replacing the meeting's earlier post in that chat); the caller
    commits.

    The post shows `shown`; if the answers changed while it was being sent, it is marked out
    of date at once, so the pacer corrects it.
    """
    post = await session.get(MeetingPost, (meeting_id, chat_id), populate_existing=True)
    if post is None:
        post = MeetingPost(meeting_id=meeting_id, chat_id=chat_id)
        session.add(post)
    post.message_id = message_id
    post.language = language
    post.pinned = pinned
    post.revision = 0
    post.shown_revision = 0
    # The post itself was a message into the chat: the first edit waits its turn.
    post.edited_at = now
    post.created_at = now
    await session.flush()
    meeting = await session.get(Meeting, meeting_id)
    if meeting is not None and (await rsvp.counts(session, [meeting]))[meeting_id] != shown:
        post.revision = 1
        await session.flush()
    return post


async def check_answerable(session: AsyncSession, meeting_id: int, *, now: datetime) -> Meeting:
    """The meeting a button under a post names, if it can still be answered.

    Raises RsvpError: "unknown" (also for forged ids), "cancelled", "started".
    """
    try:
        meeting = await _meeting(session, meeting_id)
    except PostError as exc:
        raise RsvpError("unknown") from exc
    if meeting.status == MeetingStatus.CANCELLED:
        raise RsvpError("cancelled")
    if meeting.starts_at <= now:
        raise RsvpError("started")
    return meeting


# --- the pacer ------------------------------------------------------------------------------


def _recently_edited(cutoff: datetime) -> object:
    """Some post in the same chat was edited (or is held back) after `cutoff`."""
    busy = aliased(MeetingPost)
    return (
        exists()
        .where(busy.chat_id == MeetingPost.chat_id, busy.edited_at > cutoff)
        .correlate(MeetingPost)
    )


async def dirty_chats(
    session: AsyncSession, *, now: datetime, gap: timedelta = EDIT_GAP, limit: int = CHATS_PER_RUN
) -> list[int]:
    """Chats with a post out of date whose last edit is at least `gap` ago, longest waiting
    first."""
    cutoff = now - gap
    last_edit = func.max(func.coalesce(MeetingPost.edited_at, MeetingPost.created_at))
    rows = await session.scalars(
        select(MeetingPost.chat_id)
        .where(MeetingPost.shown_revision < MeetingPost.revision, ~_recently_edited(cutoff))
        .group_by(MeetingPost.chat_id)
        .order_by(last_edit, MeetingPost.chat_id)
        .limit(limit)
    )
    return list(rows)


async def claim_edit(
    session: AsyncSession, chat_id: int, *, now: datetime, gap: timedelta = EDIT_GAP
) -> Claim | None:
    """Claim the chat's longest-waiting out-of-date post for one edit now; the caller commits.

    None when there is none, the chat was edited within `gap` (also by another instance), or
    another instance is claiming in this chat right now.
    """
    if session.get_bind().dialect.name == "postgresql":
        locked = list(
            await session.scalars(
                select(MeetingPost.meeting_id)
                .where(MeetingPost.chat_id == chat_id)
                .order_by(MeetingPost.meeting_id)
                .with_for_update(skip_locked=True)
            )
        )
        total = await session.scalar(
            select(func.count()).select_from(MeetingPost).where(MeetingPost.chat_id == chat_id)
        )
        if not locked or len(locked) < int(total or 0):
            return None
    meeting_id = await session.scalar(
        select(MeetingPost.meeting_id)
        .where(MeetingPost.chat_id == chat_id, MeetingPost.shown_revision < MeetingPost.revision)
        .order_by(MeetingPost.edited_at.asc().nulls_first(), MeetingPost.meeting_id)
        .limit(1)
    )
    if meeting_id is None:
        return None
    row = (
        await session.execute(
            update(MeetingPost)
            .where(
                MeetingPost.chat_id == chat_id,
                MeetingPost.meeting_id == meeting_id,
                MeetingPost.shown_revision < MeetingPost.revision,
                ~_recently_edited(now - gap),
            )
            .values(edited_at=now)
            .returning(
                MeetingPost.meeting_id,
                MeetingPost.chat_id,
                MeetingPost.message_id,
                MeetingPost.language,
            )
            .execution_options(synchronize_session=False)
        )
    ).first()
    return Claim(*row) if row is not None else None


async def snapshot(session: AsyncSession, meeting_id: int, chat_id: int) -> Snapshot | None:
    """The post's revision, then its meeting and counts (read in that order, so the counts are
    at least as new as the revision); None when the post is gone."""
    post = await session.get(MeetingPost, (meeting_id, chat_id), populate_existing=True)
    if post is None:
        return None
    revision = post.revision
    meeting = await session.get(Meeting, meeting_id, populate_existing=True)
    if meeting is None:
        return None
    counts = (await rsvp.counts(session, [meeting]))[meeting_id]
    return Snapshot(post, meeting, counts, revision)


async def mark_shown(session: AsyncSession, meeting_id: int, chat_id: int, revision: int) -> None:
    """The post now shows `revision` (never goes back); the caller commits."""
    await session.execute(
        update(MeetingPost)
        .where(
            MeetingPost.meeting_id == meeting_id,
            MeetingPost.chat_id == chat_id,
            MeetingPost.shown_revision < revision,
        )
        .values(shown_revision=revision)
        .execution_options(synchronize_session=False)
    )


async def hold_back(session: AsyncSession, chat_id: int, until: datetime) -> None:
    """Telegram asked to wait (429): no edit in this chat before `until` + the gap; the caller
    commits. The post stays out of date and is edited then."""
    await session.execute(
        update(MeetingPost)
        .where(
            MeetingPost.chat_id == chat_id,
            or_(MeetingPost.edited_at.is_(None), MeetingPost.edited_at < until),
        )
        .values(edited_at=until)
        .execution_options(synchronize_session=False)
    )


async def drop_post(session: AsyncSession, meeting_id: int, chat_id: int) -> None:
    """Forget a post that is gone (deleted in the chat, or the bot was removed); the caller
    commits."""
    await session.execute(
        delete(MeetingPost)
        .where(MeetingPost.meeting_id == meeting_id, MeetingPost.chat_id == chat_id)
        .execution_options(synchronize_session=False)
    )


async def set_pinned(session: AsyncSession, meeting_id: int, chat_id: int, pinned: bool) -> None:
    """Note whether the post is pinned; the caller commits."""
    await session.execute(
        update(MeetingPost)
        .where(MeetingPost.meeting_id == meeting_id, MeetingPost.chat_id == chat_id)
        .values(pinned=pinned)
        .execution_options(synchronize_session=False)
    )
