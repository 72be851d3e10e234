"""End to end: two members want the same shift through the running bot process (polling, the
outbox worker): the second hears it is full; then the first offers it for a swap, the second
takes it over, and the first and the organiser are told at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db.engine import create_engine
from bot.db.session import SessionPool, create_session_pool
from bot.services import field_actions
from bot.services.field_actions import PlannedShift
from models import ActionKind, Role, ShiftSignup
from models.base import utcnow
from tests.e2e.test_process import START_TIMEOUT, BotProcess
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

pytestmark = pytest.mark.e2e
ZONE = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[SessionPool]:
    """The test's own connection to the database the bot process uses."""
    engine = create_engine(database_url)
    yield create_session_pool(engine)
    await engine.dispose()


def _data(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if text == label]
    return data


async def _press(fake_api: FakeBotAPI, user: FakeUser, message: SentMessage, label: str) -> str:
    """Press the button labelled `label`; returns the bot's short answer to the press."""
    answered = len(fake_api.callback_answers)
    await user.press(message, _data(message, label), must_exist=True)
    await fake_api.wait_until(lambda: len(fake_api.callback_answers) > answered, timeout=10)
    return str(fake_api.callback_answers[answered].get("text"))


async def _open_card(fake_api: FakeBotAPI, user: FakeUser, wait: float = 10) -> SentMessage:
    """/aktionen, then the date's button: the list turns into the card."""
    await user.send_message("/aktionen")
    listing = await fake_api.wait_for_message(user.id, timeout=wait)
    await user.press(listing, listing.buttons[0][1], must_exist=True)
    await fake_api.wait_until(
        lambda: (listing.text or "").startswith("Infostand Marktplatz\n"), timeout=10
    )
    return listing


async def test_full_shift_and_a_swap_through_the_process(
    spawn: Callable[..., BotProcess], fake_api: FakeBotAPI, pool: SessionPool
) -> None:
    anna, ben, olga = [
        fake_api.add_user(first_name=name, language_code="de") for name in ("Anna", "Ben", "Olga")
    ]
    for user in (anna, ben):
        await signed_up(pool, user)
    await signed_up(pool, olga, role=Role.ORGANISER)
    async with pool() as session:
        await field_actions.create(
            session,
            kind=ActionKind.INFOSTAND,
            title="Infostand Marktplatz",
            place="Marktplatz",
            shifts=(PlannedShift(time(10), time(12), 1),),
            on_day=utcnow().astimezone(ZONE).date() + timedelta(days=3),
            now=utcnow(),
            zone=ZONE,
        )
        await session.commit()
    bot = spawn()
    await bot.start("run")
    try:
        # The first answer waits for the process to start.
        anna_card = await _open_card(fake_api, anna, START_TIMEOUT)
        ben_card = await _open_card(fake_api, ben)
        assert "• 10:00–12:00 · 0/1" in ben_card.text

        said = await _press(fake_api, anna, anna_card, "Eintragen 10:00–12:00")
        assert said.startswith("Danke! Du bist eingetragen: ")
        # Ben's card still offers the shift; his press is refused and his card updated.
        said = await _press(fake_api, ben, ben_card, "Eintragen 10:00–12:00")
        assert said == "Diese Schicht ist schon voll. Vielleicht passt eine andere?"
        await fake_api.wait_until(lambda: "0/1" not in (ben_card.text or ""), timeout=10)
        assert "• 10:00–12:00 · 1/1 · voll" in ben_card.text

        # Anna can't go after all and offers her shift; Ben takes it over.
        await fake_api.wait_until(lambda: "Tausch anbieten" in str(anna_card.buttons), timeout=10)
        said = await _press(fake_api, anna, anna_card, "Tausch anbieten")
        assert said.startswith("Deine Schicht ist zum Tausch angeboten.")
        ben_card = await _open_card(fake_api, ben)
        said = await _press(fake_api, ben, ben_card, "Übernehmen 10:00–12:00")
        assert said == "Danke! Die Schicht gehört jetzt dir."

        told = await fake_api.wait_for_message(
            anna.id, predicate=lambda sent: (sent.text or "").startswith("🔄 Ben"), timeout=15
        )
        assert "hat deine Schicht 10:00–12:00 von „Infostand Marktplatz“" in told.text
        planner = await fake_api.wait_for_message(
            olga.id, predicate=lambda sent: (sent.text or "").startswith("🔄"), timeout=15
        )
        assert "Ben hat von Anna die Schicht 10:00–12:00" in planner.text
        async with pool() as session:
            holders = list(await session.scalars(select(ShiftSignup.member_id)))
        assert holders == [ben.id]
    finally:
        await bot.stop()
