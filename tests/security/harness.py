"""Trying one command or button as one person and seeing what happened: which handler took it,
what the bot said, what it changed in the database, and whether anything failed.

Shared by the role table (test_role_table.py) and the fuzz test (test_fuzz.py).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import insert, select

from bot.app import Application
from models import Base
from tests.fakebotapi import FakeBotAPI, FakeChat, FakeUser

# What the bookkeeping writes for every update, whoever sends it: not a change by the handler.
IGNORED_TABLES = frozenset({"processed_updates"})
IGNORED_COLUMNS = {"members": frozenset({"last_seen_at", "telegram_language"})}

# Requests that put something in front of a person.
SHOWING = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendDocument",
        "sendPhoto",
        "copyMessage",
        "forwardMessage",
    }
)

# The anchor's button: a real screen has buttons, and removing them is an edit.
ANCHOR_MARKUP = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="·", callback_data="anchor")]]
)

Dump = dict[str, list[dict[str, Any]]]


async def dump(app: Application) -> Dump:
    """Every row of every table, in a stable order."""
    tables: Dump = {}
    async with app.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in IGNORED_TABLES:
                continue
            rows = (await connection.execute(select(table))).mappings().all()
            tables[table.name] = sorted(
                (dict(row) for row in rows), key=lambda row: repr(sorted(row.items()))
            )
    return tables


async def restore(app: Application, snapshot: Dump) -> None:
    """Put every table back as `snapshot` had it."""
    async with app.engine.begin() as connection:
        kept = [t for t in Base.metadata.sorted_tables if t.name not in IGNORED_TABLES]
        for table in reversed(kept):
            await connection.execute(table.delete())
        for table in kept:
            rows = snapshot[table.name]
            if rows:
                await connection.execute(insert(table), rows)


def changes(before: Dump, after: Dump, *, new_members: Collection[int] = ()) -> dict[str, str]:
    """Tables whose rows differ, with a short description; the sighting of `new_members` (a
    stranger's first update stores the id) and the bookkeeping columns don't count."""

    def visible(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ignored = IGNORED_COLUMNS.get(name, frozenset())
        kept = [{k: v for k, v in row.items() if k not in ignored} for row in rows]
        if name == "members" and new_members:
            kept = [
                row
                for row in kept
                if not (row["id"] in new_members and row.get("first_name") is None)
            ]
        return kept

    found: dict[str, str] = {}
    for name in after:
        old, new = visible(name, before[name]), visible(name, after[name])
        if old != new:
            added = [row for row in new if row not in old]
            removed = [row for row in old if row not in new]
            found[name] = f"+{added!r} -{removed!r}"[:300]
    return found


@dataclass
class Outcome:
    """What one update caused."""

    handler: str = "-"
    shown: list[str] = field(default_factory=list)  # texts sent or edited, in order
    answers: list[str] = field(default_factory=list)  # callback answers' texts
    callback_open: bool = False  # a callback query nobody answered
    explained: bool = False  # a service refused (bot.telegram.guards.explain logged it)
    errors: list[str] = field(default_factory=list)  # ERROR records and failed requests
    changed: dict[str, str] = field(default_factory=dict)

    @property
    def replies(self) -> list[str]:
        """Everything the person got to read."""
        return [*self.shown, *self.answers]


class Recorder:
    """Reads the log records and requests an update caused.

    The log handler is added to the root logger (and the levels it needs lowered) by the caller,
    through pytest's caplog.
    """

    def __init__(
        self, app: Application, server: FakeBotAPI, records: list[logging.LogRecord]
    ) -> None:
        self.app = app
        self.server = server
        self.records = records

    async def feed(self, update: dict[str, Any]) -> Outcome:
        """Handle `update` and sum up what it caused (the database part is the caller's)."""
        first_record = len(self.records)
        first_request = len(self.server.requests)
        await self.app.dispatcher.feed_raw_update(self.app.bot, update)
        outcome = Outcome()
        for record in self.records[first_record:]:
            if record.levelno >= logging.ERROR:
                outcome.errors.append(f"{record.name}: {record.getMessage()}")
            if record.name == "mitmachbot.updates" and isinstance(record.args, tuple):
                outcome.handler = str(record.args[1])
            if record.name == "bot.telegram.guards" and record.getMessage().startswith("refused:"):
                outcome.explained = True
        for request in self.server.requests[first_request:]:
            if not request.ok:
                outcome.errors.append(f"{request.method} failed: {request.description}")
            if request.method == "answerCallbackQuery":
                url = request.params.get("url")
                outcome.answers.append(f"url:{url}" if url else str(request.params.get("text", "")))
            elif request.method in SHOWING:
                text = request.params.get("text") or request.params.get("caption") or ""
                outcome.shown.append(str(text) or request.method)
        query = update.get("callback_query")
        if query is not None:
            outcome.callback_open = query["id"] in self.server._open_callbacks
        return outcome

    async def anchor(self, chat_id: int) -> dict[str, Any]:
        """A fresh message of the bot's to press a button on (edits replace it, so each press
        gets its own and never hits "message is not modified")."""
        sent = await self.app.bot.send_message(chat_id, "·", reply_markup=ANCHOR_MARKUP)
        message = self.server.message(chat_id, sent.message_id)
        assert message is not None
        return message.as_message()

    async def press(self, user: FakeUser, data: str, *, chat: FakeChat | None = None) -> Outcome:
        """`user` presses a button carrying `data` under a message of the bot's."""
        message = await self.anchor(chat.id if chat is not None else user.id)
        return await self.feed(await self.server.user_presses(user, message, data))

    async def send(self, user: FakeUser, text: str, *, chat: FakeChat | None = None) -> Outcome:
        """`user` writes `text` in the private chat or in `chat`."""
        return await self.feed(await self.server.user_sends(user, text, chat=chat))


# --- what the router tree holds ---------------------------------------------------------------


def routers(root: Router) -> Iterator[Router]:
    """`root` and every router included in it, depth first."""
    yield root
    for sub in root.sub_routers:
        yield from routers(sub)


def handler_name(handler: HandlerObject) -> str:
    """The dotted name the update log line gives a handler."""
    callback = handler.callback
    return f"{callback.__module__}.{callback.__qualname__}"


def handlers(
    root: Router, observers: tuple[str, ...] = ("message", "callback_query")
) -> Iterator[tuple[str, HandlerObject]]:
    """(observer, handler) for every message and button handler in the tree."""
    for router in routers(root):
        for observer in observers:
            for handler in router.observers[observer].handlers:
                yield observer, handler


def commands_in(handler: HandlerObject) -> set[str]:
    """The command names a handler's Command filters accept."""
    names: set[str] = set()
    for filter_object in handler.filters or ():
        if isinstance(filter_object.callback, Command):
            names.update(c for c in filter_object.callback.commands if isinstance(c, str))
    return names


def factories_in(handler: HandlerObject) -> set[type[CallbackData]]:
    """The callback data factories a handler's filters accept."""
    return {
        filter_object.callback.callback_data
        for filter_object in handler.filters or ()
        if isinstance(filter_object.callback, CallbackQueryFilter)
    }


def filter_names(handler: HandlerObject) -> set[str]:
    """The class names of a handler's filters (to tell conversation steps by)."""
    return {type(filter_object.callback).__name__ for filter_object in handler.filters or ()}
