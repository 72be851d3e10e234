"""The newcomer digest as an organiser gets it: one message, paged with its buttons, safe from
outside (forged, stale, double-tapped buttons; a role taken meanwhile), page views audited."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from bot.app import Application
from bot.telegram.callbacks import DigestCallback
from jobs.onboarding import newcomer_digest
from models import AuditAction, AuditEntry, Member, MemberRole, Role
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up
from tests.newcomers import FIRST_ID, add_newcomers


async def _digest(driver: BotDriver, app: Application, organiser: FakeUser) -> SentMessage:
    """25 newcomers (an hour apart, the newest 20 days ago), the job, the outbox: the digest
    (after the organiser wrote once, so the bot knows their language)."""
    await driver.send(organiser, "/hilfe")
    now = utcnow()
    async with app.session_pool() as session:
        await add_newcomers(session, 25, now=now, spread=timedelta(hours=1))
        await session.commit()
    assert await newcomer_digest(app.job_context(), now=now) == 1
    assert await app.worker.run_once(now=now) == 1
    return driver.server.sent_to(organiser.id)[-1]


def _names(message: SentMessage) -> list[int]:
    markup = message.reply_markup or {}
    return [
        int(button["url"].removeprefix("tg://user?id="))
        for row in markup.get("inline_keyboard", [])
        for button in row
        if "url" in button
    ]


async def _page_views(app: Application) -> list[tuple[int | None, int, str | None]]:
    async with app.session_pool() as session:
        entries = await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == AuditAction.NEWCOMER_LIST)
            .order_by(AuditEntry.id)
        )
        return [(entry.actor_id, entry.count, entry.subject) for entry in entries]


async def test_an_organiser_pages_through_the_digest(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI
) -> None:
    organiser = fake_api.add_user(first_name="Olga", language_code="en")
    await signed_up(app.session_pool, organiser, role=Role.ORGANISER)
    digest = await _digest(driver, app, organiser)
    text = digest.text or ""
    assert text.startswith("Newcomers without a group (25)\n")
    assert "Newest 1–10 of 25:" in text
    assert "• Neu 0 (ID 10000000000) · 2 weeks" in text
    assert _names(digest) == [FIRST_ID + index for index in range(10)]
    assert digest.buttons == [("Older »", DigestCallback(page=1).pack())]

    [] = await driver.press(organiser, digest, DigestCallback(page=1).pack())
    assert "Newest 11–20 of 25:" in (digest.text or "")
    assert _names(digest) == [FIRST_ID + index for index in range(10, 20)]
    assert [label for label, _data in digest.buttons] == ["« Newer", "Older »"]
    # A double tap edits to what is shown already: no error, no new message.
    [] = await driver.press(organiser, digest, DigestCallback(page=1).pack())
    assert "Newest 11–20 of 25:" in (digest.text or "")
    assert driver.last_answer().get("text") is None

    [] = await driver.press(organiser, digest, DigestCallback(page=2).pack())
    assert _names(digest) == [FIRST_ID + index for index in range(20, 25)]
    assert digest.buttons == [("« Newer", DigestCallback(page=1).pack())]
    # Each page view that named newcomers is in the audit log, by the organiser.
    assert await _page_views(app) == [
        (organiser.id, 10, "page 2 of 3"),
        (organiser.id, 10, "page 2 of 3"),
        (organiser.id, 5, "page 3 of 3"),
    ]


async def test_stale_and_forged_pages(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI
) -> None:
    organiser = fake_api.add_user(first_name="Olga", language_code="de")
    await signed_up(app.session_pool, organiser, role=Role.ORGANISER)
    digest = await _digest(driver, app, organiser)
    # Past the end (fewer wait now than when it was sent, or a made-up page): the last page.
    [] = await driver.press(organiser, digest, DigestCallback(page=40).pack())
    assert driver.last_answer()["text"] == (
        "Inzwischen warten weniger Neue; hier ist die letzte Seite."
    )
    assert "Die Neuesten, 21–25 von 25:" in (digest.text or "")
    # Numbers no page can have, and data that is no page at all: "no longer valid".
    for forged in ["nd1:99999999999999999999", "nd1:-1", "nd1:x", "nd1:1:2"]:
        [] = await driver.press(organiser, digest, forged)
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    # Everyone found a group or left meanwhile: the digest says so instead of naming anyone.
    async with app.session_pool() as session:
        await session.execute(delete(Member).where(Member.id >= FIRST_ID))
        await session.commit()
    [] = await driver.press(organiser, digest, DigestCallback(page=1).pack())
    assert (digest.text or "").startswith("Neue ohne Gruppe (0)\nGerade wartet niemand")
    assert digest.buttons == []
    fake_api.assert_no_violations()


async def test_members_and_former_organisers_are_refused(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI
) -> None:
    organiser = fake_api.add_user(first_name="Olga", language_code="de")
    await signed_up(app.session_pool, organiser, role=Role.ORGANISER)
    digest = await _digest(driver, app, organiser)
    refusal = {
        "text": "Entschuldige, in der Übersicht der Neuen blättern können nur Organisator:innen.",
        "show_alert": True,
    }
    # The role is taken away after the digest arrived: its buttons are refused from then on.
    async with app.session_pool() as session:
        await session.execute(delete(MemberRole).where(MemberRole.member_id == organiser.id))
        await session.commit()
    before = digest.text
    [] = await driver.press(organiser, digest, DigestCallback(page=1).pack())
    answer = driver.last_answer()
    assert {key: answer.get(key) for key in refusal} == refusal
    assert digest.text == before
    # A member who never was one, pressing a button copied from elsewhere.
    member = fake_api.add_user(first_name="Max", language_code="de")
    await signed_up(app.session_pool, member)
    [hello] = await driver.send(member, "/hilfe")
    [] = await driver.press(member, hello, DigestCallback(page=0).pack())
    answer = driver.last_answer()
    assert {key: answer.get(key) for key in refusal} == refusal
    assert await _page_views(app) == []
