"""A local fake Telegram Bot API server for dispatcher and end-to-end tests.

The real bot talks to it over HTTP (``AiohttpSession(api=TelegramAPIServer.from_base(
server.api_url))``). It answers the methods the bot uses the way Telegram does, simulates
people and chats, delivers updates by long polling or webhook, records every request and
checks each one against the Bot API spec, Telegram's limits and its HTML dialect. On request
it enforces Telegram's sending rate limits and fails sends at random (fault storms).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

from tests.fakebotapi.common import Problem, UploadedFile
from tests.fakebotapi.html import utf16_len
from tests.fakebotapi.limits import check_limits, format_text
from tests.fakebotapi.models import (
    ApiCall,
    ApiError,
    FakeChat,
    FakeUser,
    Fault,
    RecordedRequest,
    Rule,
    SentMessage,
)
from tests.fakebotapi.pacing import (
    FAULT_KINDS,
    SENDING_METHODS,
    FaultStorm,
    SendLimits,
    SlidingWindows,
    TimelineEntry,
    find_breaches,
    is_sending_method,
)
from tests.fakebotapi.spec import BotApiSpec, load_spec
from tests.fakebotapi.wire import (
    ATTACH_PREFIX,
    attach_references,
    coerce_params,
    link_direct_uploads,
    read_multipart,
    read_request,
)

__all__ = ["DEFAULT_TOKEN", "FakeBotAPI"]

JsonDict = dict[str, Any]
Handler = Callable[[ApiCall], Awaitable[Any]]

DEFAULT_TOKEN = "123456789:AAH-fake-token-for-tests-0123456789ab"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_USER_ID = 1000
FIRST_GROUP_ID = -1001000000000
MAX_UPDATES_PER_CALL = 100

CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
CALLBACK_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
GROUPS_ONLY = "Bad Request: method is available for supergroup and channel chats only"

# Telegram leaves these out unless allowed_updates asks for them explicitly.
NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}

# Canonical spelling of every method the server answers itself; others known to the spec
# that return a plain Boolean are answered with true, anything else is 501. Without the spec
# the server knows only these and the sending methods (SENDING_METHODS), so a send to a
# blocked chat still gets Telegram's 403 and an unimplemented send its 501, not a 404.
HANDLED_METHODS = (
    "getMe",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "deleteMyCommands",
    "getMyCommands",
    "sendMessage",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "deleteMessages",
    "pinChatMessage",
    "unpinChatMessage",
    "answerCallbackQuery",
    "sendDocument",
    "sendPhoto",
    "sendMediaGroup",
    "copyMessage",
    "forwardMessage",
    "getChatMember",
    "getChat",
    "sendChatAction",
    "setMyDescription",
    "getMyDescription",
    "setMyShortDescription",
    "getMyShortDescription",
    "setMyName",
    "getMyName",
    "approveChatJoinRequest",
    "declineChatJoinRequest",
    "banChatMember",
    "unbanChatMember",
    "createChatInviteLink",
    "getFile",
    "close",
    "logOut",
)

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_URL_RE = re.compile(r"https?://\S+", re.IGNORECASE)
_PROFILE_FIELDS = {
    "setmydescription": "description",
    "setmyshortdescription": "short_description",
    "setmyname": "name",
}


class _Unset:
    """Marker for "argument not given" where None is a meaningful value."""


UNSET = _Unset()


def _now() -> int:
    return int(time.time())


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def _scope_key(scope: Any) -> str:
    """Compact JSON with aiogram's field order, i.e. ``BotCommandScope*.model_dump_json()``."""
    if not isinstance(scope, Mapping):
        scope = {"type": "default"}
    order = {"type": 0, "chat_id": 1, "user_id": 2}
    items = sorted(scope.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    return json.dumps(dict(items), separators=(",", ":"), ensure_ascii=False)


def _inline_markup(markup: Any) -> JsonDict | None:
    """The part of a reply_markup Telegram echoes back in Message objects."""
    if isinstance(markup, Mapping) and "inline_keyboard" in markup:
        return dict(markup)
    return None


def _quoted(message: Mapping[str, Any]) -> JsonDict:
    """A message as it appears in reply_to_message (Telegram never nests those)."""
    quoted = copy.deepcopy(dict(message))
    quoted.pop("reply_to_message", None)
    return quoted


@dataclass
class _ChatState:
    """What the server knows about one chat."""

    data: JsonDict
    user: FakeUser | None = None
    blocked: bool = False
    started: bool = True
    last_message_id: int = 0
    members: dict[int, str] = field(default_factory=dict)
    join_requests: set[int] = field(default_factory=set)

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def is_private(self) -> bool:
        return self.data.get("type") == "private"

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes | None
    filename: str | None
    mime_type: str | None
    url: str | None = None

    @property
    def size(self) -> int | None:
        return None if self.data is None else len(self.data)


class FakeBotAPI:
    """The fake Bot API server; see the package docstring for the full interface."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "mitmachbot_test_bot",
        bot_first_name: str = "Mitmachbot",
    ) -> None:
        """Prepare the server; nothing listens until :meth:`start`."""
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.spec: BotApiSpec | None = load_spec()

        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.callback_answers: list[JsonDict] = []
        # The pinned message of each chat (pinChatMessage), by chat id.
        self.pinned: dict[int, Any] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        # setChatMenuButton by chat id (None: the default for all chats).
        self.menu_buttons: dict[Any, JsonDict] = {}
        self.profile: dict[tuple[str, str], str] = {}
        self.invite_links: list[JsonDict] = []
        self.webhook: JsonDict | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []
        self.webhook_retry_delays: list[float] = [0.2, 0.5, 1.0]
        self.webhook_timeout = 10.0
        self.filtered_updates: list[JsonDict] = []
        self.get_updates_calls = 0
        self.long_polls_waiting = 0
        self.faults: list[Fault] = []
        self.rules: list[Rule] = []
        self.observers: list[Callable[[RecordedRequest], None]] = []
        self.send_timeline: list[TimelineEntry] = []
        self.paid_sends: set[TimelineEntry] = set()
        self.injected: Counter[str] = Counter()

        self._handlers: dict[str, Handler] = self._build_handlers()
        self._canonical_names = {
            name.lower(): name for name in (*HANDLED_METHODS, *SENDING_METHODS)
        }
        # Time source of the send timeline and the rate limits (monotonic seconds); a test
        # may replace it, e.g. with a frozen clock so that a burst falls into one window.
        self.clock: Callable[[], float] = time.monotonic
        self._delays: dict[str, float] = {}
        self._windows = SlidingWindows()
        self._enforced: SendLimits | None = None
        self._limit_retry_after = 1
        self._storm: FaultStorm | None = None
        self._chats: dict[int, _ChatState] = {}
        self._users: dict[int, FakeUser] = {}
        self._user_dicts: dict[int, JsonDict] = {}
        self._groups: dict[int, FakeChat] = {}
        self._messages: dict[tuple[int, int], JsonDict] = {}
        self._sent: dict[int, list[SentMessage]] = defaultdict(list)
        self._sent_index: dict[tuple[int, int], SentMessage] = {}
        self._files: dict[str, _StoredFile] = {}
        self._media_group_ids = itertools.count(13000000000000000)
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(4_000_000_000_000_000_001)
        self._invite_counter = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._next_user_id = FIRST_USER_ID
        self._next_group_number = 1
        self._pending: list[JsonDict] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._message_cursors: dict[int, int] = defaultdict(int)
        self._consumed_requests: set[int] = set()
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        # Bind our own socket so the port is known without peeking at aiohttp internals.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._client = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Answer waiting long polls, stop webhook delivery and close the server."""
        self._closing.set()
        await self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> Self:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()

    @property
    def api_url(self) -> str:
        """Base URL for ``TelegramAPIServer.from_base`` (no trailing slash)."""
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def bot_user(self) -> JsonDict:
        """The bot's User object as getMe returns it."""
        return {
            **self._bot_from(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _bot_from(self) -> JsonDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ------------------------------------------------------------- people and chats

    def add_user(
        self,
        first_name: str = "Anna",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "de",
        *,
        user_id: int | None = None,
        started: bool = True,
    ) -> FakeUser:
        """A new simulated person; ``started=False``: they never opened the bot (403)."""
        if user_id is None:
            user_id = self._next_user_id
        self._next_user_id = max(self._next_user_id, user_id + 1)
        user = FakeUser(self, user_id, first_name, last_name, username, language_code)
        self._users[user_id] = user
        self._user_dicts[user_id] = user.as_dict()
        self._chats[user_id] = _ChatState(user.private_chat, user=user, started=started)
        return user

    def add_group(self, title: str = "KV Mitte", *, username: str | None = None) -> FakeChat:
        """A new supergroup with the bot as administrator."""
        chat_id = FIRST_GROUP_ID - self._next_group_number
        self._next_group_number += 1
        group = FakeChat(self, chat_id, title, username)
        self._groups[chat_id] = group
        self._chats[chat_id] = _ChatState(group.as_dict())
        return group

    @property
    def users(self) -> list[FakeUser]:
        """All simulated people."""
        return list(self._users.values())

    @property
    def groups(self) -> list[FakeChat]:
        """All simulated groups."""
        return list(self._groups.values())

    def member_status(self, chat_id: int, user_id: int) -> str:
        """creator, administrator, member, restricted, left or kicked."""
        state = self._chats.get(chat_id)
        if state is None:
            return "left"
        if state.is_private:
            return "member" if user_id in {chat_id, self.bot_id} else "left"
        if user_id == self.bot_id:
            return "kicked" if state.blocked else "administrator"
        if user_id in state.members:
            return state.members[user_id]
        # People the test created count as members of every group unless told otherwise.
        return "member" if user_id in self._users else "left"

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Set a member's status in a group without sending an update."""
        self._chat_state(chat_id).members[user_id] = status

    async def change_member_status(
        self,
        chat_id: int,
        user_id: int,
        status: str,
        *,
        actor: FakeUser | None = None,
        via_join_request: bool = False,
    ) -> JsonDict:
        """Change a status and deliver the chat_member update Telegram would send."""
        state = self._chat_state(chat_id)
        old = self.member_status(chat_id, user_id)
        state.members[user_id] = status
        event: JsonDict = {
            "chat": copy.deepcopy(state.data),
            "from": actor.as_dict() if actor is not None else self._bot_from(),
            "date": _now(),
            "old_chat_member": self._member_object(user_id, old),
            "new_chat_member": self._member_object(user_id, status),
        }
        if via_join_request:
            event["via_join_request"] = True
        return await self.push_update({"chat_member": event})

    def block(self, chat_id: int) -> None:
        """Sends to ``chat_id`` get 403 from now on (no update is sent)."""
        self._chat_state(chat_id).blocked = True

    def block_many(self, chat_ids: Iterable[int]) -> None:
        """:meth:`block` each chat; nothing is blocked when one of them is unknown."""
        states = [self._chat_state(chat_id) for chat_id in chat_ids]
        for state in states:
            state.blocked = True

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        self._chat_state(chat_id).blocked = False

    def _chat_state(self, chat_id: int) -> _ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            raise KeyError(f"chat {chat_id} is unknown to the fake Bot API server")
        return state

    def _user_dict(self, user_id: int) -> JsonDict:
        if user_id == self.bot_id:
            return self._bot_from()
        known = self._user_dicts.get(user_id)
        return (
            copy.deepcopy(known) if known else {"id": user_id, "is_bot": False, "first_name": "?"}
        )

    def _member_object(self, user_id: int, status: str) -> JsonDict:
        member: JsonDict = {"status": status, "user": self._user_dict(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                dict.fromkeys(
                    (
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                        "can_send_welcome_messages",
                    ),
                    True,
                )
            )
            member.update(
                dict.fromkeys(
                    (
                        "can_be_edited",
                        "is_anonymous",
                        "can_promote_members",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                        "can_manage_topics",
                    ),
                    False,
                )
            )
        elif status == "restricted":
            member.update(
                dict.fromkeys(
                    (
                        "can_send_messages",
                        "can_send_audios",
                        "can_send_documents",
                        "can_send_photos",
                        "can_send_videos",
                        "can_send_video_notes",
                        "can_send_voice_notes",
                        "can_send_polls",
                        "can_send_other_messages",
                        "can_add_web_page_previews",
                        "can_react_to_messages",
                        "can_edit_tag",
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                        "can_manage_topics",
                    ),
                    False,
                )
            )
            member.update(is_member=True, until_date=0)
        elif status == "kicked":
            member["until_date"] = 0
        return member

    # ----------------------------------------------------------- what people do

    async def user_sends(
        self,
        user: FakeUser,
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
        """Deliver a message ``user`` writes; see :meth:`FakeUser.send_message`."""
        state = self._chat_state(chat.id if chat is not None else user.id)
        if chat is not None and self.member_status(chat.id, user.id) in {"left", "kicked"}:
            raise AssertionError(f"{user!r} is not a member of {chat!r} and cannot write there")
        message: JsonDict = {
            "message_id": state.next_message_id(),
            "from": user.as_dict(),
            "chat": copy.deepcopy(state.data),
            "date": _now(),
            "text": text,
        }
        command = _COMMAND_RE.match(text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
        if entities:
            message["entities"] = copy.deepcopy(entities)
        if photo is not None or document is not None:
            # A photo or file with ``text`` as its caption, as Telegram delivers them.
            del message["text"]
            message.pop("entities", None)
            if text:
                message["caption"] = text
                if entities:
                    message["caption_entities"] = copy.deepcopy(entities)
            unique = f"u{photo or document}"
            if photo is not None:
                message["photo"] = [
                    {"file_id": photo, "file_unique_id": unique, "width": 800, "height": 600}
                ]
            else:
                message["document"] = {
                    "file_id": document,
                    "file_unique_id": unique,
                    "file_name": f"{document}.pdf",
                }
        if reply_to is not None:
            quoted = reply_to.as_message() if isinstance(reply_to, SentMessage) else reply_to
            message["reply_to_message"] = _quoted(quoted)
        if forward_from is not None:
            message["forward_origin"] = {
                "type": "user",
                "sender_user": forward_from.as_dict(),
                "date": _now(),
            }
        elif forward_hidden_name is not None:
            message["forward_origin"] = {
                "type": "hidden_user",
                "sender_user_name": forward_hidden_name,
                "date": _now(),
            }
        if state.is_private:
            state.started = True
        self._messages[(state.id, message["message_id"])] = copy.deepcopy(message)
        return await self.push_update({"message": message})

    async def user_presses(
        self,
        user: FakeUser,
        message: JsonDict | SentMessage,
        callback_data: str,
        *,
        must_exist: bool = False,
    ) -> JsonDict:
        """Deliver a callback query carrying the message in its current state.

        Any ``callback_data`` is accepted by default, because modified clients can send
        forged data and the bot must cope; ``must_exist=True`` checks the button is there.
        """
        if isinstance(message, SentMessage):
            sent: SentMessage | None = message
        else:
            sent = self._sent_index.get((message["chat"]["id"], message["message_id"]))
        if sent is not None and sent.deleted:
            raise AssertionError(f"message {sent.message_id} in {sent.chat_id} was deleted")
        current = sent.as_message() if sent is not None else copy.deepcopy(dict(message))
        if must_exist:
            markup = current.get("reply_markup") or {}
            buttons = [
                (button.get("text", ""), button.get("callback_data"))
                for row in markup.get("inline_keyboard", [])
                for button in row
            ]
            if callback_data not in {data for _, data in buttons}:
                raise AssertionError(
                    f"no button with callback_data {callback_data!r} on message "
                    f"{current.get('message_id')}; buttons: {buttons}"
                )
        query_id = str(next(self._callback_counter))
        self._open_callbacks.add(query_id)
        chat_id = current["chat"]["id"]
        query = {
            "id": query_id,
            "from": user.as_dict(),
            "message": current,
            "chat_instance": str(-(abs(chat_id) * 7 + 3)),
            "data": callback_data,
        }
        return await self.push_update({"callback_query": query})

    async def user_blocks(self, user: FakeUser, *, blocked: bool) -> JsonDict:
        """Block or unblock the bot and deliver the my_chat_member update."""
        state = self._chat_state(user.id)
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        state.blocked = blocked
        if not blocked:
            state.started = True
        event = {
            "chat": copy.deepcopy(state.data),
            "from": user.as_dict(),
            "date": _now(),
            "old_chat_member": self._member_object(self.bot_id, old),
            "new_chat_member": self._member_object(self.bot_id, new),
        }
        return await self.push_update({"my_chat_member": event})

    async def user_requests_join(
        self, user: FakeUser, group: FakeChat, *, bio: str | None = None
    ) -> JsonDict:
        """Deliver a chat_join_request; the user counts as not yet a member."""
        state = self._chat_state(group.id)
        if self.member_status(group.id, user.id) == "member":
            state.members[user.id] = "left"
        state.join_requests.add(user.id)
        # Telegram lets the bot message the requester for a while, even without /start.
        self._chat_state(user.id).started = True
        request: JsonDict = {
            "chat": copy.deepcopy(state.data),
            "from": user.as_dict(),
            "user_chat_id": user.id,
            "date": _now(),
        }
        if bio is not None:
            request["bio"] = bio
        return await self.push_update({"chat_join_request": request})

    # ------------------------------------------------------------------- updates

    async def push_update(self, update: JsonDict) -> JsonDict:
        """Queue an update for the bot (assigning update_id) and deliver it."""
        queued = copy.deepcopy(update)
        if "update_id" not in queued:
            queued["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(queued["update_id"]) + 1)
        self._register_update(queued)
        self._pending.append(queued)
        self._pending.sort(key=lambda item: item["update_id"])
        await self._notify()
        if self.webhook is not None:
            self._kick_webhook()
        return copy.deepcopy(queued)

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed (polling) or delivered (webhook)."""
        return copy.deepcopy(self._pending)

    def _register_update(self, value: Any) -> None:
        """Learn chats and users mentioned in an update, so the bot may answer them."""
        if isinstance(value, list):
            for item in value:
                self._register_update(item)
            return
        if not isinstance(value, dict):
            return
        chat = value.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int) and "type" in chat:
            if chat["id"] not in self._chats:
                self._chats[chat["id"]] = _ChatState(copy.deepcopy(chat))
            elif chat.get("type") == "private" and "message_id" in value:
                self._chats[chat["id"]].started = True
            state = self._chats[chat["id"]]
            if isinstance(value.get("message_id"), int):
                state.last_message_id = max(state.last_message_id, value["message_id"])
        for key in ("from", "user", "sender_user"):
            person = value.get(key)
            if (
                isinstance(person, dict)
                and isinstance(person.get("id"), int)
                and not person.get("is_bot")
            ):
                self._user_dicts.setdefault(person["id"], copy.deepcopy(person))
        for item in value.values():
            self._register_update(item)

    def _update_allowed(self, update: Mapping[str, Any]) -> bool:
        kind = next((key for key in update if key != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in NOT_DELIVERED_BY_DEFAULT
        return kind in self._allowed_updates

    def _filter_pending(self) -> bool:
        """Drop updates the bot did not subscribe to; True when some are left."""
        kept = []
        for update in self._pending:
            if self._update_allowed(update):
                kept.append(update)
            else:
                self.filtered_updates.append(update)
        self._pending = kept
        return bool(kept)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _set_allowed_updates(self, allowed: Any) -> None:
        # An empty list means "the default set", a missing one keeps the previous choice.
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed] or None

    # ------------------------------------------------------------------- webhook

    def _kick_webhook(self) -> None:
        if self._closing.is_set():
            return
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhook())

    async def _deliver_webhook(self) -> None:
        """Deliver pending updates in order; an update that keeps failing stays pending."""
        while self.webhook is not None and not self._closing.is_set():
            if not self._filter_pending():
                return
            update = self._pending[0]
            for attempt, delay in enumerate([0.0, *self.webhook_retry_delays]):
                if attempt and await self._sleep(delay):
                    return
                webhook = self.webhook
                if webhook is None:
                    return
                status = await self._post_update(
                    update, webhook["url"], webhook["secret_token"], record=True
                )
                await self._notify()
                if 200 <= status < 300:
                    break
            else:
                # Like Telegram, give up for now; the next update triggers a new attempt.
                return
            if update in self._pending:
                self._pending.remove(update)
            await self._notify()

    async def _post_update(
        self, update: JsonDict, url: str, secret: str | None, *, record: bool = False
    ) -> int:
        """POST one update; returns the HTTP status (0 when the connection failed).

        With ``record`` the status lands in ``webhook_deliveries`` as soon as it is known,
        before a method call in the response body runs, so it precedes the bot's reactions.
        """
        if self._client is None:
            raise RuntimeError("FakeBotAPI is not started")
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SECRET_HEADER] = secret
        recorded = False
        try:
            async with self._client.post(
                url,
                data=json.dumps(update),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                status = response.status
                if record:
                    self.webhook_deliveries.append((update["update_id"], status))
                    recorded = True
                if 200 <= status < 300:
                    await self._run_webhook_reply(response)
                else:
                    self._webhook_error = (_now(), f"Wrong response from the webhook: {status}")
        except (aiohttp.ClientError, TimeoutError) as error:
            self._webhook_error = (_now(), f"Connection failed: {type(error).__name__}")
            if record and not recorded:
                self.webhook_deliveries.append((update["update_id"], 0))
            return 0 if not recorded else status
        return status

    async def _run_webhook_reply(self, response: aiohttp.ClientResponse) -> None:
        """Execute a method call the bot returned in its webhook response, like Telegram."""
        content_type = response.content_type
        params: JsonDict
        files: dict[str, UploadedFile] = {}
        if content_type == "application/json":
            try:
                body = await response.json(content_type=None)
            except ValueError:
                # Telegram ignores a webhook answer it cannot read.
                return
            if not isinstance(body, dict) or "method" not in body:
                return
            params = dict(body)
        elif content_type == "multipart/form-data":
            reader = aiohttp.MultipartReader(response.headers, response.content)
            params, files = await read_multipart(reader)
            if "method" not in params:
                return
        else:
            return
        method = str(params.pop("method"))
        await self._process(method, params, files, at=time.monotonic(), source="webhook_reply")

    async def post_to_webhook(
        self,
        update: JsonDict,
        *,
        secret: str | _Unset | None = UNSET,
        url: str | None = None,
    ) -> int:
        """POST one update to the webhook once (no retries, not queued); returns the status.

        ``secret`` defaults to the configured secret token; pass another string (or None
        for no header) to see how the bot treats forged requests.
        """
        if url is None:
            if self.webhook is None:
                raise AssertionError("no webhook is set and no url was given")
            url = self.webhook["url"]
        if isinstance(secret, _Unset):
            secret = self.webhook["secret_token"] if self.webhook else None
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
        self._register_update(update)
        return await self._post_update(update, url, secret)

    async def wait_for_webhook_delivery(
        self,
        update_id: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the documented interface
    ) -> list[int]:
        """Wait until ``update_id`` was delivered (2xx); returns the statuses of all tries."""

        def delivered() -> bool:
            return any(
                uid == update_id and 200 <= status < 300 for uid, status in self.webhook_deliveries
            )

        await self._wait(delivered, timeout, lambda: f"update {update_id} was not delivered")
        return [status for uid, status in self.webhook_deliveries if uid == update_id]

    # ---------------------------------------------------------------- observing

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to ``chat_id``, in order, in their current state."""
        return list(self._sent.get(chat_id, []))

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """One message the bot sent, by id."""
        return self._sent_index.get((chat_id, message_id))

    async def wait_for_message(
        self,
        chat_id: int,
        *,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the documented interface
    ) -> SentMessage:
        """Wait for the next new message to ``chat_id`` (since the previous wait) that matches."""
        found: list[SentMessage] = []

        def check() -> bool:
            messages = self._sent.get(chat_id, [])
            for index in range(self._message_cursors[chat_id], len(messages)):
                if predicate is None or predicate(messages[index]):
                    self._message_cursors[chat_id] = index + 1
                    found.append(messages[index])
                    return True
            return False

        await self._wait(check, timeout, lambda: self._chat_summary(chat_id))
        return found[0]

    async def wait_for_request(
        self,
        method: str,
        *,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the documented interface
        answered: bool = False,
    ) -> RecordedRequest:
        """The first matching request of ``method`` not returned by an earlier wait.

        Requests count from their arrival (a long poll shows up while it waits, with
        status 0); ``answered=True`` waits until the server has also answered it.
        """
        wanted = self._canonical(method).lower()
        found: list[RecordedRequest] = []

        def check() -> bool:
            for index, request in enumerate(self.requests):
                if index in self._consumed_requests or request.method.lower() != wanted:
                    continue
                if answered and request.answered_at is None:
                    continue
                if predicate is None or predicate(request):
                    self._consumed_requests.add(index)
                    found.append(request)
                    return True
            return False

        def summary() -> str:
            seen = [f"{r.method} {r.status}" for r in self.requests if r.method.lower() == wanted]
            return f"no matching {method} request; {method} requests so far: {seen}"

        await self._wait(check, timeout, summary)
        return found[0]

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - same interface as the other waits
    ) -> None:
        """Wait until ``condition()`` holds; it is re-checked whenever server state changes."""
        await self._wait(condition, timeout, lambda: f"condition {condition!r} never held")

    def assert_no_violations(self) -> None:
        """Fail with the list of violations if any request broke the spec or a limit."""
        if self.violations:
            listing = "\n".join(f"  - {violation}" for violation in self.violations)
            raise AssertionError(f"Bot API violations:\n{listing}")

    async def _wait(
        self,
        check: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 - asyncio.wait_for needs the number
        describe: Callable[[], str],
    ) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(check), timeout)
            except TimeoutError:
                raise AssertionError(f"timed out after {timeout}s: {describe()}") from None

    def _chat_summary(self, chat_id: int) -> str:
        messages = self._sent.get(chat_id, [])
        cursor = self._message_cursors[chat_id]
        lines = [
            f"no new matching message to chat {chat_id}; it received {len(messages)} "
            f"message(s), {cursor} already consumed by earlier waits:"
        ]
        for index, sent in enumerate(messages):
            marker = " " if index >= cursor else "x"
            state = " (deleted)" if sent.deleted else ""
            content = sent.text if sent.text is not None else sent.caption
            lines.append(
                f"  [{marker}] #{sent.message_id} {sent.method}{state}: {content!r} "
                f"buttons={sent.buttons}"
            )
        failed = [
            f"{r.method} {r.status} {r.description}"
            for r in self.requests
            if r.answered and not r.ok and r.params.get("chat_id") == chat_id
        ]
        if failed:
            lines.append(f"  failed requests for this chat: {failed}")
        return "\n".join(lines)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; True when it is stopping."""
        if seconds <= 0:
            return self._closing.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
        return self._closing.is_set()

    # -------------------------------------------------------------------- faults

    def fail(
        self,
        method: str,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` (``"*"``: any) fail with ``status``."""
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        description = description or DEFAULT_DESCRIPTIONS.get(status, "Internal Server Error")
        fault = Fault(method, status, description, retry_after, times, chat_id)
        self.faults.append(fault)
        return fault

    def set_delay(self, method: str, seconds: float) -> None:
        """Answer calls of ``method`` (``"*"``: all) only after ``seconds``."""
        self._delays[method.lower()] = seconds

    def _apply_faults(self, call: ApiCall) -> None:
        for fault in self.faults:
            if fault.times > 0 and fault.matches(call.method, call.chat_id):
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                raise fault.error()

    def inject_faults(
        self,
        *,
        rate: float,
        kinds: Sequence[str] = FAULT_KINDS,
        seed: int = 0,
        methods: Collection[str] = SENDING_METHODS,
        retry_after: int = 1,
        timeout_seconds: float = 0.5,
    ) -> None:
        """Fail each call of ``methods`` with probability ``rate`` until :meth:`stop_faults`.

        A failing call gets one of ``kinds``, chosen at random: ``"5xx"`` answers 502 Bad
        Gateway, ``"429"`` Too Many Requests with ``retry_after``, and ``"timeout"`` answers
        504 Gateway Timeout only after ``timeout_seconds``, so a client with a shorter
        timeout sees its own timeout. The same ``seed`` gives the same failures for the same
        sequence of calls. Failed calls deliver nothing; :attr:`injected` counts them by kind
        (cumulatively; clear it to start over). Replaces a storm that is already on.
        """
        self._storm = FaultStorm(
            rate=rate,
            kinds=kinds,
            seed=seed,
            methods=methods,
            retry_after=retry_after,
            timeout_seconds=timeout_seconds,
        )

    def stop_faults(self) -> None:
        """End the storm started by :meth:`inject_faults` (``injected`` keeps its counts)."""
        self._storm = None

    async def _apply_storm(self, call: ApiCall) -> None:
        storm = self._storm
        if storm is None:
            return
        kind = storm.draw(call.method)
        if kind is None:
            return
        # Counted before the timeout's sleep, so a test sees it while its client gives up.
        self.injected[kind] += 1
        if kind == "timeout":
            await self._sleep(storm.timeout_seconds)
            raise ApiError(504, DEFAULT_DESCRIPTIONS[504])
        if kind == "429":
            raise _too_many_requests(storm.retry_after)
        raise ApiError(502, DEFAULT_DESCRIPTIONS[502])

    # ------------------------------------------------------------- send limits

    def enforce_limits(
        self,
        *,
        global_per_second: float = 30,
        private_per_second: float = 1,
        group_per_minute: float = 20,
        retry_after: int = 1,
        paid_per_second: float = 1000,
    ) -> None:
        """Answer sends beyond Telegram's rate limits with 429 and deliver nothing.

        The limits are sliding windows over accepted sends (see :attr:`send_timeline`, timed
        by :attr:`clock`): in any 1 s at most ``global_per_second`` sends overall
        (``paid_per_second`` for sends with ``allow_paid_broadcast``) and
        ``private_per_second`` per private chat, in any 60 s at most ``group_per_minute`` per
        group. Sends accepted before this call count.
        """
        self._enforced = SendLimits(
            global_per_second=global_per_second,
            private_per_second=private_per_second,
            group_per_minute=group_per_minute,
            paid_per_second=paid_per_second,
        )
        self._limit_retry_after = retry_after

    def relax_limits(self) -> None:
        """Stop enforcing the limits (the default); the timeline is still recorded."""
        self._enforced = None

    def limit_breaches(
        self,
        *,
        global_per_second: float = 30,
        private_per_second: float = 1,
        group_per_minute: float = 20,
        paid_per_second: float = 1000,
    ) -> list[str]:
        """Every send in :attr:`send_timeline` that broke these limits; empty when none did.

        Works whether or not the limits were enforced, so a test can prove the bot paces
        itself. Sends listed in :attr:`paid_sends` count against ``paid_per_second``.
        """
        limits = SendLimits(
            global_per_second=global_per_second,
            private_per_second=private_per_second,
            group_per_minute=group_per_minute,
            paid_per_second=paid_per_second,
        )
        return find_breaches(self.send_timeline, limits, self.paid_sends)

    def _admit_send(self, call: ApiCall) -> TimelineEntry:
        """Check the target chat and the limits, then count the send as accepted."""
        # Resolving here gives every sending method Telegram's 400/403 for unknown, blocked
        # and never started chats, also those the server has no handler for.
        state = self._resolve_chat(call.chat_id, sending=True)
        now = self.clock()
        paid = call.params.get("allow_paid_broadcast") is True
        if self._enforced is not None and self._windows.exceeded(
            self._enforced, now, state.id, paid=paid
        ):
            raise _too_many_requests(self._limit_retry_after)
        # Counted before the handler runs so concurrent sends cannot slip past the limit.
        entry: TimelineEntry = (now, state.id, call.method)
        self._windows.add(now, state.id)
        self.send_timeline.append(entry)
        if paid:
            self.paid_sends.add(entry)
        return entry

    def _withdraw_send(self, entry: TimelineEntry) -> None:
        """Forget a send :meth:`_admit_send` counted that the handler then refused."""
        at, chat_id, _ = entry
        self._windows.remove(at, chat_id)
        for index in range(len(self.send_timeline) - 1, -1, -1):
            if self.send_timeline[index] == entry:
                del self.send_timeline[index]
                break
        self.paid_sends.discard(entry)

    # ------------------------------------------------------------ HTTP handling

    def _canonical(self, method: str) -> str:
        lower = method.lower()
        if lower in self._canonical_names:
            return self._canonical_names[lower]
        if self.spec is not None:
            return self.spec.canonical_method(method) or method
        return method

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return await self._handle_not_found(request)
        path = request.match_info["path"]
        for stored in self._files.values():
            if self._file_path(stored) == path and stored.data is not None:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return await self._handle_not_found(request)

    async def _handle_api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        try:
            params, files = await read_request(request)
        except ValueError as error:
            self.violations.append(f"{method}: request body could not be decoded: {error}")
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: can't parse JSON"},
                status=400,
            )
        if request.match_info["token"] != self.token:
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            record = await self._arrive(self._canonical(method), params, files, at, "http")
            await self._finish(record, 401, body)
            return web.json_response(body, status=401)
        status, body = await self._process(method, params, files, at=at, source="http")
        return web.json_response(body, status=status)

    async def _process(
        self,
        method: str,
        raw_params: Mapping[str, Any],
        files: dict[str, UploadedFile],
        *,
        at: float,
        source: str,
    ) -> tuple[int, JsonDict]:
        method = self._canonical(method)
        params = coerce_params(method, raw_params, self.spec)
        link_direct_uploads(params, files)
        record = await self._arrive(method, params, files, at, source)
        status, body = await self._answer(ApiCall(self, method, params, files, at))
        await self._finish(record, status, body)
        return status, body

    async def _arrive(
        self,
        method: str,
        params: JsonDict,
        files: Mapping[str, UploadedFile],
        at: float,
        source: str,
    ) -> RecordedRequest:
        """Record a request as soon as it arrives, so waits see long polls in progress."""
        record = RecordedRequest(
            method=method,
            params=params,
            files={name: upload.data for name, upload in files.items()},
            status=0,
            at=at,
            source=source,
        )
        self.requests.append(record)
        await self._notify()
        return record

    async def _finish(self, record: RecordedRequest, status: int, body: JsonDict) -> None:
        record.status = status
        record.response = body
        record.answered_at = time.monotonic()
        for observer in list(self.observers):
            observer(record)
        await self._notify()

    async def _answer(self, call: ApiCall) -> tuple[int, JsonDict]:
        handler = self._handlers.get(call.method.lower())
        spec_known = self.spec is not None and self.spec.canonical_method(call.method) is not None
        known = spec_known or (self.spec is None and is_sending_method(call.method))
        if handler is None and not known:
            self.violations.append(f"{call.method}: unknown method {call.method!r}")
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        problems: list[Problem] = []
        if spec_known and self.spec is not None:
            problems += self.spec.check_request(call.method, call.params)
        problems += check_limits(call.method, call.params)
        problems += self._check_attachments(call)
        self.violations.extend(f"{call.method}: {problem.message}" for problem in problems)
        try:
            delay = self._delays.get(call.method.lower(), self._delays.get("*", 0.0))
            await self._sleep(delay)
            self._reject(problems)
            self._apply_faults(call)
            await self._apply_storm(call)
            for rule in list(self.rules):
                await rule(call)
            if not is_sending_method(call.method):
                result = await self._run_handler(handler, call)
            else:
                entry = self._admit_send(call)
                try:
                    result = await self._run_handler(handler, call)
                except BaseException:
                    self._withdraw_send(entry)
                    raise
        except ApiError as error:
            return error.status, error.payload()
        return 200, {"ok": True, "result": result}

    @staticmethod
    def _reject(problems: list[Problem]) -> None:
        """Answer like Telegram when one of the problems makes it refuse the request."""
        for problem in problems:
            if problem.reject is not None:
                raise ApiError(problem.status, problem.reject)

    async def _run_handler(self, handler: Handler | None, call: ApiCall) -> Any:
        if handler is not None:
            return await handler(call)
        if self.spec is not None and self.spec.returns(call.method) == ["Boolean"]:
            return True
        self.violations.append(f"{call.method}: not implemented by the fake Bot API server")
        raise ApiError(501, f"Not Implemented: the fake Bot API has no {call.method}")

    def _check_attachments(self, call: ApiCall) -> list[Problem]:
        return [
            Problem(
                f"{ATTACH_PREFIX}{name} refers to no uploaded file part",
                reject="Bad Request: wrong file identifier/HTTP URL specified",
            )
            for name in sorted(attach_references(call.params))
            if name not in call.files
        ]

    # ------------------------------------------------------------- API methods

    def _build_handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "pinchatmessage": self._pin_message,
            "unpinchatmessage": self._unpin_message,
            "answercallbackquery": self._answer_callback_query,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendmediagroup": self._send_media_group,
            "copymessage": self._copy_message,
            "forwardmessage": self._forward_message,
            "getchatmember": self._get_chat_member,
            "getchat": self._get_chat,
            "sendchataction": self._send_chat_action,
            "setmydescription": self._set_profile,
            "setmyshortdescription": self._set_profile,
            "setmyname": self._set_profile,
            "getmydescription": self._get_my_description,
            "getmyshortdescription": self._get_my_short_description,
            "getmyname": self._get_my_name,
            "approvechatjoinrequest": self._approve_join_request,
            "declinechatjoinrequest": self._decline_join_request,
            "banchatmember": self._ban_chat_member,
            "unbanchatmember": self._unban_chat_member,
            "createchatinvitelink": self._create_invite_link,
            "getfile": self._get_file,
            "close": self._true,
            "logout": self._true,
        }
        return handlers

    async def _true(self, call: ApiCall) -> bool:
        return True

    async def _get_me(self, call: ApiCall) -> JsonDict:
        return self.bot_user

    # getUpdates / webhook

    async def _get_updates(self, call: ApiCall) -> list[JsonDict]:
        if self.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        params = call.params
        self.get_updates_calls += 1
        self._set_allowed_updates(params.get("allowed_updates"))
        offset = params.get("offset")
        if isinstance(offset, int):
            self._confirm(offset)
        limit = params.get("limit")
        limit = min(max(limit, 1), MAX_UPDATES_PER_CALL) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        timeout = timeout if isinstance(timeout, int | float) and timeout > 0 else 0
        self._poll_generation += 1
        generation = self._poll_generation

        def ready() -> bool:
            return (
                self._closing.is_set()
                or self._poll_generation != generation
                or self.webhook is not None
                or self._filter_pending()
            )

        async with self._changed:
            must_wait = bool(timeout) and not ready()
            if must_wait:
                self.long_polls_waiting += 1
            # Wake an older long poll so it can answer with the 409 Telegram sends.
            self._changed.notify_all()
            if must_wait:
                try:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait_for(ready), timeout)
                finally:
                    self.long_polls_waiting -= 1
        if self._poll_generation != generation:
            raise ApiError(409, CONFLICT_OTHER_POLL)
        if self.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        self._filter_pending()
        return copy.deepcopy(self._pending[:limit])

    async def _set_webhook(self, call: ApiCall) -> bool:
        params = call.params
        url = params.get("url") or ""
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._set_allowed_updates(params.get("allowed_updates"))
        if not url:
            self.webhook = None
        else:
            self.webhook = {
                "url": url,
                "secret_token": params.get("secret_token"),
                "allowed_updates": params.get("allowed_updates"),
                "drop_pending_updates": bool(params.get("drop_pending_updates")),
                "max_connections": params.get("max_connections", 40),
            }
            self._webhook_error = None
            self._kick_webhook()
        await self._notify()
        return True

    async def _delete_webhook(self, call: ApiCall) -> bool:
        if call.params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = None
        await self._notify()
        return True

    async def _get_webhook_info(self, call: ApiCall) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook["max_connections"]
            info["ip_address"] = "127.0.0.1"
            if self._allowed_updates is not None:
                info["allowed_updates"] = list(self._allowed_updates)
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    # commands and profile

    async def _set_my_commands(self, call: ApiCall) -> bool:
        key = (_scope_key(call.params.get("scope")), call.params.get("language_code") or "")
        commands = call.params.get("commands") or []
        if commands:
            self.commands[key] = copy.deepcopy(commands)
        else:
            # Telegram treats an empty list like deleteMyCommands.
            self.commands.pop(key, None)
        return True

    async def _delete_my_commands(self, call: ApiCall) -> bool:
        key = (_scope_key(call.params.get("scope")), call.params.get("language_code") or "")
        self.commands.pop(key, None)
        return True

    async def _set_chat_menu_button(self, call: ApiCall) -> bool:
        # Known without the spec too: the bot sets organisers' Mini App button at start-up.
        button = call.params.get("menu_button") or {"type": "default"}
        self.menu_buttons[call.params.get("chat_id")] = copy.deepcopy(button)
        return True

    async def _get_chat_menu_button(self, call: ApiCall) -> JsonDict:
        chat_id = call.params.get("chat_id")
        return copy.deepcopy(
            self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "default"}))
        )

    async def _get_my_commands(self, call: ApiCall) -> list[JsonDict]:
        key = (_scope_key(call.params.get("scope")), call.params.get("language_code") or "")
        return copy.deepcopy(self.commands.get(key, []))

    async def _set_profile(self, call: ApiCall) -> bool:
        kind = _PROFILE_FIELDS[call.method.lower()]
        key = (kind, call.params.get("language_code") or "")
        value = call.params.get(kind) or ""
        if value:
            self.profile[key] = value
        else:
            self.profile.pop(key, None)
        return True

    def _profile_value(self, kind: str, call: ApiCall) -> str:
        language = call.params.get("language_code") or ""
        value = self.profile.get((kind, language))
        if value is None and not language:
            value = self.bot_first_name if kind == "name" else ""
        return value or ""

    async def _get_my_description(self, call: ApiCall) -> JsonDict:
        return {"description": self._profile_value("description", call)}

    async def _get_my_short_description(self, call: ApiCall) -> JsonDict:
        return {"short_description": self._profile_value("short_description", call)}

    async def _get_my_name(self, call: ApiCall) -> JsonDict:
        return {"name": self._profile_value("name", call)}

    # chats

    def _resolve_chat(self, value: Any, *, sending: bool) -> _ChatState:
        """The target chat, raising Telegram's errors for unknown and blocked chats."""
        state: _ChatState | None = None
        if isinstance(value, int):
            state = self._chats.get(value)
        elif isinstance(value, str) and value.startswith("@"):
            state = next(
                (
                    s
                    for s in self._chats.values()
                    if not s.is_private and s.data.get("username") == value[1:]
                ),
                None,
            )
        if state is None:
            raise ApiError(400, "Bad Request: chat not found")
        if state.blocked and not state.is_private:
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
        if sending and state.is_private:
            if state.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not state.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return state

    def _resolve_group(self, value: Any) -> _ChatState:
        state = self._resolve_chat(value, sending=False)
        if state.is_private:
            raise ApiError(400, GROUPS_ONLY)
        return state

    async def _get_chat(self, call: ApiCall) -> JsonDict:
        state = self._resolve_chat(call.params.get("chat_id"), sending=False)
        return {
            **copy.deepcopy(state.data),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _get_chat_member(self, call: ApiCall) -> JsonDict:
        state = self._resolve_chat(call.params.get("chat_id"), sending=False)
        user_id = call.params.get("user_id")
        if not isinstance(user_id, int):
            raise ApiError(400, "Bad Request: invalid user_id specified")
        return self._member_object(user_id, self.member_status(state.id, user_id))

    async def _send_chat_action(self, call: ApiCall) -> bool:
        self._resolve_chat(call.params.get("chat_id"), sending=True)
        return True

    async def _approve_join_request(self, call: ApiCall) -> bool:
        state, user_id = self._take_join_request(call)
        await self.change_member_status(state.id, user_id, "member", via_join_request=True)
        return True

    async def _decline_join_request(self, call: ApiCall) -> bool:
        self._take_join_request(call)
        return True

    def _take_join_request(self, call: ApiCall) -> tuple[_ChatState, int]:
        state = self._resolve_group(call.params.get("chat_id"))
        user_id = call.params.get("user_id")
        if user_id not in state.join_requests:
            raise ApiError(400, "Bad Request: HIDE_REQUESTER_MISSING")
        state.join_requests.discard(user_id)
        return state, int(user_id)

    async def _ban_chat_member(self, call: ApiCall) -> bool:
        state = self._resolve_group(call.params.get("chat_id"))
        user_id = int(call.params.get("user_id", 0))
        status = self.member_status(state.id, user_id)
        if status == "creator":
            raise ApiError(400, "Bad Request: can't remove chat owner")
        if status != "kicked":
            await self.change_member_status(state.id, user_id, "kicked")
        return True

    async def _unban_chat_member(self, call: ApiCall) -> bool:
        state = self._resolve_group(call.params.get("chat_id"))
        user_id = int(call.params.get("user_id", 0))
        status = self.member_status(state.id, user_id)
        if status == "creator":
            raise ApiError(400, "Bad Request: can't remove chat owner")
        if status == "left" or (call.params.get("only_if_banned") and status != "kicked"):
            return True
        # Without only_if_banned Telegram also removes current members from the chat.
        await self.change_member_status(state.id, user_id, "left")
        return True

    async def _create_invite_link(self, call: ApiCall) -> JsonDict:
        self._resolve_group(call.params.get("chat_id"))
        params = call.params
        link: JsonDict = {
            "invite_link": f"https://t.me/+fakeInvite{next(self._invite_counter):06d}",
            "creator": self._bot_from(),
            "creates_join_request": bool(params.get("creates_join_request")),
            "is_primary": False,
            "is_revoked": False,
        }
        for key in ("name", "expire_date", "member_limit"):
            if params.get(key) is not None:
                link[key] = params[key]
        self.invite_links.append({**link, "chat_id": params.get("chat_id")})
        return link

    # messages

    def _new_message(self, state: _ChatState, content: Mapping[str, Any]) -> JsonDict:
        message: JsonDict = {
            "message_id": state.next_message_id(),
            "from": self._bot_from(),
            "chat": copy.deepcopy(state.data),
            "date": _now(),
        }
        message.update(content)
        return message

    def _store_sent(self, state: _ChatState, sent: SentMessage) -> SentMessage:
        self._sent[state.id].append(sent)
        self._sent_index[(state.id, sent.message_id)] = sent
        self._messages[(state.id, sent.message_id)] = sent.message
        return sent

    def _reply_content(self, state: _ChatState, params: Mapping[str, Any]) -> JsonDict:
        """reply_to_message for reply_parameters / reply_to_message_id, like Telegram."""
        reply = params.get("reply_parameters")
        if isinstance(reply, Mapping):
            message_id = reply.get("message_id")
            chat_id = reply.get("chat_id", state.id)
            tolerant = bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            message_id = params.get("reply_to_message_id")
            chat_id = state.id
            tolerant = bool(params.get("allow_sending_without_reply"))
        else:
            return {}
        original = self._messages.get((chat_id, message_id))
        if original is None:
            if tolerant:
                return {}
            raise ApiError(400, "Bad Request: message to be replied not found")
        return {"reply_to_message": _quoted(original)}

    def _formatted(
        self, params: Mapping[str, Any], text_field: str, entities_field: str
    ) -> tuple[str, list[JsonDict]]:
        raw = params.get(text_field)
        if not isinstance(raw, str):
            return "", []
        mode = params.get("parse_mode")
        formatted = format_text(raw, mode if isinstance(mode, str) else None)
        entities = formatted.entities
        if not (isinstance(mode, str) and mode) and isinstance(params.get(entities_field), list):
            entities = copy.deepcopy(params[entities_field])
        return formatted.text, entities

    async def _send_message(self, call: ApiCall) -> JsonDict:
        params = call.params
        state = self._resolve_chat(params.get("chat_id"), sending=True)
        raw = params.get("text")
        if not isinstance(raw, str) or not raw.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        text, entities = self._formatted(params, "text", "entities")
        content: JsonDict = {"text": text}
        if entities:
            content["entities"] = entities
        content.update(self._reply_content(state, params))
        markup = _inline_markup(params.get("reply_markup"))
        if markup is not None:
            content["reply_markup"] = copy.deepcopy(markup)
        message = self._new_message(state, content)
        sent = SentMessage(
            chat_id=state.id,
            message_id=message["message_id"],
            method=call.method,
            text=text,
            html=raw,
            parse_mode=params.get("parse_mode"),
            reply_markup=copy.deepcopy(params.get("reply_markup")),
            message=message,
        )
        self._store_sent(state, sent)
        return sent.as_message()

    def _store_file(self, value: Any, files: Mapping[str, UploadedFile]) -> _StoredFile:
        if isinstance(value, str) and value.startswith(ATTACH_PREFIX):
            upload = files[value.removeprefix(ATTACH_PREFIX)]
            return self._new_file(upload.data, upload.filename, upload.content_type)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and _URL_RE.fullmatch(value):
            stored = self._new_file(None, value.rsplit("/", 1)[-1] or None, None)
            stored.url = value
            return stored
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _new_file(self, data: bytes | None, filename: str | None, mime: str | None) -> _StoredFile:
        number = next(self._file_counter)
        stored = _StoredFile(
            file_id=f"BQACAgIAAxkBAAIfake{number:06d}",
            file_unique_id=f"AgADfake{number:06d}",
            data=data,
            filename=filename,
            mime_type=mime,
        )
        self._files[stored.file_id] = stored
        return stored

    def add_file(
        self, data: bytes, filename: str = "file.bin", mime_type: str = "application/octet-stream"
    ) -> str:
        """Register a file the bot may send by file_id; returns that file_id."""
        return self._new_file(data, filename, mime_type).file_id

    async def _send_media(self, call: ApiCall, kind: str) -> JsonDict:
        params = call.params
        state = self._resolve_chat(params.get("chat_id"), sending=True)
        value = params.get(kind)
        if value is None:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        stored = self._store_file(value, call.files)
        content: JsonDict = {kind: self._media_object(stored, kind)}
        caption, entities = self._formatted(params, "caption", "caption_entities")
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        content.update(self._reply_content(state, params))
        markup = _inline_markup(params.get("reply_markup"))
        if markup is not None:
            content["reply_markup"] = copy.deepcopy(markup)
        message = self._new_message(state, content)
        uploaded = isinstance(value, str) and value.startswith(ATTACH_PREFIX)
        payload = stored.data if uploaded and stored.data is not None else str(value)
        sent = SentMessage(
            chat_id=state.id,
            message_id=message["message_id"],
            method=call.method,
            html=params.get("caption"),
            parse_mode=params.get("parse_mode"),
            caption=caption or None,
            reply_markup=copy.deepcopy(params.get("reply_markup")),
            message=message,
        )
        setattr(sent, kind, payload)
        self._store_sent(state, sent)
        return sent.as_message()

    def _media_object(self, stored: _StoredFile, kind: str) -> Any:
        base: JsonDict = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.size is not None:
            base["file_size"] = stored.size
        if kind == "photo":
            return [{**base, "width": 320, "height": 320}]
        if stored.filename:
            base["file_name"] = stored.filename
        if stored.mime_type:
            base["mime_type"] = stored.mime_type
        return base

    async def _send_document(self, call: ApiCall) -> JsonDict:
        return await self._send_media(call, "document")

    async def _send_photo(self, call: ApiCall) -> JsonDict:
        return await self._send_media(call, "photo")

    async def _send_media_group(self, call: ApiCall) -> list[JsonDict]:
        """An album: each photo or document a message of its own, as Telegram sends them."""
        params = call.params
        state = self._resolve_chat(params.get("chat_id"), sending=True)
        media = params.get("media")
        if isinstance(media, str):
            media = json.loads(media)
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: media must include 2-10 items")
        group_id = str(next(self._media_group_ids))
        sent_messages = []
        for item in media:
            kind = item.get("type")
            if kind not in {"photo", "document"}:
                raise ApiError(400, f"Bad Request: unsupported media type {kind!r}")
            stored = self._store_file(item.get("media"), call.files)
            content: JsonDict = {
                kind: self._media_object(stored, kind),
                "media_group_id": group_id,
            }
            if item.get("caption"):
                content["caption"] = item["caption"]
            message = self._new_message(state, content)
            sent = SentMessage(
                chat_id=state.id,
                message_id=message["message_id"],
                method=call.method,
                caption=item.get("caption"),
                message=message,
            )
            setattr(sent, kind, stored.data if stored.data is not None else item.get("media"))
            self._store_sent(state, sent)
            sent_messages.append(sent.as_message())
        return sent_messages

    def _source_message(self, call: ApiCall, what: str) -> tuple[_ChatState, JsonDict]:
        source_chat = self._resolve_chat(call.params.get("from_chat_id"), sending=False)
        source = self._messages.get((source_chat.id, call.params.get("message_id")))
        if source is None:
            raise ApiError(400, f"Bad Request: message to {what} not found")
        return source_chat, source

    def _copy_sent(
        self,
        state: _ChatState,
        source_chat: _ChatState,
        source: JsonDict,
        method: str,
        message: JsonDict,
        params: Mapping[str, Any],
    ) -> SentMessage:
        original = self._sent_index.get((source_chat.id, source["message_id"]))
        sent = SentMessage(
            chat_id=state.id,
            message_id=message["message_id"],
            method=method,
            text=message.get("text"),
            html=original.html if original else message.get("text") or message.get("caption"),
            parse_mode=original.parse_mode if original else None,
            caption=message.get("caption"),
            reply_markup=copy.deepcopy(params.get("reply_markup")),
            message=message,
        )
        if original is not None:
            sent.document, sent.photo = original.document, original.photo
        else:
            if "document" in source:
                sent.document = source["document"]["file_id"]
            if "photo" in source:
                sent.photo = source["photo"][-1]["file_id"]
        return self._store_sent(state, sent)

    async def _copy_message(self, call: ApiCall) -> JsonDict:
        params = call.params
        source_chat, source = self._source_message(call, "copy")
        state = self._resolve_chat(params.get("chat_id"), sending=True)
        content = {
            key: copy.deepcopy(value)
            for key, value in source.items()
            if key in {"text", "entities", "document", "photo", "caption", "caption_entities"}
        }
        if "caption" in params:
            caption, entities = self._formatted(params, "caption", "caption_entities")
            content.pop("caption_entities", None)
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        content.update(self._reply_content(state, params))
        markup = _inline_markup(params.get("reply_markup"))
        if markup is not None:
            content["reply_markup"] = copy.deepcopy(markup)
        message = self._new_message(state, content)
        sent = self._copy_sent(state, source_chat, source, call.method, message, params)
        if "caption" in params:
            sent.html = params.get("caption")
            sent.parse_mode = params.get("parse_mode")
        return {"message_id": sent.message_id}

    async def _forward_message(self, call: ApiCall) -> JsonDict:
        params = call.params
        source_chat, source = self._source_message(call, "forward")
        state = self._resolve_chat(params.get("chat_id"), sending=True)
        content = {
            key: copy.deepcopy(value)
            for key, value in source.items()
            if key in {"text", "entities", "document", "photo", "caption", "caption_entities"}
        }
        sender = source.get("from") or self._bot_from()
        content["forward_origin"] = copy.deepcopy(
            source.get("forward_origin")
            or {"type": "user", "sender_user": sender, "date": source["date"]}
        )
        message = self._new_message(state, content)
        sent = self._copy_sent(state, source_chat, source, call.method, message, params)
        return sent.as_message()

    def _edit_target(self, call: ApiCall) -> SentMessage:
        params = call.params
        if params.get("inline_message_id") is not None:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        state = self._resolve_chat(params.get("chat_id"), sending=True)
        key = (state.id, params.get("message_id"))
        sent = self._sent_index.get(key)
        if sent is None or sent.deleted:
            if key in self._messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return sent

    def _apply_edit(self, sent: SentMessage, changes: JsonDict, markup: Any) -> JsonDict:
        message = sent.message
        new_inline = _inline_markup(markup)
        unchanged = all(message.get(key) == value for key, value in changes.items())
        if unchanged and message.get("reply_markup") == new_inline:
            raise ApiError(400, NOT_MODIFIED)
        for key, value in changes.items():
            if value in (None, []):
                message.pop(key, None)
            else:
                message[key] = copy.deepcopy(value)
        if new_inline is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = copy.deepcopy(new_inline)
        # Editing without reply_markup removes an inline keyboard, as on Telegram.
        if new_inline is not None or _inline_markup(sent.reply_markup) is not None:
            sent.reply_markup = copy.deepcopy(new_inline)
        message["edit_date"] = _now()
        sent.edits += 1
        return sent.as_message()

    async def _edit_message_text(self, call: ApiCall) -> JsonDict:
        sent = self._edit_target(call)
        raw = call.params.get("text")
        if not isinstance(raw, str) or not raw.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if "text" not in sent.message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = self._formatted(call.params, "text", "entities")
        result = self._apply_edit(
            sent, {"text": text, "entities": entities or None}, call.params.get("reply_markup")
        )
        sent.text, sent.html = text, raw
        sent.parse_mode = call.params.get("parse_mode")
        return result

    async def _edit_message_caption(self, call: ApiCall) -> JsonDict:
        sent = self._edit_target(call)
        if "text" in sent.message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, entities = self._formatted(call.params, "caption", "caption_entities")
        result = self._apply_edit(
            sent,
            {"caption": caption or None, "caption_entities": entities or None},
            call.params.get("reply_markup"),
        )
        sent.caption = caption or None
        sent.html = call.params.get("caption")
        sent.parse_mode = call.params.get("parse_mode")
        return result

    async def _edit_message_reply_markup(self, call: ApiCall) -> JsonDict:
        sent = self._edit_target(call)
        return self._apply_edit(sent, {}, call.params.get("reply_markup"))

    def _delete(self, chat_id: int, message_id: Any) -> bool:
        key = (chat_id, message_id)
        if key not in self._messages:
            return False
        del self._messages[key]
        sent = self._sent_index.get(key)
        if sent is not None:
            sent.deleted = True
        return True

    async def _delete_message(self, call: ApiCall) -> bool:
        state = self._resolve_chat(call.params.get("chat_id"), sending=False)
        if not self._delete(state.id, call.params.get("message_id")):
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _delete_messages(self, call: ApiCall) -> bool:
        state = self._resolve_chat(call.params.get("chat_id"), sending=False)
        for message_id in call.params.get("message_ids") or []:
            self._delete(state.id, message_id)
        return True

    async def _pin_message(self, call: ApiCall) -> bool:
        state = self._resolve_chat(call.params.get("chat_id"), sending=False)
        message_id = call.params.get("message_id")
        if (state.id, message_id) not in self._messages:
            raise ApiError(400, "Bad Request: message to pin not found")
        self.pinned[state.id] = message_id
        return True

    async def _unpin_message(self, call: ApiCall) -> bool:
        state = self._resolve_chat(call.params.get("chat_id"), sending=False)
        message_id = call.params.get("message_id")
        if message_id is None or self.pinned.get(state.id) == message_id:
            self.pinned.pop(state.id, None)
        return True

    async def _answer_callback_query(self, call: ApiCall) -> bool:
        query_id = call.params.get("callback_query_id")
        if query_id not in self._open_callbacks:
            raise ApiError(400, CALLBACK_TOO_OLD)
        self._open_callbacks.discard(query_id)
        self.callback_answers.append(copy.deepcopy(call.params))
        return True

    # files

    def _file_path(self, stored: _StoredFile) -> str:
        return f"documents/{stored.file_unique_id}_{stored.filename or 'file'}"

    async def _get_file(self, call: ApiCall) -> JsonDict:
        stored = self._files.get(str(call.params.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        result: JsonDict = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.size is not None:
            result["file_size"] = stored.size
            result["file_path"] = self._file_path(stored)
        return result
