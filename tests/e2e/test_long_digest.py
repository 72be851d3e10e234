"""The newcomer digest for hundreds or thousands of newcomers arrives as one message an
organiser can act on, through the real outbox, and pages through them with its buttons.

The fake server rejects a message over 4096 characters (after entities, in UTF-16) or a
keyboard breaking Telegram's limits, as Telegram does; every request is checked against the spec.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.app import Application
from bot.services.newcomer_digest import PAGE_SIZE
from bot.telegram.callbacks import DigestCallback
from jobs.onboarding import newcomer_digest
from models import Member, MemberRole, Role
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, SentMessage, utf16_len
from tests.newcomers import FIRST_ID, add_districts, add_newcomers

# Long names with what costs the most: characters outside the BMP (two UTF-16 units each) and
# characters that must be escaped in HTML; with " 4999" appended 64 characters at most.
NAME = "Zoë 🌻 <Anna> & 🌻 Maria-Magdalena 🌻 von und zu Hohenzoller"
# As long as a Stadtteil's name may be (100 characters).
DISTRICT = ("Ober-Unter-Mittel-Stadtteil & <Nord> 🌻 " * 3)[:97]


def _check(message: SentMessage, total: int) -> list[int]:
    """The message within Telegram's limits; the ids it names, in order."""
    text = message.text or ""
    assert utf16_len(text) <= 4096
    assert text.startswith(f"Neue ohne Gruppe ({total:,})".replace(",", "."))
    assert message.reply_markup is not None
    rows = message.reply_markup["inline_keyboard"]
    assert sum(len(row) for row in rows) <= 100
    named = [int(found) for found in re.findall(r"\(ID (\d+)\)", text)]
    urls = [button["url"] for row in rows for button in row if "url" in button]
    assert urls == [f"tg://user?id={member_id}" for member_id in named]
    return named


@pytest.mark.parametrize("newcomers", [200, 5_000])
async def test_the_digest_is_one_message_and_pages(
    app: Application, fake_api: FakeBotAPI, newcomers: int
) -> None:
    organiser = fake_api.add_user(first_name="Olga", language_code="de")
    now = utcnow()
    async with app.session_pool() as session:
        session.add(
            Member(
                id=organiser.id,
                first_name="Olga",
                telegram_language="de",
                roles=[MemberRole(role=Role.ORGANISER)],
            )
        )
        districts = await add_districts(session, [f"{DISTRICT} {index}" for index in range(12)])
        # The newest 15 days ago, then one every few minutes: all within the digest's weeks.
        await add_newcomers(
            session,
            newcomers,
            now=now,
            age=timedelta(days=15),
            spread=timedelta(days=40) / newcomers,
            districts=[*districts, None],
            name=NAME,
        )
        await session.commit()

    assert await newcomer_digest(app.job_context(), now=now) == 1
    assert await app.worker.run_once(now=now) == 1

    [digest] = fake_api.sent_to(organiser.id)
    assert _check(digest, newcomers) == [FIRST_ID + index for index in range(PAGE_SIZE)]
    text = digest.text or ""
    assert "Nach Stadtteil: " in text
    assert "ohne Stadtteil: " in text
    assert "Wochen seit dem Einstieg: 2 Wochen: " in text
    # Names arrive whole and escaped, never cut inside an entity.
    assert f"• {NAME} 0 (ID {FIRST_ID})" in text
    assert digest.html is not None
    assert "&lt;Anna&gt; &amp;" in digest.html

    # The last page, by its button's data (what an organiser reaches by pressing "Older »").
    driver = BotDriver(app, fake_api)
    last = -(-newcomers // PAGE_SIZE) - 1
    [] = await driver.press(organiser, digest, DigestCallback(page=last).pack())
    named = _check(digest, newcomers)
    assert named == [FIRST_ID + index for index in range(last * PAGE_SIZE, newcomers)]
    assert [label for label, _data in digest.buttons] == ["« Neuere"]
    fake_api.assert_no_violations()
