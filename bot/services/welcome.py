"""Welcoming newcomers in the KV's Telegram groups: where, whom, when, and with which text.

Free of Telegram: handlers turn updates into `Joiner` values, ask `WelcomeBook.plan` what to do,
render it and report back what they posted.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.placeholders import WELCOME_PLACEHOLDERS, unknown_placeholder
from models import ServedChat

logger = logging.getLogger(__name__)

# Joins this soon after a welcome was posted are added to it instead of getting their own.
BATCH_WINDOW = timedelta(seconds=60)
# A welcome naming more people is a list nobody reads; the next join starts a new welcome.
MAX_NAMES = 20
# Organisers type the text in a group chat; the setup file allows longer ones
# (kv_setup.LONG_TEXT_LENGTH), which is why rendering still checks Telegram's limit.
MAX_TEXT_LENGTH = 1000
# Telegram's limit for the visible text of a message, in UTF-16 code units.
MESSAGE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Joiner:
    """Someone who just joined a group (never a bot)."""

    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class WelcomePlan:
    """What to do for new joiners.

    `joiners` are everyone the welcome names, `new` those not greeted before. With
    `edit_message_id` the recent welcome is extended; otherwise a new one is posted and
    `delete_message_id`, the previous welcome, removed afterwards.
    """

    joiners: tuple[Joiner, ...]
    new: tuple[Joiner, ...]
    edit_message_id: int | None = None
    delete_message_id: int | None = None

    def as_new_post(self) -> WelcomePlan:
        """The fallback when extending failed (e.g. an admin deleted that welcome): post anew."""
        return replace(
            self, joiners=self.new, edit_message_id=None, delete_message_id=self.edit_message_id
        )


@dataclass(frozen=True, slots=True)
class _Posted:
    message_id: int
    posted_at: datetime
    joiners: tuple[Joiner, ...]


class WelcomeBook:
    """Remembers, per chat, when the last welcome was posted and whom it names.

    Only the message id is stored (ServedChat.last_welcome_message_id); the time and the names
    live in this process. After a restart the next join therefore posts a new welcome (and
    deletes the old one) instead of extending it, which is harmless.
    """

    def __init__(self, *, window: timedelta = BATCH_WINDOW, max_names: int = MAX_NAMES) -> None:
        self._window = window
        self._max_names = max_names
        self._posted: dict[int, _Posted] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def lock(self, chat_id: int) -> asyncio.Lock:
        """Held from planning until the welcome is stored, so joins at once share one welcome."""
        return self._locks.setdefault(chat_id, asyncio.Lock())

    def plan(
        self, chat: ServedChat, joiners: Iterable[Joiner], now: datetime
    ) -> WelcomePlan | None:
        """What to post for `joiners` in `chat` at `now`; None when nobody needs a welcome.

        Someone already named in the recent welcome is not greeted again: where the bot is an
        admin, Telegram reports a join twice (chat_member and the service message).
        """
        unique = tuple({joiner.user_id: joiner for joiner in joiners}.values())
        if not chat.welcome_enabled or not unique:
            return None
        recent = self._posted.get(chat.chat_id)
        if (
            recent is None
            or recent.message_id != chat.last_welcome_message_id
            or now - recent.posted_at >= self._window
        ):
            return WelcomePlan(unique, unique, delete_message_id=chat.last_welcome_message_id)
        greeted = {joiner.user_id for joiner in recent.joiners}
        new = tuple(joiner for joiner in unique if joiner.user_id not in greeted)
        if not new:
            return None
        if len(recent.joiners) + len(new) > self._max_names:
            return WelcomePlan(new, new, delete_message_id=recent.message_id)
        return WelcomePlan(recent.joiners + new, new, edit_message_id=recent.message_id)

    def posted(
        self, chat: ServedChat, message_id: int, joiners: Iterable[Joiner], now: datetime
    ) -> None:
        """Record a new welcome; sets `chat.last_welcome_message_id`, the caller commits."""
        chat.last_welcome_message_id = message_id
        self._posted[chat.chat_id] = _Posted(message_id, now, tuple(joiners))

    def extended(self, chat_id: int, joiners: Iterable[Joiner]) -> None:
        """Record that the recent welcome now names `joiners`; its time stays."""
        recent = self._posted.get(chat_id)
        if recent is not None:
            self._posted[chat_id] = replace(recent, joiners=tuple(joiners))


async def served_chat(session: AsyncSession, chat_id: int) -> ServedChat | None:
    """The served group with this id; None for groups the KV has not registered."""
    return await session.get(ServedChat, chat_id)


def set_welcome_enabled(chat: ServedChat, enabled: bool) -> bool:
    """Switch the welcome on or off; False when it already was. The caller commits."""
    if chat.welcome_enabled == enabled:
        return False
    chat.welcome_enabled = enabled
    return True


def set_welcome_text(chat: ServedChat, text: str | None) -> bool:
    """Store a custom text (checked with `check_welcome_text`), None for the standard one.

    Returns False when nothing changed. The caller commits.
    """
    if chat.welcome_text == text:
        return False
    chat.welcome_text = text
    return True


@dataclass(frozen=True, slots=True)
class TextProblem:
    """Why a custom welcome text can't be used; `detail` is the offending placeholder."""

    kind: Literal["empty", "too_long", "braces", "placeholder"]
    detail: str = ""
    length: int = 0


def _placeholder_problem(text: str) -> TextProblem | None:
    # The same rules as the setup file (kv_setup), so a text works wherever it was written.
    try:
        unknown = unknown_placeholder(text, WELCOME_PLACEHOLDERS)
    except ValueError:
        return TextProblem("braces")
    return None if unknown is None else TextProblem("placeholder", unknown)


def check_welcome_text(text: str) -> TextProblem | None:
    """Whether an organiser's text can be the welcome: not empty, not too long, and only the
    {names} and {kv} placeholders.
    """
    if not text.strip():
        return TextProblem("empty")
    if len(text) > MAX_TEXT_LENGTH:
        return TextProblem("too_long", length=len(text))
    return _placeholder_problem(text)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def render_custom(chat: ServedChat, *, names: str, kv: str) -> str | None:
    """The chat's own welcome as HTML, or None when it has none it can use.

    The text and the values are plain text: all of it is escaped, so organisers' and
    newcomers' angle brackets show as typed. A stored text that breaks the rules or, with the
    names filled in, Telegram's length limit falls back to the standard welcome.
    """
    template = chat.welcome_text
    if not template:
        return None
    if _placeholder_problem(template) is not None:
        logger.warning("the welcome text of chat=%s is unusable; standard used", chat.chat_id)
        return None
    if _utf16_length(template.format(names=names, kv=kv)) > MESSAGE_LIMIT:
        logger.warning("the welcome of chat=%s would be too long; standard used", chat.chat_id)
        return None
    return _escape(template).format(names=_escape(names), kv=_escape(kv))


def _escape(text: str) -> str:
    # Braces are left alone, so an escaped template keeps its placeholders.
    return html.escape(text, quote=False)
