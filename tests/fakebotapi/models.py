"""Value objects of the fake Bot API: recorded requests, sent messages, people and chats."""

from __future__ import annotations

import copy
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakebotapi.common import UploadedFile

if TYPE_CHECKING:
    from tests.fakebotapi.server import FakeBotAPI

__all__ = [
    "ApiCall",
    "ApiError",
    "FakeChat",
    "FakeUser",
    "Fault",
    "RecordedRequest",
    "Rule",
    "SentMessage",
]

JsonDict = dict[str, Any]


class ApiError(Exception):
    """An error answer of the Bot API (``{"ok": false, ...}``) with its HTTP status."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Build the error; ``retry_after`` goes into ``parameters`` like Telegram's 429."""
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> JsonDict:
        """The JSON body Telegram sends for this error."""
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        parameters: JsonDict = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


@dataclass
class RecordedRequest:
    """One API call the server received, as it was understood and answered.

    It is appended to ``server.requests`` on arrival (``at``, monotonic) with ``status`` 0
    and completed in place when answered (``status``, ``response``, ``answered_at``), so a
    waiting long poll is visible while it waits.
    """

    method: str
    params: JsonDict
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    at: float = field(default_factory=time.monotonic)
    response: JsonDict | None = None
    answered_at: float | None = None
    source: str = "http"

    @property
    def answered(self) -> bool:
        """Whether the server has answered the call yet."""
        return self.answered_at is not None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded (False while it is still unanswered)."""
        return 200 <= self.status < 300

    @property
    def description(self) -> str | None:
        """Telegram's error description for failed calls."""
        return None if self.response is None else self.response.get("description")


@dataclass
class ApiCall:
    """What a :data:`Rule` sees of a call before the server handles it."""

    server: FakeBotAPI
    method: str
    params: JsonDict
    files: dict[str, UploadedFile]
    at: float

    @property
    def chat_id(self) -> int | str | None:
        """The target chat of the call, if it has one."""
        return self.params.get("chat_id")


# A rule runs before every call is handled; it may await (e.g. to throttle) and raises
# ApiError to answer with an error instead. Injected faults and fault storms come first;
# the send limits (FakeBotAPI.enforce_limits) come after, so only sends a rule let through
# count towards them.
Rule = Callable[[ApiCall], Awaitable[None]]


@dataclass
class Fault:
    """An injected error for the next ``times`` calls of ``method`` (``"*"``: any method)."""

    method: str
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1
    chat_id: int | None = None

    def matches(self, method: str, chat_id: Any) -> bool:
        """Whether this fault applies to a call of ``method`` aimed at ``chat_id``."""
        if self.method != "*" and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or chat_id == self.chat_id

    def error(self) -> ApiError:
        """The error the faulty call answers with."""
        return ApiError(self.status, self.description, retry_after=self.retry_after)


