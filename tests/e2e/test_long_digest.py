"""The newcomer digest for hundreds of newcomers arrives, complete, through the real outbox.

The fake server rejects a message over 4096 characters (after entities, in UTF-16) or a
keyboard breaking Telegram's limits, as Telegram does; every request is checked against the spec.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.app import Application
from jobs.onboarding import newcomer_digest
from models import Member, MemberRole, Profile, Role
from models.base import utcnow
from tests.fakebotapi import FakeBotAPI, utf16_len

# Long names with what costs the most: characters outside the BMP (two UTF-16 units each) and
# characters that must be escaped in HTML.
NAME = "Zoë 🌻 <Anna> & 🌻 Maria-Magdalena 🌻 von und zu Hohenzollern-Sigmaringen"


@pytest.mark.parametrize("newcomers", [200, 500])
async def test_the_digest_arrives_in_parts_with_everybody(
    app: Application, fake_api: FakeBotAPI, newcomers: int
) -> None:
    organiser = fake_api.add_user(first_name="Olga", language_code="de")
    now = utcnow()
    first_id = 10_000_000_000
    async with app.session_pool() as session:
        session.add(
            Member(id=organiser.id, first_name="Olga", roles=[MemberRole(role=Role.ORGANISER)])
        )
        for number in range(newcomers):
            member_id = first_id + number
            member = Member(
                id=member_id,
                first_name=f"{NAME[: 60 - len(str(number))]} {number}",
                created_at=now - timedelta(days=20),
            )
            member.profile = Profile(member_id=member_id, intake_completed_at=now)
            session.add(member)
        await session.commit()

    assert await newcomer_digest(app.job_context(), now=now) == 1
    assert await app.worker.run_once(now=now) == 1

    parts = fake_api.sent_to(organiser.id)
    assert len(parts) > 1
    listed: list[int] = []
    buttons: list[str] = []
    for index, part in enumerate(parts, start=1):
        assert utf16_len(part.text) <= 4096
        assert part.text.startswith(
            f"Neue ohne Gruppe ({newcomers}) · Teil {index} von {len(parts)}"
        )
        listed += [int(found) for found in re.findall(r"\(ID (\d+)\)", part.text)]
        assert part.reply_markup is not None
        rows = part.reply_markup["inline_keyboard"]
        assert len(rows) <= 100
        buttons += [row[0]["url"] for row in rows]
    expected = [first_id + number for number in range(newcomers)]
    assert listed == expected
    assert buttons == [f"tg://user?id={member_id}" for member_id in expected]
    # Names arrive whole and escaped, never cut inside an entity.
    assert f"• {NAME[:59]} 0 (ID {first_id})" in parts[0].text
    assert parts[0].html is not None
    assert "&lt;Anna&gt; &amp;" in parts[0].html
