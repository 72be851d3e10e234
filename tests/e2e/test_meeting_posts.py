"""End to end: a meeting posted into its group's chat is kept current in place while members
answer under it, within Telegram's rate for groups (polling, the scheduler's pacer, real HTTP).

The fake server counts sends against the group limit; edits of a post count there on Telegram
as well, so a rule here holds edits to the same 20 per minute per group (answering 429 beyond
it, as Telegram would) and records when each edit arrived.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Application, run_polling
from bot.services import schedule
from bot.services.kv_setup import apply_setup, load_setup
from bot.telegram.callbacks import HostAction, HostCallback, RsvpAction, RsvpCallback
from models import Group
from models.base import utcnow
from tests.fakebotapi import ApiCall, ApiError, FakeBotAPI, SendLimits, TimelineEntry, find_breaches
from tests.fakebotapi.pacing import SlidingWindows
from tests.members import signed_up

pytestmark = pytest.mark.e2e

MEMBERS = 30


class EditLimit:
    """A fake-server rule: edits in groups count against 20 per minute per group."""

    def __init__(self, server: FakeBotAPI) -> None:
        self.server = server
        self.limits = SendLimits()
        self.windows = SlidingWindows()
        self.timeline: list[TimelineEntry] = []
        self.refused = 0

    async def __call__(self, call: ApiCall) -> None:
        chat_id = call.chat_id
        if call.method != "editMessageText" or not isinstance(chat_id, int) or chat_id >= 0:
            return
        now = self.server.clock()
        if self.windows.exceeded(self.limits, now, chat_id, paid=False):
            self.refused += 1
            raise ApiError(429, "Too Many Requests: retry after 5", retry_after=5)
        self.windows.add(now, chat_id)
        self.timeline.append((now, chat_id, call.method))


def _setup(host_id: int, chat_id: int) -> str:
    return f"""
name: KV Testhausen
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    meets: every Thursday 19:00
    place: Café Rosa
    hosts: [{host_id}]
telegram_groups:
  - chat_id: {chat_id}
    title: Stammtisch Mitte Chat
    group: stammtisch-mitte
"""


def _panel(chat: dict[str, Any]) -> dict[str, Any]:
    """The host panel's message the POST button sits under."""
    return {"message_id": 5, "date": int(time.time()), "chat": chat, "text": "Panel"}


async def test_a_post_is_updated_in_place_within_the_group_rate(
    app: Application, fake_api: FakeBotAPI
) -> None:
    host = fake_api.add_user(first_name="Hanna")
    chat = fake_api.add_group("Stammtisch Mitte Chat")
    members = [fake_api.add_user(first_name=f"M{n}") for n in range(MEMBERS)]
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(_setup(host.id, chat.id)))
        await schedule.extend_horizon(session, now=utcnow(), zone=app.settings.zone)
        await session.commit()
        group_id = await session.scalar(select(Group.id).where(Group.key == "stammtisch-mitte"))
        meeting = await schedule.next_meeting(session, group_id, now=utcnow())
        assert meeting is not None
    for person in (host, *members):
        await signed_up(app.session_pool, person)
    edits = EditLimit(fake_api)
    fake_api.rules.append(edits)
    fake_api.enforce_limits()

    task = asyncio.create_task(run_polling(app, handle_signals=False))
    try:
        await fake_api.wait_until(lambda: fake_api.long_polls_waiting > 0, timeout=15)
        # Group chats get their own menu: what the bot answers there.
        groups = '{"type":"all_group_chats"}'
        menus = {code: fake_api.commands[(groups, code)] for code in ("", "de", "en")}
        assert {code: [c["command"] for c in menu] for code, menu in menus.items()} == {
            "": ["termine"],
            "de": ["termine"],
            "en": ["dates"],
        }
        assert menus["en"][0]["description"] == "The next meetings"
        data = HostCallback(action=HostAction.POST, meeting_id=meeting.id, value=1).pack()
        await host.press(_panel(host.private_chat), data)
        report = await fake_api.wait_for_message(host.id, timeout=15)
        assert report.text.startswith("📌 In Stammtisch Mitte Chat gepostet und angeheftet.")
        [post] = fake_api.sent_to(chat.id)
        assert "✅ 0 · 🤔 0 · ❌ 0" in post.text

        # Everyone answers within a few seconds, a few of them twice.
        answers = [RsvpAction.YES] * 20 + [RsvpAction.MAYBE] * 6 + [RsvpAction.NO] * 4
        for person, action in zip(members, answers, strict=True):
            await person.press(post, RsvpCallback(action=action, meeting_id=meeting.id).pack())
            await asyncio.sleep(0.1)
        for person in members[:4]:
            await person.press(
                post, RsvpCallback(action=RsvpAction.NO, meeting_id=meeting.id).pack()
            )
        expected = "✅ 16 · 🤔 6 · ❌ 8"
        await fake_api.wait_until(lambda: expected in (post.text or ""), timeout=30)
        # Settled: no further edits come once the post shows what is true.
        settled = post.edits
        await asyncio.sleep(4)
        assert post.edits == settled
    finally:
        await app.dispatcher.stop_polling()
        await asyncio.wait_for(task, timeout=10)

    # Every press was answered in the presser's chat, none of them with an alert.
    toasts = [answer for answer in fake_api.callback_answers if "url" not in answer]
    assert len(toasts) >= MEMBERS + 4
    assert not any(answer.get("show_alert") for answer in toasts[1:])
    # One post, edited in place: far fewer edits than answers, none refused, none too fast.
    assert len(fake_api.sent_to(chat.id)) == 1
    assert 1 <= post.edits <= 10
    assert edits.refused == 0
    assert find_breaches(edits.timeline, SendLimits()) == []
    times = [at for at, _chat, _method in edits.timeline]
    assert all(later - earlier >= 2.9 for earlier, later in itertools.pairwise(times))
    assert fake_api.limit_breaches() == []
    assert post.reply_markup is not None
