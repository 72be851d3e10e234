"""End to end: an organiser broadcasts through the running bot (polling, scheduler, worker)."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import Application, run_polling
from bot.services.kv_setup import apply_setup, load_setup
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

pytestmark = pytest.mark.e2e

MEMBERS = 60


def _data(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if label in text]
    return data


async def test_broadcast_runs_with_progress_and_report(
    app: Application, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup("name: KV\ndistricts: [Mitte]\n"))
        await session.commit()
    members = [fake_api.add_user(first_name=f"M{n}") for n in range(MEMBERS)]
    for member in members:
        await signed_up(app.session_pool, member, district="Mitte")
    blocked = members[:3]
    fake_api.block_many(member.id for member in blocked)

    task = asyncio.create_task(run_polling(app, handle_signals=False))
    try:
        await fake_api.wait_until(lambda: fake_api.long_polls_waiting > 0, timeout=15)
        await admin_user.send_message("/rundschreiben")
        await fake_api.wait_for_message(admin_user.id)
        await admin_user.send_message("Sommerfest am Samstag")
        panel = await fake_api.wait_for_message(admin_user.id)
        assert f"Empfänger:innen: {MEMBERS}" in panel.text
        await admin_user.press(panel, _data(panel, "Jetzt senden"), must_exist=True)
        await fake_api.wait_until(lambda: "Jetzt" not in str(panel.buttons), timeout=5)
        # From here on Telegram's limits apply: the broadcast must keep to them on its own.
        fake_api.enforce_limits()
        await admin_user.press(panel, _data(panel, "Ja, senden"), must_exist=True)
        report = await fake_api.wait_for_message(
            admin_user.id,
            predicate=lambda sent: (sent.text or "").startswith("Rundschreiben #1 ist fertig."),
            timeout=30,
        )
    finally:
        await app.dispatcher.stop_polling()
        await asyncio.wait_for(task, timeout=10)

    for member in members[3:]:
        copies = [m for m in fake_api.sent_to(member.id) if m.method == "copyMessage"]
        assert len(copies) == 1, member
    assert f"Zugestellt: {MEMBERS - 3} von {MEMBERS}" in report.text
    assert "Nicht erreichbar (Bot blockiert): 3" in report.text
    # One progress message, edited while it ran and when it was done, never more than Telegram
    # allows.
    assert panel.text.startswith("Rundschreiben #1 ist verschickt")
    assert f"Fertig: {MEMBERS - 3} zugestellt, 3 nicht erreichbar (Bot blockiert)" in panel.text
    assert panel.edits >= 3
    # (The organiser's own conversation before the limits were switched on doesn't count.)
    breaches = [line for line in fake_api.limit_breaches() if f"to {admin_user.id})" not in line]
    assert breaches == []
