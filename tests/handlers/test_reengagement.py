"""Re-engagement in the chat: the check-in's buttons (double taps, forged and stale data), the
pause in /einstellungen, consent to be called with one's own contact only, and the organisers'
call list (refused to others, paged, audited)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.app import Application
from bot.services import call_list, erasure, reengagement, surveys
from bot.services.survey_draft import DraftQuestion, SurveyDraft
from jobs.reengagement import queue_check_ins
from models import (
    AuditAction,
    AuditEntry,
    CallConsent,
    Category,
    CheckIn,
    District,
    Group,
    GroupType,
    Member,
    OptOut,
    QuestionKind,
    Reaction,
    Role,
)
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up
from tests.quiet_members import add_member

DAY = timedelta(days=1)


def _button(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if text == label]
    return data


async def _check_in(
    driver: BotDriver, app: Application, user: FakeUser, *, survey: bool = False
) -> SentMessage:
    """`user` as a quiet member in Mitte (with a Stammtisch), the daily job and the outbox:
    their check-in. With `survey`, a survey for everyone is open (its invitation goes too)."""
    now = utcnow()
    async with app.session_pool() as session:
        district = District(key="mitte", name="Mitte")
        session.add(district)
        await session.flush()
        session.add(
            Group(
                key="st",
                name="Stammtisch Mitte",
                type=GroupType.STAMMTISCH,
                district_id=district.id,
            )
        )
        await add_member(
            session,
            user.id,
            now=now,
            name=user.first_name,
            district_id=district.id,
            language=user.language_code,
        )
        if survey:
            draft = SurveyDraft(
                "Programm 2027",
                questions=(DraftQuestion(QuestionKind.SCALE, "Wie gefällt dir der KV?"),),
                ends_at=now + 10 * DAY,
            )
            await surveys.start(session, draft, author_id=1, now=now, key="check-in")
        await session.commit()
    assert await queue_check_ins(app.job_context(), now=now) == 1
    assert await app.worker.run_once(now=now) == (2 if survey else 1)
    [message] = [m for m in driver.server.sent_to(user.id) if "👀" in str(m.buttons)]
    return message


async def _row(app: Application, user: FakeUser) -> CheckIn:
    async with app.session_pool() as session:
        row = await session.scalar(select(CheckIn).where(CheckIn.member_id == user.id))
    assert row is not None
    return row


async def test_the_check_in_and_show_me_something(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    message = await _check_in(driver, app, anna)
    text = message.text or ""
    assert text.startswith(f"Hallo Anna {anna.id}, lange nichts gehört! 👋")
    assert "• Stammtisch in deiner Nähe: Stammtisch Mitte (Mitte)" in text
    labels = [label for label, _data in message.buttons]
    assert labels == ["👀 Zeig mir was", "⏰ Später", "🔕 Weniger Nachrichten"]
    show = _button(message, "👀 Zeig mir was")
    screens = await driver.press(anna, message, show)
    # The existing screens: the groups (the directory here) and the action dates.
    assert len(screens) == 2
    assert driver.last_answer()["text"] == "Bitte schön!"
    assert (await _row(app, anna)).reaction == Reaction.SHOW
    # A second tap shows them again and records nothing new.
    assert len(await driver.press(anna, message, show)) == 2
    row = await _row(app, anna)
    assert row.reaction == Reaction.SHOW
    assert row.sent_at is not None


async def test_an_open_survey_is_named_with_a_button_to_take_part(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    message = await _check_in(driver, app, anna, survey=True)
    assert "• Offene Umfrage: Programm 2027, bis " in (message.text or "")
    labels = [label for label, _data in message.buttons]
    assert labels == ["Mitmachen", "👀 Zeig mir was", "⏰ Später", "🔕 Weniger Nachrichten"]
    [question] = await driver.press(anna, message, _button(message, "Mitmachen"))
    assert "Wie gefällt dir der KV?" in (question.text or "")


async def test_later_snoozes_once_and_says_until_when(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    message = await _check_in(driver, app, anna)
    later = _button(message, "⏰ Später")
    [answer] = await driver.press(anna, message, later)
    assert "frühestens am" in (answer.text or "")
    first = await _row(app, anna)
    assert first.reaction == Reaction.LATER
    # A double tap: noted already, nothing changes.
    assert await driver.press(anna, message, later) == []
    assert driver.last_answer()["text"] == "Schon notiert, danke!"
    again = await _row(app, anna)
    assert again.reacted_at == first.reacted_at


async def test_fewer_messages_switches_check_ins_off_with_a_way_back(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="en")
    message = await _check_in(driver, app, anna)
    fewer = _button(message, "🔕 Fewer messages")
    [answer] = await driver.press(anna, message, fewer)
    assert "/settings" in (answer.text or "")
    async with app.session_pool() as session:
        opted = list(await session.scalars(select(OptOut.category)))
    assert opted == [Category.CHECK_INS]
    [panel] = await driver.send(anna, "/settings")
    assert "🔕 Check-ins" in (panel.text or "")
    [data] = [data for label, data in panel.buttons if label == "Switch on Check-ins"]
    await driver.press(anna, panel, data)
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(OptOut)) == 0


async def test_forged_and_stale_check_in_buttons_change_nothing(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    message = await _check_in(driver, app, anna)
    await signed_up(app.session_pool, ben)
    row = await _row(app, anna)
    forged = [
        # Anna's buttons pressed by Ben (forwarded or forged): Anna's id.
        (ben, f"ci1:f:{anna.id}:{row.quarter}"),
        # Ben's own id but a quarter he got nothing in.
        (ben, f"ci1:l:{ben.id}:{row.quarter}"),
        # Anna, an old quarter.
        (anna, f"ci1:f:{anna.id}:2020Q1"),
        (anna, f"ci1:l:{anna.id}:"),
        (anna, "ci1:x:1:2020Q1"),
    ]
    for user, data in forged:
        assert await driver.press(user, message, data) == []
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    assert (await _row(app, anna)).reaction is None
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(OptOut)) == 0


async def _member(app: Application, user: FakeUser) -> Member:
    async with app.session_pool() as session:
        member = await session.get(Member, user.id)
    assert member is not None
    return member


async def test_pause_for_two_weeks_and_end_it(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [panel] = await driver.send(anna, "/einstellungen")
    assert "⏸ Pause:" in (panel.text or "")
    [note] = await driver.press(anna, panel, _button(panel, "2 Wochen"))
    assert "⏸ Pause bis" in (note.text or "")
    paused_until = (await _member(app, anna)).paused_until
    assert paused_until is not None
    assert timedelta(days=13) < paused_until - utcnow() < timedelta(days=16)
    # The panel shows it, with the way out; the bot still answers what Anna asks.
    assert "⏸ Pause bis" in (panel.text or "")
    await driver.press(anna, panel, _button(panel, "▶️ Pause beenden"))
    assert driver.last_answer()["text"].startswith("▶️ Die Pause ist vorbei")
    assert (await _member(app, anna)).paused_until is None
    # A stale "end" press again: nothing to end, no error.
    await driver.press(anna, panel, "pz1:e")
    assert (await _member(app, anna)).paused_until is None


async def test_pause_until_a_typed_day(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [panel] = await driver.send(anna, "/einstellungen")
    [question] = await driver.press(anna, panel, _button(panel, "⏸ Pause bis …"))
    assert "Bis wann" in (question.text or "")
    [wrong] = await driver.send(anna, "bald")
    assert "nicht verstanden" in (wrong.text or "")
    [past] = await driver.send(anna, "01.01.2020")
    assert "nach heute" in (past.text or "")
    assert (await _member(app, anna)).paused_until is None
    day = (utcnow() + 20 * DAY).date()
    [done] = await driver.send(anna, day.strftime("%d.%m.%Y"))
    assert "⏸ Pause bis" in (done.text or "")
    paused_until = (await _member(app, anna)).paused_until
    assert paused_until is not None
    assert paused_until.date() in (day, day + DAY)


async def _contact(driver: BotDriver, user: FakeUser, owner_id: int) -> list[SentMessage]:
    update: dict[str, Any] = await user.send_message("contact")
    message = update["message"]
    del message["text"]
    message["contact"] = {"phone_number": "+49 30 1234567", "first_name": "X", "user_id": owner_id}
    return await driver.deliver(user, update)


async def test_call_consent_takes_only_the_members_own_contact(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    await signed_up(app.session_pool, anna)
    [panel] = await driver.send(anna, "/einstellungen")
    assert "Darf dich jemand aus dem KV anrufen? Bisher nicht." in (panel.text or "")
    [ask] = await driver.press(anna, panel, _button(panel, "📞 Ja, mich darf jemand anrufen"))
    keyboard = (ask.reply_markup or {}).get("keyboard")
    assert keyboard == [[{"text": "📞 Meine Nummer teilen", "request_contact": True}]]
    # Someone else's contact: refused, nothing stored.
    [refused] = await _contact(driver, anna, ben.id)
    assert "eigene Nummer" in (refused.text or "")
    [text] = await driver.send(anna, "0301234567")
    assert "eigene Nummer" in (text.text or "")
    async with app.session_pool() as session:
        assert await session.get(CallConsent, anna.id) is None
    [stored] = await _contact(driver, anna, anna.id)
    assert "+49 30 1234567" in (stored.text or "")
    assert (stored.reply_markup or {}).get("remove_keyboard") is True
    async with app.session_pool() as session:
        consent = await session.get(CallConsent, anna.id)
        assert consent is not None
        assert consent.phone == "+49 30 1234567"
    [panel] = await driver.send(anna, "/einstellungen")
    assert "+49 30 1234567" in (panel.text or "")
    await driver.press(anna, panel, _button(panel, "📵 Niemand soll mich anrufen (Nummer löschen)"))
    async with app.session_pool() as session:
        assert await session.get(CallConsent, anna.id) is None


async def test_cancelling_the_number_request_takes_its_keyboard_away(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [panel] = await driver.send(anna, "/einstellungen")
    [ask] = await driver.press(anna, panel, _button(panel, "📞 Ja, mich darf jemand anrufen"))
    assert (ask.reply_markup or {}).get("keyboard")
    [cancelled] = await driver.send(anna, "/abbrechen")
    assert (cancelled.reply_markup or {}).get("remove_keyboard") is True
    async with app.session_pool() as session:
        assert await session.get(CallConsent, anna.id) is None


async def test_call_consent_needs_the_profile(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [panel] = await driver.send(anna, "/einstellungen")
    assert "anrufen" not in (panel.text or "")
    assert await driver.press(anna, panel, "cc1:y") == []
    assert driver.last_answer()["show_alert"] is True


async def test_the_call_list_for_organisers_only_paged_and_audited(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    organiser = fake_api.add_user(first_name="Olga", language_code="de")
    await signed_up(app.session_pool, organiser, role=Role.ORGANISER)
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [refused] = await driver.send(anna, "/ruhige")
    assert refused.text == "Die Anrufliste ist für Organisator:innen."
    [empty] = await driver.send(organiser, "/ruhige")
    assert "Gerade niemand anzurufen" in (empty.text or "")
    now = utcnow()
    sent = now - 4 * 7 * DAY
    async with app.session_pool() as session:
        for member_id in range(50_000, 50_012):
            await add_member(session, member_id, now=now)
        await reengagement.queue_check_ins(
            session, now=sent, months=6, zone=app.settings.zone, limit=100
        )
        for row in await session.scalars(select(CheckIn)):
            row.sent_at = sent
            await call_list.give_consent(session, row.member_id, f"+49{row.member_id}", now=now)
        await session.commit()
    [first] = await driver.send(organiser, "/ruhige")
    assert "12 ruhige Mitglieder" in (first.text or "")
    assert "keine Zusage, Schicht oder Antwort seit" in (first.text or "")
    assert "Seite 1 von 2" in (first.text or "")
    await driver.press(organiser, first, _button(first, "Weiter »"))
    assert "Seite 2 von 2" in (first.text or "")
    # A page past the end (stale or forged): the last one, with a word why.
    await driver.press(organiser, first, "cl1:99")
    assert (
        driver.last_answer()["text"] == "Die Liste ist kürzer geworden: Das ist ihre letzte Seite."
    )
    # A non-organiser's press of the page button: refused.
    assert await driver.press(anna, first, "cl1:0") == []
    assert driver.last_answer()["text"] == "Die Anrufliste ist für Organisator:innen."
    async with app.session_pool() as session:
        audited = list(
            await session.scalars(
                select(AuditEntry.count).where(AuditEntry.action == AuditAction.CALL_LIST)
            )
        )
    assert audited == [10, 2, 2]


async def test_export_holds_and_erasure_removes_the_new_data(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    message = await _check_in(driver, app, anna)
    await driver.press(anna, message, _button(message, "⏰ Später"))
    now = utcnow()
    async with app.session_pool() as session:
        await call_list.give_consent(session, anna.id, "+4930555", now=now)
        member = await session.get(Member, anna.id)
        assert member is not None
        member.paused_until = now + 10 * DAY
        await session.commit()
    [privacy] = await driver.send(anna, "/datenschutz")
    [download] = [data for label, data in privacy.buttons if "herunterladen" in label.lower()]
    sent = await driver.press(anna, privacy, download)
    [json_file] = [item for item in sent if item.message["document"]["file_name"].endswith(".json")]
    assert isinstance(json_file.document, bytes)
    exported = json.loads(json_file.document.decode("utf-8"))
    assert exported["account"]["paused_until"] is not None
    assert exported["call_consent"]["phone"] == "+4930555"
    [check_in] = exported["check_ins"]
    assert check_in["reaction"] == "later"
    assert check_in["sent_at"] is not None
    [text_file] = [item for item in sent if item is not json_file]
    assert isinstance(text_file.document, bytes)
    text = text_file.document.decode("utf-8")
    assert "Nachfrage gesendet am" in text
    assert "+4930555" in text
    async with app.session_pool() as session:
        assert await erasure.erase_member(session, anna.id)
        await session.commit()
        for table in (CheckIn, CallConsent):
            assert await session.scalar(select(func.count()).select_from(table)) == 0
