"""Drive the real Dispatcher with updates from the fake server's simulated people."""

from __future__ import annotations

import socket
from typing import Any

from bot.app import Application
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now, for a bot's web server in a test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotDriver:
    """Feeds one update at a time through the real dispatcher and middlewares.

    Handling is awaited, so a test reads what the bot sent without waiting or sleeping. The
    replies still travel over HTTP to the fake server, which checks them against the spec.
    """

    def __init__(self, app: Application, server: FakeBotAPI) -> None:
        self.app = app
        self.server = server

    async def feed(self, update: dict[str, Any]) -> None:
        """Handle one update as polling or a webhook would."""
        await self.app.dispatcher.feed_raw_update(self.app.bot, update)

    async def deliver(self, user: FakeUser, update: dict[str, Any]) -> list[SentMessage]:
        """Handle an update from `user`; returns the new messages to their private chat."""
        before = len(self.server.sent_to(user.id))
        await self.feed(update)
        return self.server.sent_to(user.id)[before:]

    async def send(self, user: FakeUser, text: str, **options: Any) -> list[SentMessage]:
        """`user` writes `text` to the bot; returns the messages the bot sent to that chat."""
        return await self.deliver(user, await user.send_message(text, **options))

    async def press(
        self, user: FakeUser, message: SentMessage, callback_data: str
    ) -> list[SentMessage]:
        """`user` presses a button; returns new messages to that chat (edits show in `message`)."""
        return await self.deliver(user, await user.press(message, callback_data))

    def last_answer(self) -> dict[str, Any]:
        """The most recent answerCallbackQuery parameters."""
        assert self.server.callback_answers, "no callback query was answered"
        return self.server.callback_answers[-1]

    async def rsvp(
        self, user: FakeUser, listing: SentMessage, index: int, action: str = "y"
    ) -> SentMessage:
        """From a /termine list: open the `index`th date's card and press its answer `action`
        (y, m or n); returns the card."""
        [card] = await self.press(user, listing, listing.buttons[index][1])
        [data] = [data for _label, data in card.buttons if data.startswith(f"rv1:{action}:")]
        await self.press(user, card, data)
        return card