@dataclass
class SentMessage:
    """A message the bot sent, kept up to date with later edits and deletion.

    ``text``/``caption`` are what the user sees (after HTML parsing); ``html`` is the raw
    text or caption as the bot sent it. ``document``/``photo`` hold the uploaded bytes, or
    the file_id/URL string when the bot sent an existing file.
    """

    chat_id: int
    message_id: int
    method: str
    text: str | None = None
    html: str | None = None
    parse_mode: str | None = None
    caption: str | None = None
    reply_markup: JsonDict | None = None
    document: bytes | str | None = None
    photo: bytes | str | None = None
    deleted: bool = False
    edits: int = 0
    at: float = field(default_factory=time.monotonic)
    message: JsonDict = field(default_factory=dict, repr=False)

    def as_message(self) -> JsonDict:
        """The Telegram Message object in its current state (a copy)."""
        return copy.deepcopy(self.message)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data) of every callback button of the inline keyboard."""
        markup = self.reply_markup or {}
        return [
            (button.get("text", ""), button["callback_data"])
            for row in markup.get("inline_keyboard", [])
            for button in row
            if isinstance(button, dict) and "callback_data" in button
        ]


class FakeChat:
    """A supergroup the simulated people and the bot are in."""

    def __init__(
        self, server: FakeBotAPI, chat_id: int, title: str, username: str | None = None
    ) -> None:
        """Create the handle; use ``FakeBotAPI.add_group`` instead of calling this."""
        self._server = server
        self.id = chat_id
        self.title = title
        self.username = username
        self.type = "supergroup"

    def as_dict(self) -> JsonDict:
        """The Telegram Chat object."""
        chat: JsonDict = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            chat["username"] = self.username
        return chat

    def member_status(self, user: FakeUser | int) -> str:
        """The user's status here: creator, administrator, member, left or kicked."""
        return self._server.member_status(self.id, user if isinstance(user, int) else user.id)

    def set_member_status(self, user: FakeUser | int, status: str) -> None:
        """Set a status without sending an update (e.g. make someone an administrator)."""
        self._server.set_member_status(self.id, user if isinstance(user, int) else user.id, status)

    def __repr__(self) -> str:
        """Short form for assertion messages."""
        return f"FakeChat(id={self.id}, title={self.title!r})"


class FakeUser:
    """A simulated Telegram user who talks to the bot."""

    def __init__(
        self,
        server: FakeBotAPI,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> None:
        """Create the handle; use ``FakeBotAPI.add_user`` instead of calling this."""
        self._server = server
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code

    def as_dict(self) -> JsonDict:
        """The Telegram User object."""
        user: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    @property
    def private_chat(self) -> JsonDict:
        """The Chat object of this user's private chat with the bot."""
        chat: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    async def send_message(
        self,
        text: str,
        *,
        chat: FakeChat | None = None,
        reply_to: JsonDict | SentMessage | None = None,
        forward_from: FakeUser | None = None,
        forward_hidden_name: str | None = None,
        entities: list[JsonDict] | None = None,
        photo: str | None = None,
        document: str | None = None,
    ) -> JsonDict:
        """Send a message (private chat unless ``chat``); returns the delivered update.

        ``entities`` format the text; with ``photo`` or ``document`` (a file id) the text is
        its caption.
        """
        return await self._server.user_sends(
            self,
            text,
            chat=chat,
            reply_to=reply_to,
            forward_from=forward_from,
            forward_hidden_name=forward_hidden_name,
            entities=entities,
            photo=photo,
            document=document,
        )

    async def press(
        self, message: JsonDict | SentMessage, callback_data: str, *, must_exist: bool = False
    ) -> JsonDict:
        """Press the inline button with ``callback_data`` on one of the bot's messages.

        The data is not checked against the keyboard unless ``must_exist`` (forged presses
        are possible on Telegram too).
        """
        return await self._server.user_presses(self, message, callback_data, must_exist=must_exist)

    async def block_bot(self) -> JsonDict:
        """Block the bot: a my_chat_member update, and sends to this user get 403."""
        return await self._server.user_blocks(self, blocked=True)

    async def unblock_bot(self) -> JsonDict:
        """Unblock (restart) the bot: a my_chat_member update back to member."""
        return await self._server.user_blocks(self, blocked=False)

    async def request_join(self, group: FakeChat, *, bio: str | None = None) -> JsonDict:
        """Ask to join ``group`` (a chat_join_request update the bot may approve/decline)."""
        return await self._server.user_requests_join(self, group, bio=bio)

    async def join(self, group: FakeChat) -> JsonDict:
        """Join ``group`` directly (a chat_member update from left to member)."""
        return await self._server.change_member_status(group.id, self.id, "member", actor=self)

    async def leave(self, group: FakeChat) -> JsonDict:
        """Leave ``group`` (a chat_member update from member to left)."""
        return await self._server.change_member_status(group.id, self.id, "left", actor=self)

    def __repr__(self) -> str:
        """Short form for assertion messages."""
        return f"FakeUser(id={self.id}, first_name={self.first_name!r})"
