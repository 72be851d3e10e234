"""Dispatcher tests of surveys: an organiser composes and starts one with /umfrage, members
answer every kind of question with buttons and change their answers, the close job sends the
results; refusals leave the data unchanged."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from bot.app import Application
from bot.services import member_batches, surveys
from bot.services.kv_setup import apply_setup, load_setup
from jobs.surveys import close_surveys, invite_started
from models import (
    Delivery,
    District,
    Member,
    Profile,
    Role,
    Survey,
    SurveyAnswer,
    SurveyParticipation,
    SurveyStatus,
)
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

SETUP = """
name: KV Testhausen
districts: [Mitte, Nord]
topics: [Umwelt, Bildung, Wohnen]
"""
ZONE = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def people(app: Application, fake_api: FakeBotAPI) -> dict[str, FakeUser]:
    """Anna, Ben, Cem in Mitte; Dora in Nord; Olga an organiser (in Mitte too)."""
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP))
        await session.commit()
    users = {
        name: fake_api.add_user(first_name=name, language_code="de")
        for name in ("Anna", "Ben", "Cem", "Dora", "Olga")
    }
    for name in ("Anna", "Ben", "Cem"):
        await signed_up(app.session_pool, users[name], district="Mitte")
    await signed_up(app.session_pool, users["Dora"], district="Nord")
    await signed_up(app.session_pool, users["Olga"], district="Mitte", role=Role.ORGANISER)
    return users


def _button(message: SentMessage, label: str) -> str:
    matches = [data for text, data in message.buttons if label in text]
    assert matches, f"no button with {label!r}: {message.buttons}"
    return matches[0]


async def _press(driver: BotDriver, user: FakeUser, message: SentMessage, label: str) -> list:
    return await driver.press(user, message, _button(message, label))


async def _drain(app: Application, now: datetime | None = None) -> None:
    while await app.worker.run_once(now=now):
        pass


def _end_text(days: int = 3) -> str:
    return (utcnow() + timedelta(days=days)).astimezone(ZONE).strftime("%d.%m.%Y 18:00")


async def _compose(driver: BotDriver, organiser: FakeUser, reach: str = "4") -> SentMessage:
    """/umfrage through the preview: all five kinds of question, audience Mitte (Anna, Ben,
    Cem, Olga unless more were added: `reach`)."""
    [prompt] = await driver.send(organiser, "/umfrage")
    if "Neue Umfrage" in str(prompt.buttons):
        [prompt] = await _press(driver, organiser, prompt, "Neue Umfrage")
    assert prompt.text.startswith("Eine neue Umfrage")
    [kinds] = await driver.send(organiser, "Programm 2027\nWas ist dir <wichtig>?")
    assert "Umfrage: Programm 2027" in kinds.text
    assert "Was ist dir &lt;wichtig&gt;?" in kinds.html  # echoed escaped
    await _press(driver, organiser, kinds, "Rangfolge der Themen")
    [kinds] = await driver.send(organiser, "Welche Themen sind dir am wichtigsten?")
    await _press(driver, organiser, kinds, "Einfachauswahl")
    await driver.send(organiser, "Wann passt dir ein Treffen?")
    [refused] = await driver.send(organiser, "Abends")
    assert "mindestens 2 Optionen" in refused.text  # one option is not a choice
    [kinds] = await driver.send(organiser, "Abends\nWochenende")
    await _press(driver, organiser, kinds, "Mehrfachauswahl")
    await driver.send(organiser, "Was machst du gern?")
    [kinds] = await driver.send(organiser, "Infostand\nFlyer\nSocial Media")
    await _press(driver, organiser, kinds, "Skala")
    [kinds] = await driver.send(organiser, "Wie zufrieden bist du?")
    await _press(driver, organiser, kinds, "Kurzer freier Text")
    [kinds] = await driver.send(organiser, "Was fehlt dir?")
    assert "5. Was fehlt dir?" in kinds.text
    await _press(driver, organiser, kinds, "Fragen fertig")
    assert kinds.text.startswith("Wer wird gefragt?")
    await _press(driver, organiser, kinds, "Stadtteil")
    await _press(driver, organiser, kinds, "Mitte")
    await _press(driver, organiser, kinds, "Zurück")
    assert f"Damit erreichst du <b>{reach}</b> Mitglieder." in kinds.html
    [ask] = await _press(driver, organiser, kinds, "Weiter zum Enddatum")
    assert ask.text.startswith("Bis wann")
    past = (utcnow() - timedelta(days=1)).astimezone(ZONE).strftime("%d.%m.%Y 18:00")
    [refused] = await driver.send(organiser, past)
    assert "schon vorbei" in refused.text
    [preview] = await driver.send(organiser, _end_text())
    assert preview.text.startswith("Vorschau")
    assert "Themen zum Ordnen: Umwelt, Bildung, Wohnen" in preview.text
    return preview


async def _survey(app: Application) -> Survey:
    async with app.session_pool() as session:
        [survey] = list(await session.scalars(select(Survey)))
        return survey


async def _answer_rows(app: Application) -> int:
    async with app.session_pool() as session:
        return int(await session.scalar(select(func.count()).select_from(SurveyAnswer)) or 0)


async def _answer_everything(
    driver: BotDriver,
    user: FakeUser,
    invitation: SentMessage,
    *,
    single: str = "Abends",
    scale: str = "4",
    ranking: tuple[str, ...] = ("Bildung",),
) -> SentMessage:
    """Take part and answer each question; returns the summary (before sending)."""
    [question] = await _press(driver, user, invitation, "Mitmachen")
    assert "Frage 1 von 5" in question.text
    for topic in ranking:
        await _press(driver, user, question, topic)
    await _press(driver, user, question, "Fertig")
    assert "Frage 2 von 5" in question.text
    await _press(driver, user, question, single)
    await _press(driver, user, question, "Flyer")
    await _press(driver, user, question, "Social Media")
    await _press(driver, user, question, "Weiter")
    await _press(driver, user, question, scale)
    assert "Frage 5 von 5" in question.text
    [summary] = await driver.send(user, "Mehr <b>Stammtische</b>")
    assert "deine Antworten" in summary.text
    assert "Mehr &lt;b&gt;Stammtische&lt;/b&gt;" in summary.html
    return summary


async def test_member_may_not_create_a_survey(
    driver: BotDriver, people: dict[str, FakeUser]
) -> None:
    [refusal] = await driver.send(people["Anna"], "/umfrage")
    assert refusal.text == "Umfragen können leider nur Organisator:innen anlegen."


async def test_survey_from_draft_to_results(
    driver: BotDriver, app: Application, people: dict[str, FakeUser], fake_api: FakeBotAPI
) -> None:
    olga = people["Olga"]
    preview = await _compose(driver, olga)
    await _press(driver, olga, preview, "Starten")
    assert preview.text.startswith("Umfrage #1 „Programm 2027“ ist offen bis")
    assert "Einladungen unterwegs: 4" in preview.text
    # A second tap on "Start" creates nothing more.
    await driver.press(olga, preview, _button(preview, "Starten") if preview.buttons else "so1:go")
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(Survey)) == 1

    await _drain(app)
    invitations = {}
    for name in ("Anna", "Ben", "Cem"):
        [invitation] = fake_api.sent_to(people[name].id)
        assert "Umfrage: Programm 2027" in invitation.text
        invitations[name] = invitation
    assert fake_api.sent_to(people["Dora"].id) == []  # Nord is not in the audience

    # Anna: every kind, then sends.
    summary = await _answer_everything(driver, people["Anna"], invitations["Anna"])
    assert "Bildung" in summary.text
    await _press(driver, people["Anna"], summary, "Absenden")
    assert summary.text.startswith("Danke!")
    rows = await _answer_rows(app)
    # A second "Send" from the same summary: stale, nothing counted twice.
    await driver.press(people["Anna"], summary, "sv1:ok:1:0:0")
    assert await _answer_rows(app) == rows
    # "Take part" again: already answered, offered to change.
    [again] = await _press(driver, people["Anna"], invitations["Anna"], "Mitmachen")
    assert "schon beantwortet" in again.text

    # Anna changes her scale answer: still one participation, rows replaced.
    [question] = await _press(driver, people["Anna"], again, "Antworten ändern")
    assert "Deine Reihenfolge bisher:" in question.text  # the stored ranking is shown
    await _press(driver, people["Anna"], question, "Fertig")
    await _press(driver, people["Anna"], question, "Abends")
    await _press(driver, people["Anna"], question, "Weiter")
    await _press(driver, people["Anna"], question, "2")
    [summary] = await driver.send(people["Anna"], "Mehr Stammtische")
    await _press(driver, people["Anna"], summary, "Geänderte Antworten absenden")
    assert summary.text.startswith("Danke!")
    assert await _answer_rows(app) == rows
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(SurveyParticipation)) == 1
        assert await session.scalar(select(SurveyAnswer.value).where(SurveyAnswer.value == 2))

    # Ben and Cem answer too (Cem skips the text).
    summary = await _answer_everything(driver, people["Ben"], invitations["Ben"], scale="5")
    await _press(driver, people["Ben"], summary, "Absenden")
    [question] = await _press(driver, people["Cem"], invitations["Cem"], "Mitmachen")
    await _press(driver, people["Cem"], question, "Umwelt")
    await _press(driver, people["Cem"], question, "Bildung")
    await _press(driver, people["Cem"], question, "Fertig")
    await _press(driver, people["Cem"], question, "Wochenende")
    await _press(driver, people["Cem"], question, "Infostand")
    await _press(driver, people["Cem"], question, "Weiter")
    await _press(driver, people["Cem"], question, "3")
    await _press(driver, people["Cem"], question, "Überspringen")
    assert "(übersprungen)" in question.text
    await _press(driver, people["Cem"], question, "Absenden")

    # Interim: organisers see how many took part.
    [listing] = await driver.send(olga, "/umfrage")
    assert "teilgenommen: 3" in listing.text
    [interim] = await _press(driver, olga, listing, "#1")
    assert interim.text.startswith("Zwischenstand: Programm 2027")
    assert "Teilgenommen: 3" in interim.text
    # Only the count while open: figures before and after one answer would tell it.
    assert "Bildung" not in interim.text
    assert interim.buttons == []

    # The end passes: the job closes it once and the outbox sends the results.
    later = utcnow() + timedelta(days=4)
    assert await close_surveys(app.job_context(), now=later) == [1]
    assert await close_surveys(app.job_context(), now=later) == []
    survey = await _survey(app)
    assert survey.status is SurveyStatus.CLOSED
    async with app.session_pool() as session:
        ballots = await session.scalars(select(SurveyAnswer.ballot).distinct())
        assert list(ballots) == [None]  # nothing links answers to anyone any more
    before = len(fake_api.sent_to(people["Anna"].id))
    await _drain(app, later)
    [result] = fake_api.sent_to(people["Anna"].id)[before:]
    assert result.text.startswith("Ergebnisse: Programm 2027")
    assert "Teilgenommen: 3" in result.text
    # Borda with 3 topics: Anna, Ben Bildung first (2 + 2), Cem Umwelt, Bildung (2 + 1).
    assert "1. Bildung: 5" in result.text
    assert "2. Umwelt: 2" in result.text
    assert "3. Wohnen: 0" in result.text
    assert "• Abends: < 3" in result.text
    assert "Mehr Stammtische" not in result.text  # free texts: organisers only
    [organiser_result] = [
        m for m in fake_api.sent_to(olga.id) if (m.text or "").startswith("Ergebnisse:")
    ]
    assert "– Mehr &lt;b&gt;Stammtische&lt;/b&gt;" in organiser_result.html
    # The charts as PNG photos, on request.
    photos = await _press(driver, people["Anna"], result, "Diagramme")
    assert len(photos) == 4
    assert all(photo.method == "sendPhoto" for photo in photos)

    # Answers after the end are refused; nothing changes.
    rows = await _answer_rows(app)
    await _press(driver, people["Dora"], invitations["Anna"], "Mitmachen")
    assert "beendet" in driver.last_answer()["text"]
    assert await _answer_rows(app) == rows


async def test_refusals_leave_data_unchanged(
    driver: BotDriver, app: Application, people: dict[str, FakeUser], fake_api: FakeBotAPI
) -> None:
    olga = people["Olga"]
    preview = await _compose(driver, olga)
    await _press(driver, olga, preview, "Starten")
    await _drain(app)
    [invitation] = fake_api.sent_to(people["Anna"].id)
    # Dora (Nord) presses Anna's button: not in the audience.
    await driver.press(people["Dora"], invitation, _button(invitation, "Mitmachen"))
    assert driver.last_answer()["text"].startswith("Diese Umfrage richtet sich an andere")
    # A forged option: the id of another question's option.
    [question] = await _press(driver, people["Anna"], invitation, "Mitmachen")
    survey = await _survey(app)
    ranking, single = survey.questions[0], survey.questions[1]
    foreign = single.options[0].id
    await driver.press(people["Anna"], question, f"sv1:r:{survey.id}:{ranking.id}:{foreign}")
    assert "gehört nicht zu dieser Frage" in driver.last_answer()["text"]
    # A button of another question (stale): a quiet note.
    await driver.press(people["Anna"], question, f"sv1:p:{survey.id}:{single.id}:{foreign}")
    assert "nicht mehr aktuell" in driver.last_answer()["text"]
    assert "Frage 1 von 5" in question.text
    assert await _answer_rows(app) == 0


async def test_a_large_audience_is_invited_in_batches_after_start(
    driver: BotDriver, app: Application, people: dict[str, FakeUser]
) -> None:
    # 1,200 more members in Mitte: "Start" answers at once with the count and queues the first
    # batch; the survey job queues the rest, once each, however often it runs.
    more = 1200
    async with app.session_pool() as session:
        mitte = await session.scalar(select(District.id).where(District.name == "Mitte"))
        ids = range(10_000, 10_000 + more)
        await session.execute(insert(Member), [{"id": member_id} for member_id in ids])
        await session.execute(
            insert(Profile), [{"member_id": member_id, "district_id": mitte} for member_id in ids]
        )
        await session.commit()
    olga = people["Olga"]
    preview = await _compose(driver, olga, reach="1.204")
    await _press(driver, olga, preview, "Starten")
    assert "Einladungen unterwegs: 1.204" in preview.text

    async def queued() -> int:
        async with app.session_pool() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.kind == surveys.SURVEY_INVITE)
            )
            return int(count or 0)

    # The first batch is the first 500 members by id; Dora of them is in Nord.
    assert await queued() == member_batches.BATCH - 1
    assert await invite_started(app.job_context()) == 2
    assert await queued() == 1204
    assert await invite_started(app.job_context()) == 0
    assert await queued() == 1204
    [overview] = await driver.send(olga, "/umfrage")
    assert "teilgenommen: 0 von 1.204 Eingeladenen" in overview.text
