"""/datenschutz: download my data (JSON and text), the view holding the same, consent history,
withdrawing consent, and the export covering every table that refers to a member."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Application
from bot.services import calendar, data_export, invitations
from bot.services.kv_setup import apply_setup, load_setup
from bot.telegram.format import format_day
from models import (
    ActionDate,
    ActionKind,
    ActionPlanner,
    Attendance,
    AuditAction,
    AuditEntry,
    Base,
    Broadcast,
    BroadcastStatus,
    Category,
    ConsentEvent,
    ConsentRecord,
    Delivery,
    DeliveryStatus,
    FieldAction,
    FsmRecord,
    Group,
    GroupMembership,
    GroupProposal,
    HelpCall,
    HostHandover,
    HostNotice,
    HostPreference,
    Meeting,
    Member,
    MemberRole,
    Memorial,
    MemorialAnswer,
    MemorialDate,
    NoticeCap,
    Profile,
    Role,
    RsvpAnswer,
    Shift,
    ShiftSignup,
    ShiftSwap,
    SwapStatus,
)
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import meetings_ahead, signed_up

SETUP = """
name: KV Testhausen
districts: [Mitte, Nord]
topics: [Umwelt, Bildung]
activity_types: [Infostände, Social Media]
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
    meets: every Thursday 19:00
    hosts: [{host}]
  - key: ag-frieden
    name: AG Frieden
    type: ag
    meets: every 2nd Tuesday 10:00
