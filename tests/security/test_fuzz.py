"""Thousands of generated updates through the real dispatcher against the fake Bot API: no
unhandled exception, no ERROR in the log, every request valid against the spec, every press
answered.

SECURITY_FUZZ_UPDATES sets how many (default 10,000, in batches of 100 per Hypothesis example;
the seed is fixed, so a run is reproducible); SECURITY_FUZZ_UPDATES_PG the count on PostgreSQL
(default 2,000: slower per update, and a server shared in CI). SECURITY_FUZZ_KNOWN=0 leaves
out the shapes of the defects fixed on other branches (ids past 2^63 and "²" as an id: branch
links; double taps hitting "message is not modified": branch tgretry), to see whether anything
else fails.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from bot.app import Application
from tests.fakebotapi import FakeBotAPI, FakeChat, FakeUser
from tests.security import figures
from tests.security.harness import ANCHOR_MARKUP
from tests.security.updates import Step, steps
from tests.security.world import World, build_world

BATCH = 100
UPDATES = int(os.environ.get("SECURITY_FUZZ_UPDATES", "10000"))
# PostgreSQL is slower per update and shared in CI: a smaller count by default.
UPDATES_POSTGRESQL = int(os.environ.get("SECURITY_FUZZ_UPDATES_PG", "2000"))
KNOWN_DEFECTS = os.environ.get("SECURITY_FUZZ_KNOWN", "1") != "0"
STRANGERS = 4
CHANNEL_ID = -1009990001


class Fuzz:
    """Turns steps into updates and feeds them; counts what happened."""

    def __init__(self, app: Application, server: FakeBotAPI, world: World) -> None:
        self.app = app
        self.server = server
        self.world = world
        self.people: list[FakeUser] = [*world.people.values()] + [
            server.add_user(first_name=f"Fremd{n}", language_code=lang)
            for n, lang in enumerate(["de", "en", None, "fr"][:STRANGERS])
        ]
        self.unknown: FakeChat = server.add_group("Unbekannte Gruppe")
        self.updates = 0
        self.presses = 0
        self.message_ids = 10_000
        self.blocked: set[int] = set()

    def chat(self, where: str) -> FakeChat | None:
        return {"served": self.world.chat, "unknown": self.unknown}.get(where)

    async def feed(self, update: dict[str, Any]) -> None:
        self.updates += 1
        await self.app.dispatcher.feed_raw_update(self.app.bot, update)

    async def run(self, step: Step) -> list[str]:
        """Feed the updates of `step`; returns the callback query ids it opened."""
        user = self.people[step.who]
        server = self.server
        if user.id in self.blocked and step.kind in {"text", "edited", "press"}:
            # Writing to a bot one blocked unblocks it (Telegram says so with an update).
            self.blocked.discard(user.id)
            await self.feed(await server.user_blocks(user, blocked=False))
        if step.kind == "text" and step.where == "channel":
            self.message_ids += 1
            post = {
                "message_id": self.message_ids,
                "chat": {"id": CHANNEL_ID, "type": "channel", "title": "Kanal"},
                "sender_chat": {"id": CHANNEL_ID, "type": "channel", "title": "Kanal"},
                "date": int(time.time()),
                "text": step.text or "·",
            }
            await self.feed(await server.push_update({"channel_post": post}))
        elif step.kind == "text":
            chat = self.chat(step.where)
            if chat is not None and server.member_status(chat.id, user.id) in {"left", "kicked"}:
                # Only members write in a group: they came back meanwhile.
                server.set_member_status(chat.id, user.id, "member")
            await self.feed(await server.user_sends(user, step.text or "·", chat=chat))
        elif step.kind == "edited":
            self.message_ids += 1
            edited = {
                "message_id": self.message_ids,
                "from": user.as_dict(),
                "chat": user.private_chat,
                "date": int(time.time()) - 60,
                "edit_date": int(time.time()),
                "text": step.text or "·",
            }
            await self.feed(await server.push_update({"edited_message": edited}))
        elif step.kind == "press":
            chat = self.chat(step.where)
            sent = await self.app.bot.send_message(
                chat.id if chat is not None else user.id, "·", reply_markup=ANCHOR_MARKUP
            )
            message = server.message(sent.chat.id, sent.message_id)
            assert message is not None
            opened = []
            for _ in range(2 if step.twice else 1):
                update = await server.user_presses(user, message, step.data)
                opened.append(update["callback_query"]["id"])
                self.presses += 1
                await self.feed(update)
            return opened
        elif step.kind == "member":
            chat = self.chat(step.where)
            assert chat is not None
            await self.feed(await server.change_member_status(chat.id, user.id, step.status))
        elif step.kind == "block":
            blocked = step.status == "kicked"
            (self.blocked.add if blocked else self.blocked.discard)(user.id)
            await self.feed(await server.user_blocks(user, blocked=blocked))
        elif step.kind == "join":
            chat = self.chat(step.where)
            assert chat is not None
            await self.feed(await server.user_requests_join(user, chat))
        return []


@pytest.fixture
async def world(app: Application, fake_api: FakeBotAPI, admin_user: FakeUser) -> World:
    return await build_world(app, fake_api, admin_user)


async def test_generated_updates_break_nothing(
    app: Application,
    fake_api: FakeBotAPI,
    world: World,
    caplog: pytest.LogCaptureFixture,
    database_url: str,
) -> None:
    caplog.set_level(logging.INFO)
    fuzz = Fuzz(app, fake_api, world)
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    wanted = UPDATES_POSTGRESQL if backend == "postgresql" else UPDATES
    examples = max(1, wanted // BATCH)
    started = time.perf_counter()
    problems: list[str] = []

    # Hypothesis draws the batches (reproducibly: fixed seed, derandomized); they are fed
    # afterwards on the test's event loop, which a Hypothesis test body can't await on.
    batches: list[list[Step]] = []

    @seed(20261201)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(
        batch=st.lists(
            steps(len(fuzz.people), known_defects=KNOWN_DEFECTS), min_size=BATCH, max_size=BATCH
        )
    )
    def draw(batch: list[Step]) -> None:
        batches.append(batch)

    draw()
    for number, batch in enumerate(batches):
        caplog.clear()
        opened: list[str] = []
        for step in batch:
            opened.extend(await fuzz.run(step))
        errors = [
            f"{record.name}: {record.getMessage()}"
            for record in caplog.records
            if record.levelno >= logging.ERROR or record.exc_info
        ]
        unanswered = [query for query in opened if query in fake_api._open_callbacks]
        # The fake server keeps every update it queued; nobody polls them here.
        fake_api._pending.clear()
        if errors or unanswered or fake_api.violations:
            problems.append(
                f"batch {number}: errors {errors[:5]}, unanswered {len(unanswered)}, "
                f"violations {fake_api.violations[:3]}; steps: {batch!r:.3000}"
            )
            fake_api.violations.clear()
    elapsed = time.perf_counter() - started
    figures.record(
        f"fuzz ({backend}, known defect shapes {'in' if KNOWN_DEFECTS else 'out'})",
        updates_fuzzed=fuzz.updates,
        presses=fuzz.presses,
        failing_batches=len(problems),
        seconds=round(elapsed, 1),
    )
    assert fuzz.updates >= wanted
    assert not problems, "\n\n".join(problems[:10])