"""
T0 = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
SHIFTS = 25  # more than the old view's cap of 20


def _at(days: int, hours: int = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


@pytest.fixture
async def kv(app: Application, fake_api: FakeBotAPI) -> FakeUser:
    """The KV; returns the member who hosts Stammtisch Mitte (named by id in the setup)."""
    rich = fake_api.add_user(first_name="Rosa", username="rosa_r", language_code="en")
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP.format(host=rich.id)))
        await session.commit()
    await meetings_ahead(app.session_pool)
    return rich


async def _rich_member(app: Application, user: FakeUser, other: FakeUser) -> None:
    """`user` with a row in every table that can refer to a member."""
    await signed_up(
        app.session_pool,
        user,
        district="Mitte",
        topics=["Umwelt", "Bildung"],
        activities=["Infostände"],
        group="Stammtisch Mitte",
        opted_out=[Category.MEMORIALS],
        role=Role.HOST,
    )
    await signed_up(app.session_pool, other)
    async with app.session_pool() as session:
        member = await session.get(Member, user.id)
        profile = await session.get(Profile, user.id)
        assert member is not None
        assert profile is not None
        member.username = user.username
        member.telegram_language = "en"
        member.created_at = _at(-30)
        member.last_seen_at = _at(20)
        profile.consent_at = _at(0)
        profile.contact_frequency = "monthly"
        profile.free_time = ["weekday_evening", "weekend"]
        profile.intake_started_at = _at(0)
        profile.intake_completed_at = _at(1)
        profile.intake_reminded_at = _at(0, 20)
        profile.reminder_offsets = [60, 24 * 60]
        session.add(
            ConsentRecord(member_id=user.id, event=ConsentEvent.GIVEN, consent_version=1, at=_at(0))
        )
        stammtisch = await session.scalar(select(Group).where(Group.key == "stammtisch-mitte"))
        frieden = await session.scalar(select(Group).where(Group.key == "ag-frieden"))
        assert stammtisch is not None
        assert frieden is not None
        # A past meeting too: the export holds every answer, not only those ahead.
        past = Meeting(group_id=stammtisch.id, occurrence=_at(-7), starts_at=_at(-7), one_off=True)
        session.add(past)
        await session.flush()
        ahead = list(
            await session.scalars(
                select(Meeting)
                .where(Meeting.group_id == stammtisch.id, Meeting.starts_at > utcnow())
                .order_by(Meeting.starts_at)
                .limit(2)
            )
        )
        session.add(
            Attendance(
                meeting_id=past.id,
                member_id=user.id,
                answer=RsvpAnswer.NO,
                answered_at=_at(-8),
            )
        )
        session.add(
            Attendance(
                meeting_id=ahead[0].id,
                member_id=user.id,
                answer=RsvpAnswer.YES,
                guests=2,
                waitlisted=True,
                queued_at=_at(2),
                answered_at=_at(2),
            )
        )
        session.add(
            Attendance(
                meeting_id=ahead[1].id,
                member_id=user.id,
                answer=RsvpAnswer.MAYBE,
                answered_at=_at(3),
            )
        )
        memorial = Memorial(key="tag-x", name="Tag der Befreiung", rule="08.05.", rrule="x")
        session.add(memorial)
        await session.flush()
        memorial_date = MemorialDate(memorial_id=memorial.id, day=date(2027, 5, 8))
        session.add(memorial_date)
        await session.flush()
        session.add(
            MemorialAnswer(
                memorial_date_id=memorial_date.id,
                member_id=user.id,
                answer=RsvpAnswer.YES,
                answered_at=_at(4),
            )
        )
        action = FieldAction(
            kind=ActionKind.INFOSTAND,
            title="Infostand Marktplatz",
            place="Marktplatz",
            shift_plan=[],
            contact_id=user.id,
        )
        session.add(action)
        await session.flush()
        shifts = []
        for index in range(SHIFTS):
            action_date = ActionDate(action_id=action.id, day=(_at(index * 2)).date())
            session.add(action_date)
            await session.flush()
            shift = Shift(
                action_date_id=action_date.id,
                label="Aufbau" if index == 0 else None,
                starts_at=_at(index * 2, 1),
                ends_at=_at(index * 2, 3),
                needed=2,
            )
            session.add(shift)
            await session.flush()
            shifts.append(shift)
            session.add(
                ShiftSignup(
                    shift_id=shift.id,
                    member_id=user.id,
                    signed_at=_at(index, 5),
                    via_call=index == 1,
                )
            )
        session.add(HelpCall(shift_id=shifts[1].id, member_id=user.id, called_at=_at(1, 2)))
        session.add(
            ShiftSwap(
                shift_id=shifts[2].id,
                from_member_id=user.id,
                to_member_id=other.id,
                status=SwapStatus.TAKEN,
                created_at=_at(3, 1),
                decided_at=_at(3, 4),
            )
        )
        session.add(
            GroupProposal(
                proposer_id=user.id,
                name="Stammtisch Süd",
                place="Café Süd",
                rule="every Friday 19:00",
                created_at=_at(5),
            )
        )
        session.add(
            HostHandover(
                group_id=frieden.id,
                from_member_id=other.id,
                to_member_id=user.id,
                created_at=_at(6),
            )
        )
        session.add(MemberRole(member_id=user.id, role=Role.ORGANISER, granted_at=_at(7)))
        session.add(ActionPlanner(member_id=user.id, granted_at=_at(8)))
        session.add(HostPreference(member_id=user.id, notice=HostNotice.EACH))
        session.add(NoticeCap(member_id=user.id, kind="office", subject_id=0, sent_at=_at(9)))
        session.add(
            AuditEntry(
                actor_id=user.id,
                action=AuditAction.ATTENDEE_LIST,
                subject="Stammtisch Mitte",
                count=7,
                at=_at(9, 1),
            )
        )
        session.add(
            Broadcast(
                author_id=user.id,
                source_chat_id=user.id,
                source_message_id=5,
                content_type="text",
                summary="Einladung zum Sommerfest",
                category=Category.ANNOUNCEMENTS,
                audience={},
                scheduled_at=_at(10, 2),
                status=BroadcastStatus.DONE,
            )
        )
        session.add(
            Delivery(
                recipient_id=user.id,
                kind="meeting_reminder",
                category="reminders",
                status=DeliveryStatus.SENT,
                created_at=_at(11),
                sent_at=_at(11, 1),
            )
        )
        session.add(
            Delivery(
                recipient_id=user.id,
                kind="help_call",
                category="calls_for_help",
                status=DeliveryStatus.FAILED,
                created_at=_at(12),
            )
        )
        # Someone else's message: not in the export.
        session.add(Delivery(recipient_id=other.id, kind="broadcast", created_at=_at(12)))
        session.add(
            FsmRecord(
                bot_id=app.bot.id,
                chat_id=user.id,
                user_id=user.id,
                thread_id=0,
                business_connection_id="",
                destiny="default",
                state="ProposalStates:place",
                data={"name": "Stammtisch Süd"},
                updated_at=_at(13),
            )
        )
        await calendar.new_feed_token(session, user.id, now=_at(14))
        member = await session.get(Member, user.id)
        assert member is not None
        await invitations.invite_token(session, member, now=_at(15))
        await session.commit()


def _button(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if label in text]
    return data


async def _download(driver: BotDriver, user: FakeUser, command: str, label: str) -> list[Any]:
    [privacy] = await driver.send(user, command)
    return await driver.press(user, privacy, _button(privacy, label))


def _document(sent: SentMessage) -> tuple[str, str]:
    assert sent.method == "sendDocument"
    assert isinstance(sent.document, bytes)
    return sent.message["document"]["file_name"], sent.document.decode("utf-8")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def test_the_json_file_holds_what_the_database_holds(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: FakeUser
) -> None:
    rosa = kv
    other = fake_api.add_user(first_name="Otto", language_code="de")
    await _rich_member(app, rosa, other)

    sent = await _download(driver, rosa, "/privacy", "Download my data")
    assert [message.caption for message in sent] == [
        "Everything I store about you, for computers (JSON).",
        "Everything I store about you, to read.",
    ]
    (json_name, json_text), (text_name, _text) = (_document(message) for message in sent)
    today = utcnow().date().isoformat()
    assert json_name == f"mitmachbot-daten-{today}.json"
    assert text_name == f"mitmachbot-daten-{today}.txt"
    exported = json.loads(json_text)
    assert "ä" in json_text or "ü" in json_text  # ensure_ascii=False: readable umlauts

    async with app.session_pool() as session:
        member = await session.get(Member, rosa.id)
        assert member is not None
        profile = member.profile
        assert profile is not None
        assert exported["account"] == {
            "id": rosa.id,
            "first_name": "Rosa",
            "username": "rosa_r",
            "language": None,
            "telegram_language": "en",
            "reachable": True,
            "created_at": _iso(member.created_at),
            "last_seen_at": exported["account"]["last_seen_at"],  # this update touched it
            "departed_at": None,
            "paused_until": None,
        }
        assert exported["profile"] == {
            "consent_at": _iso(profile.consent_at),
            "consent_version": 1,
            "topics": ["Umwelt", "Bildung"],
            "district": "Mitte",
            "outside_districts": False,
            "activity_types": ["Infostände"],
            "free_time": ["weekday_evening", "weekend"],
            "contact_frequency": "monthly",
            "intake_started_at": _iso(profile.intake_started_at),
            "intake_completed_at": _iso(profile.intake_completed_at),
            "intake_reminded_at": _iso(profile.intake_reminded_at),
            "reminder_offsets": [24 * 60, 60],
        }
        attendances = list(
            await session.execute(
                select(Meeting.starts_at, Attendance.answer, Attendance.guests)
                .join(Attendance, Attendance.meeting_id == Meeting.id)
                .where(Attendance.member_id == rosa.id)
                .order_by(Meeting.starts_at)
            )
        )
        assert [
            (row["starts_at"], row["answer"], row["guests"]) for row in exported["meeting_answers"]
        ] == [(_iso(starts), answer.value, guests) for starts, answer, guests in attendances]
        assert exported["meeting_answers"][1]["waitlisted"] is True
        signups = await session.scalar(
            select(func.count()).select_from(ShiftSignup).where(ShiftSignup.member_id == rosa.id)
        )
        assert len(exported["shifts"]) == signups == SHIFTS
        assert exported["shifts"][0]["label"] == "Aufbau"
        assert [row["via_call"] for row in exported["shifts"]].count(True) == 1
        groups = await session.scalars(
            select(Group.name)
            .join(GroupMembership, GroupMembership.group_id == Group.id)
            .where(GroupMembership.member_id == rosa.id)
        )
        assert [row["group"] for row in exported["groups"]] == list(groups)
        feed = await calendar.feed_of(session, rosa.id)
        assert feed is not None
        assert exported["calendar_link"] == {"created_at": _iso(feed.created_at), "token": None}
        assert feed.token_hash not in json_text  # the fingerprint stays in the database
        token = await invitations.invite_token(session, member, now=utcnow())
        assert exported["invitation"] == {"created_at": _iso(_at(15)), "token": token}
        deliveries = list(
            await session.scalars(
                select(Delivery).where(Delivery.recipient_id == rosa.id).order_by(Delivery.id)
            )
        )
        assert [(row["kind"], row["status"]) for row in exported["deliveries"]] == [
            (row.kind, row.status.value) for row in deliveries
        ]
    assert exported["memorial_answers"] == [
        {
            "memorial": "Tag der Befreiung",
            "day": "2027-05-08",
            "answer": "yes",
            "answered_at": _iso(_at(4)),
        }
    ]
    assert exported["help_calls"] == [
        {
            "action": "Infostand Marktplatz",
            "shift_starts_at": _iso(_at(2, 1)),
            "called_at": _iso(_at(1, 2)),
        }
    ]
    assert [(row["offered_by_you"], row["status"]) for row in exported["shift_swaps"]] == [
        (True, "taken")
    ]
    assert [row["name"] for row in exported["group_proposals"]] == ["Stammtisch Süd"]
    assert [(row["group"], row["handed_by_you"]) for row in exported["host_handovers"]] == [
        ("AG Frieden", False)
    ]
    assert exported["hosted_groups"] == ["Stammtisch Mitte"]
    assert sorted(row["role"] for row in exported["roles"]) == [
        "action_planner",
        "host",
        "organiser",
    ]
    assert exported["contact_for_actions"] == ["Infostand Marktplatz"]
    assert [row["summary"] for row in exported["broadcasts"]] == ["Einladung zum Sommerfest"]
    assert [(row["action"], row["subject"], row["count"]) for row in exported["audit_entries"]] == [
        ("attendee_list", "Stammtisch Mitte", 7)
    ]
    assert [row["category"] for row in exported["switched_off"]] == ["memorials"]
    assert exported["host_notice"] == "each"
    # The office notice, and the download itself (one a minute).
    assert sorted(row["kind"] for row in exported["notices"]) == ["export", "office"]
    assert [row["event"] for row in exported["consent_history"]] == ["given"]
    assert exported["conversations"] == [
        {
            "state": "ProposalStates:place",
            "data": {"name": "Stammtisch Süd"},
            "updated_at": _iso(_at(13)),
        }
    ]
    # Nothing of Otto's: not his name, not his message.
    assert "Otto" not in json_text
    assert str(other.id) not in json_text


def _leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item, path)]
    return [(path, value)]


# Values the view says in words, by the field they are in (the label functions are tested
# with the views); everything else must appear as it is (names, numbers) or as a date.
WORDED = {
    "action",
    "answer",
    "status",
    "event",
    "category",
    "kind",
    "role",
    "free_time",
    "contact_frequency",
    "host_notice",
    "reminder_offsets",
    "language",
    "telegram_language",
}
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\d(T.*)?")


async def test_the_view_shows_everything_the_file_holds(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: FakeUser
) -> None:
    rosa = kv
    other = fake_api.add_user(first_name="Otto", language_code="de")
    await _rich_member(app, rosa, other)
    [json_file, text_file] = await _download(driver, rosa, "/privacy", "Download my data")
    exported = json.loads(_document(json_file)[1])
    [privacy] = await driver.send(rosa, "/privacy")
    shown = await driver.press(rosa, privacy, _button(privacy, "Show my data"))
    assert len(shown) > 1  # 25 shifts and the rest: split over messages
    view = "\n".join(message.text or "" for message in shown)
    # The text file says the same as the chat, line for line.
    file_lines = {line.removeprefix("- ") for line in _document(text_file)[1].splitlines()}
    view_lines = {
        line for line in view.splitlines() if line and not line.startswith("What I store about")
    }
    assert view_lines <= file_lines

    with app.i18n.context(), app.i18n.use_locale("en"):
        missing = []
        for path, value in _leaves(exported):
            if value is None or isinstance(value, bool) or path[-1] in WORDED:
                continue
            if path == ("exported_at",):
                continue
            if isinstance(value, str) and ISO_TIME.fullmatch(value):
                moment = (
                    datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
                )
                expected = format_day(moment, app.settings.zone)
            elif isinstance(value, dict):
                continue
            else:
                expected = str(value)
            if expected not in view:
                missing.append((path, value, expected))
        assert missing == []
        # The worded ones, by their words.
        for words in (
            "About once a month",  # contact frequency, reported missing once
            "list of who comes to a meeting (Stammtisch Mitte, 7 members",  # the audit log
            "weekday evenings, weekends",
            "a day and an hour before",
            "Stammtisch Mitte (joined",
            ": no, answered",
            "yes, 2 guests, on the waiting list",
            ": maybe, answered",
            "Consent given: ",
            "Switched off: Memorial dates",
            "As a host you hear of answers: each answer as it comes",
            "meeting reminder (Reminders), sent",
            "call for help (Calls for help), not delivered",
            "plans field actions (since",
            "Organiser (since",
            "you offered it, taken over",
            "handed over to you, waiting",
            "Einladung zum Sommerfest (Announcements, done,",
            "Last time you asked to talk to someone",
            "Unfinished step ProposalStates:place since",
            "Language: English",
            # The KV's clock, in English too: 13:15, not 1:15 PM.
            "Infostand Marktplatz (Aufbau), 2 Nov 2026, 11:15–13:15: signed up 2 Nov 2026",
        ):
            assert words in view, words
    # Every shift, none summarised away ("and 5 earlier").
    assert view.count("Infostand Marktplatz, ") >= SHIFTS
    assert "earlier" not in view


async def test_the_text_file_is_in_the_members_language(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: FakeUser
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna, district="Mitte", group="Stammtisch Mitte")
    async with app.session_pool() as session:
        profile = await session.get(Profile, anna.id)
        assert profile is not None
        profile.consent_at = T0
        profile.contact_frequency = "weekly"
        await session.commit()
    sent = await _download(driver, anna, "/datenschutz", "Meine Daten herunterladen")
    [_json_file, text_file] = sent
    assert text_file.caption == "Alles, was ich über dich speichere, zum Lesen."
    text = _document(text_file)[1]
    lines = text.splitlines()
    assert lines[0] == "Was der Mitmachbot von KV Testhausen über dich speichert"
    assert lines[1].startswith("Stand: ")
    assert "Dein Konto" in lines
    assert "- Sprache: Deutsch" in lines
    assert "- Zugestimmt am: 02.11.2026" in lines
    assert "- Wie oft du von uns hören möchtest: Jede Woche" in lines or any(
        line.startswith("- Wie oft du von uns hören möchtest: ") and "not given" not in line
        for line in lines
    )
    assert any(line.startswith("- Stammtisch Mitte (beigetreten am ") for line in lines)
    assert "<b>" not in text  # plain text, no HTML

    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await signed_up(app.session_pool, ben)
    [_json, text_file] = await _download(driver, ben, "/privacy", "Download my data")
    lines = _document(text_file)[1].splitlines()
    assert lines[0] == "What KV Testhausen's Mitmachbot stores about you"
    assert "Your account" in lines
    assert "- Language: English" in lines
    assert "- First name: Ben" in lines


async def test_a_double_tap_sends_the_files_once(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: FakeUser
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [privacy] = await driver.send(anna, "/datenschutz")
    download = _button(privacy, "Meine Daten herunterladen")
    assert len(await driver.press(anna, privacy, download)) == 2
    assert await driver.press(anna, privacy, download) == []
    answer = driver.last_answer()
    assert answer["text"] == (
        "Die Dateien sind unterwegs; in einer Minute kannst du sie wieder anfordern."
    )
    # Two presses handled at the same time: one of them sends.
    async with app.session_pool() as session:
        cap = await session.get(NoticeCap, (anna.id, data_export.DOWNLOAD_KIND, 0))
        assert cap is not None
        cap.sent_at = utcnow() - timedelta(minutes=2)
        await session.commit()
    before = len(fake_api.sent_to(anna.id))
    updates = [await anna.press(privacy, download) for _ in range(2)]
    await asyncio.gather(*(driver.feed(update) for update in updates))
    documents = [m for m in fake_api.sent_to(anna.id)[before:] if m.method == "sendDocument"]
    assert len(documents) == 2


async def _consent_rows(app: Application, member_id: int) -> list[tuple[str, datetime]]:
    async with app.session_pool() as session:
        rows = await session.execute(
            select(ConsentRecord.event, ConsentRecord.at)
            .where(ConsentRecord.member_id == member_id)
            .order_by(ConsentRecord.at, ConsentRecord.id)
        )
        return [(event.value, at) for event, at in rows]


async def test_consent_given_withdrawn_and_given_again_is_recorded(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: FakeUser
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    [_greeting, consent] = await driver.send(anna, "/start")
    await driver.press(anna, consent, _button(consent, "Einverstanden"))
    assert [event for event, _at in await _consent_rows(app, anna.id)] == ["given"]

    [privacy] = await driver.send(anna, "/datenschutz")
    [question] = await driver.press(anna, privacy, _button(privacy, "Einwilligung widerrufen"))
    assert [text for text, _data in question.buttons] == ["Ja, widerrufen", "Nein, behalten"]
    yes = _button(question, "Ja, widerrufen")
    assert await driver.press(anna, question, yes) == []
    assert (question.text or "").startswith("Erledigt. Deine Einwilligung ist widerrufen")
    # A second tap finds nothing to withdraw.
    assert await driver.press(anna, question, yes) == []
    assert driver.last_answer()["text"] == (
        "Du hattest nicht eingewilligt, es gab also nichts zu widerrufen."
    )
    async with app.session_pool() as session:
        member = await session.get(Member, anna.id)
        assert member is not None
        assert member.profile is None
        assert member.first_name is None
    assert [event for event, _at in await _consent_rows(app, anna.id)] == ["given", "withdrawn"]

    # Without consent the history is still there to see: the buttons stay.
    [privacy] = await driver.send(anna, "/datenschutz")
    assert "Einwilligung widerrufen" not in [text for text, _data in privacy.buttons]
    [_greeting, consent] = await driver.send(anna, "/start")
    await driver.press(anna, consent, _button(consent, "Einverstanden"))
    rows = await _consent_rows(app, anna.id)
    assert [event for event, _at in rows] == ["given", "withdrawn", "given"]
    assert rows[0][1] <= rows[1][1] <= rows[2][1]

    [privacy] = await driver.send(anna, "/datenschutz")
    [json_file, _text] = await driver.press(
        anna, privacy, _button(privacy, "Meine Daten herunterladen")
    )
    history = json.loads(_document(json_file)[1])["consent_history"]
    assert [(row["event"], row["at"]) for row in history] == [
        (event, _iso(at)) for event, at in rows
    ]
    [privacy] = await driver.send(anna, "/datenschutz")
    [mine] = await driver.press(anna, privacy, _button(privacy, "Meine Daten anzeigen"))
    lines = (mine.text or "").splitlines()
    changes = ("Eingewilligt: ", "Einwilligung widerrufen: ")
    assert [line.split(":")[0] for line in lines if line.startswith(changes)] == [
        "Eingewilligt",
        "Einwilligung widerrufen",
        "Eingewilligt",
    ]


async def test_the_overview_names_purpose_retention_legal_basis_and_contact(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: FakeUser
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [privacy] = await driver.send(anna, "/datenschutz")
    text = privacy.text or ""
    assert "Art. 9 Abs. 2 lit. d DSGVO" in text
    assert "Art. 6 Abs. 1 lit. a" in text
    assert "90 Tage" in text
    assert "24 Monaten" in text
    # No contact in the setup: PRIVACY_CONTACT, if set (the test settings set none).
    assert "Fragen zum Datenschutz" not in text
    assert [label for label, _data in privacy.buttons] == [
        "Meine Daten anzeigen",
        "Meine Daten herunterladen",
        "Einwilligung widerrufen",
        "Alles löschen",
    ]

    app.settings.privacy_contact = "datenschutz@testhausen.example"
    [privacy] = await driver.send(anna, "/datenschutz")
    assert "Fragen zum Datenschutz: datenschutz@testhausen.example" in (privacy.text or "")
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    [privacy] = await driver.send(ben, "/privacy")
    assert "Art. 9(2)(d) GDPR" in (privacy.text or "")
    assert privacy.buttons == []  # nothing stored beyond id and language


def _member_columns() -> dict[str, set[str]]:
    """Every column of the metadata that refers to a member: a foreign key to members.id or
    profiles.member_id, or one of the plain id columns known to hold a Telegram user id."""
    known = {
        ("deliveries", "recipient_id"),
        ("broadcasts", "author_id"),
        ("broadcasts", "cancelled_by"),
        ("surveys", "author_id"),
        ("group_hosts", "telegram_id"),
        ("fsm_records", "user_id"),
        ("fsm_records", "chat_id"),
        ("member_roles", "granted_by"),
        ("action_planners", "granted_by"),
        ("group_proposals", "decided_by"),
        ("host_handovers", "decided_by"),
    }
    found: dict[str, set[str]] = {"members": {"id"}}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            targets = {fk.target_fullname for fk in column.foreign_keys}
            if targets & {"members.id", "profiles.member_id"} or (table.name, column.name) in known:
                found.setdefault(table.name, set()).add(column.name)
    return found


def test_every_table_referring_to_a_member_is_exported() -> None:
    declared = {
        table: set(data_export.COVERED.get(table, ()))
        | set(data_export.NOT_EXPORTED.get(table, ()))
        for table in {*data_export.COVERED, *data_export.NOT_EXPORTED}
    }
    assert _member_columns() == declared
