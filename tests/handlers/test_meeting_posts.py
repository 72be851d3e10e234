"""Dispatcher tests of meeting posts in group chats: posting (hosts, organisers, pinning, posting
again), answers pressed under a post, the pacer that keeps the counts current within the group
rate, and /termine in a group."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Application
from bot.services import meeting_notices, schedule
from bot.services.kv_setup import apply_setup, load_setup
from bot.telegram.callbacks import HostAction, HostCallback, RsvpAction, RsvpCallback
from bot.telegram.views.meeting_posts import PIN, REPLACE
from jobs.meeting_posts import PacerRun, refresh_posts
from models import Attendance, Group, Meeting, MeetingPost, Role, RsvpAnswer
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeChat, FakeUser, SentMessage
from tests.members import signed_up

NOT_ALLOWED = (
    "Termine einer Gruppe können nur ihre Gastgeber:innen und die Organisator:innen posten."
)
GONE = "Dieses Treffen steht nicht mehr auf der Liste. /termine zeigt die aktuellen."


def _setup(host: FakeUser, mitte: FakeChat, general: FakeChat, *, language: str = "de") -> str:
    return f"""
name: KV Testhausen
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    meets: every Thursday 19:00
    place: Café Rosa
    hosts: [{host.id}]
  - key: bg-nord
    name: Basisgruppe Nord
    type: basisgruppe
    meets: every Tuesday 18:30
telegram_groups:
  - chat_id: {mitte.id}
    title: Stammtisch Mitte Chat
    group: stammtisch-mitte
    language: {language}
  - chat_id: {general.id}
    title: KV Alle
"""


class World:
    """The KV: a host, the Stammtisch's chat, a general chat, and the next meeting's id."""

    def __init__(
        self, host: FakeUser, chat: FakeChat, general: FakeChat, meeting_id: int, other_id: int
    ) -> None:
        self.host = host
        self.chat = chat
        self.general = general
        self.meeting_id = meeting_id
        self.other_id = other_id  # the Basisgruppe's next meeting


async def _build(app: Application, fake_api: FakeBotAPI, *, language: str = "de") -> World:
    host = fake_api.add_user(first_name="Hanna", language_code="de")
    chat = fake_api.add_group("Stammtisch Mitte Chat")
    general = fake_api.add_group("KV Alle")
    await signed_up(app.session_pool, host)
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(_setup(host, chat, general, language=language)))
        await schedule.extend_horizon(session, now=utcnow(), zone=app.settings.zone)
        await session.commit()
        ids = {}
        for key in ("stammtisch-mitte", "bg-nord"):
            group_id = await session.scalar(select(Group.id).where(Group.key == key))
            meeting = await schedule.next_meeting(session, group_id, now=utcnow())
            assert meeting is not None
            ids[key] = meeting.id
    return World(host, chat, general, ids["stammtisch-mitte"], ids["bg-nord"])


@pytest.fixture
async def world(app: Application, fake_api: FakeBotAPI) -> World:
    return await _build(app, fake_api)


def _panel(user: FakeUser) -> dict[str, Any]:
    """The host panel's message the POST button sits under (built by another feature)."""
    return {
        "message_id": 77,
        "date": int(time.time()),
        "chat": user.private_chat,
        "from": {"id": 1, "is_bot": True, "first_name": "Mitmachbot"},
        "text": "Panel",
    }


def _post_data(meeting_id: int, *, pin: bool = False, again: bool = False) -> str:
    value = (PIN if pin else 0) | (REPLACE if again else 0)
    # Written out, not packed: tests forge ids no row can have.
    return f"ho1:{HostAction.POST.value}:0:{meeting_id}:{value}"


async def _post(
    driver: BotDriver, user: FakeUser, meeting_id: int, *, pin: bool = False, again: bool = False
) -> list[SentMessage]:
    return await driver.deliver(
        user, await user.press(_panel(user), _post_data(meeting_id, pin=pin, again=again))
    )


def _answer(meeting_id: int, action: RsvpAction = RsvpAction.YES) -> str:
    # Written out, not packed: tests forge ids no row can have.
    return f"rv1:{action.value}:{meeting_id}:0"


async def _posts(app: Application) -> list[MeetingPost]:
    async with app.session_pool() as session:
        return list(await session.scalars(select(MeetingPost)))


async def _attendances(app: Application) -> list[Attendance]:
    async with app.session_pool() as session:
        return list(await session.scalars(select(Attendance)))


def _calls(fake_api: FakeBotAPI, method: str) -> list[dict[str, Any]]:
    return [request.params for request in fake_api.requests if request.method == method]


async def _press(driver: BotDriver, user: FakeUser, post: SentMessage, data: str) -> dict[str, Any]:
    await driver.feed(await user.press(post, data))
    return driver.last_answer()


# --- posting --------------------------------------------------------------------------------


async def test_a_host_posts_the_meeting_into_the_groups_chat(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    [report] = await _post(driver, world.host, world.meeting_id)

    [post] = fake_api.sent_to(world.chat.id)
    assert post.text is not None
    lines = post.text.splitlines()
    assert lines[0] == "Stammtisch Mitte"
    assert lines[1].startswith("🗓 Do., ")
    assert lines[1].endswith(", 19:00")
    assert lines[2] == "📍 Café Rosa"
    assert lines[3] == "✅ 0 · 🤔 0 · ❌ 0"
    assert lines[-1] == "Tippe auf einen Knopf, um zu sagen, ob du kommst."
    assert [data for _label, data in post.buttons] == [
        _answer(world.meeting_id, action)
        for action in (RsvpAction.YES, RsvpAction.MAYBE, RsvpAction.NO)
    ]
    # The general chat belongs to no group: nothing there.
    assert fake_api.sent_to(world.general.id) == []
    assert report.text is not None
    assert report.text.startswith("✅ In Stammtisch Mitte Chat gepostet.")
    assert "von selbst" in report.text
    link = f"https://t.me/c/{str(world.chat.id)[4:]}/{post.message_id}"
    assert f'href="{link}"' in (report.html or "")
    [row] = await _posts(app)
    assert (row.meeting_id, row.chat_id, row.message_id) == (
        world.meeting_id,
        world.chat.id,
        post.message_id,
    )
    assert (row.pinned, row.language, row.revision, row.shown_revision) == (False, "de", 0, 0)
    assert _calls(fake_api, "pinChatMessage") == []


async def test_an_organiser_posts_and_pins(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    olga = fake_api.add_user(first_name="Olga")
    await signed_up(app.session_pool, olga, role=Role.ORGANISER)
    [report] = await _post(driver, olga, world.meeting_id, pin=True)

    [post] = fake_api.sent_to(world.chat.id)
    [pin] = _calls(fake_api, "pinChatMessage")
    assert (pin["chat_id"], pin["message_id"]) == (world.chat.id, post.message_id)
    assert pin["disable_notification"] is True
    assert fake_api.pinned[world.chat.id] == post.message_id
    assert report.text is not None
    assert report.text.startswith("📌 In Stammtisch Mitte Chat gepostet")
    [row] = await _posts(app)
    assert row.pinned is True


async def test_missing_pin_rights_are_explained_to_the_host(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    fake_api.fail(
        "pinChatMessage",
        status=400,
        description="Bad Request: not enough rights to manage pinned messages in the chat",
    )
    [report] = await _post(driver, world.host, world.meeting_id, pin=True)

    assert len(fake_api.sent_to(world.chat.id)) == 1
    assert report.text is not None
    assert "konnte den Beitrag nicht anheften" in report.text
    assert "Recht, Nachrichten anzuheften" in report.text
    [row] = await _posts(app)
    assert row.pinned is False


@pytest.mark.parametrize("role", [None, Role.HOST])
async def test_others_may_not_post(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World, role: Role | None
) -> None:
    # A host of some other group is no host of this one.
    ben = fake_api.add_user(first_name="Ben")
    await signed_up(app.session_pool, ben, role=role)
    assert await _post(driver, ben, world.meeting_id) == []
    answer = driver.last_answer()
    assert answer["text"] == NOT_ALLOWED
    assert answer["show_alert"] is True
    assert fake_api.sent_to(world.chat.id) == []
    assert await _posts(app) == []


@pytest.mark.parametrize("meeting_id", [0, 999_999, 2**40, 2**70])
async def test_forged_meeting_ids_are_refused_politely(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World, meeting_id: int
) -> None:
    assert await _post(driver, world.host, meeting_id) == []
    answer = driver.last_answer()
    # Past 2^31 no row can have the id: the fallback's "no longer valid".
    assert answer["text"] == (GONE if meeting_id < 2**31 else "Dieser Knopf gilt nicht mehr.")
    assert fake_api.sent_to(world.chat.id) == []


async def test_a_forged_post_value_is_a_stale_button(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    data = HostCallback(action=HostAction.POST, meeting_id=world.meeting_id, value=9).pack()
    assert await driver.deliver(world.host, await world.host.press(_panel(world.host), data)) == []
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    assert fake_api.sent_to(world.chat.id) == []


async def test_a_group_without_a_chat_and_a_cancelled_meeting_are_explained(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    olga = fake_api.add_user(first_name="Olga")
    await signed_up(app.session_pool, olga, role=Role.ORGANISER)
    await _post(driver, olga, world.other_id)
    assert driver.last_answer()["text"].startswith(
        "Zu dieser Gruppe kenne ich keinen Telegram-Chat"
    )
    async with app.session_pool() as session:
        await schedule.cancel(session, world.meeting_id, now=utcnow())
        await session.commit()
    await _post(driver, olga, world.meeting_id)
    assert driver.last_answer()["text"] == "Dieses Treffen wurde abgesagt."
    assert fake_api.sent_to(world.chat.id) == []


async def test_posting_again_offers_a_repost_which_replaces_the_old_post(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [first] = fake_api.sent_to(world.chat.id)

    [offer] = await _post(driver, world.host, world.meeting_id)
    assert offer.text is not None
    assert "ist schon in Stammtisch Mitte Chat gepostet" in offer.text
    assert [label for label, _data in offer.buttons] == [
        "Noch einmal posten",
        "Noch einmal posten und anheften",
    ]
    assert len(fake_api.sent_to(world.chat.id)) == 1  # no second post yet

    [report] = await driver.press(world.host, offer, offer.buttons[1][1])
    assert report.text is not None
    assert report.text.startswith("📌")
    old, new = fake_api.sent_to(world.chat.id)
    assert old is first
    assert old.deleted
    assert not new.deleted
    [row] = await _posts(app)
    assert (row.message_id, row.pinned) == (new.message_id, True)


async def test_a_post_in_an_english_chat_speaks_english(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    world = await _build(app, fake_api, language="en")
    [report] = await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    assert post.text is not None
    assert post.text.splitlines()[1].startswith("🗓 Thu, ")
    assert post.text.endswith("Tap a button to say whether you are coming.")
    assert [label for label, _data in post.buttons] == ["✅ Yes", "🤔 Maybe", "❌ No"]
    # The host reads German: the report is in the host's language.
    assert report.text is not None
    assert "gepostet" in report.text
    [row] = await _posts(app)
    assert row.language == "en"


# --- answers under the post ------------------------------------------------------------------


async def test_members_who_agreed_answer_in_the_group(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    anna = fake_api.add_user(first_name="Anna")
    await signed_up(app.session_pool, anna)

    answer = await _press(driver, anna, post, _answer(world.meeting_id))
    assert answer["text"] == "Bis dann! Ich habe notiert, dass du kommst."
    assert not answer.get("show_alert")
    [row] = await _attendances(app)
    assert (row.member_id, row.answer) == (anna.id, RsvpAnswer.YES)
    answer = await _press(driver, anna, post, _answer(world.meeting_id, RsvpAction.MAYBE))
    assert answer["text"] == "Notiert: vielleicht."
    # Nothing is written into the group by the press; the pacer edits the post.
    assert fake_api.sent_to(anna.id) == []
    assert post.edits == 0
    [row] = await _posts(app)
    assert row.revision == 2
    assert row.shown_revision == 0


async def test_people_without_consent_are_sent_to_the_private_chat(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    cem = fake_api.add_user(first_name="Cem")  # never agreed: only seen

    answer = await _press(driver, cem, post, _answer(world.meeting_id))
    assert answer["url"] == f"https://t.me/{fake_api.bot_username}?start=m{world.meeting_id}"
    assert "text" not in answer
    assert await _attendances(app) == []


@pytest.mark.parametrize("consented", [True, False])
async def test_cancelled_started_and_forged_presses_get_a_polite_toast(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World, consented: bool
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    dana = fake_api.add_user(first_name="Dana")
    if consented:
        await signed_up(app.session_pool, dana)
    answer = await _press(driver, dana, post, _answer(999_999))
    assert answer["text"] == GONE
    answer = await _press(driver, dana, post, _answer(2**63 + 5))
    assert answer["text"] == "Dieser Knopf gilt nicht mehr."
    answer = await _press(
        driver,
        dana,
        post,
        RsvpCallback(action=RsvpAction.GUESTS, meeting_id=world.meeting_id, value=3).pack(),
    )
    assert answer["text"] == GONE
    async with app.session_pool() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        meeting.starts_at = utcnow() - timedelta(minutes=5)
        await session.commit()
    answer = await _press(driver, dana, post, _answer(world.meeting_id))
    assert (
        answer["text"]
        == "Dieses Treffen hat schon begonnen; Antworten lassen sich nicht mehr ändern."
    )
    async with app.session_pool() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        meeting.starts_at = utcnow() + timedelta(days=1)
        await session.commit()
        await schedule.cancel(session, world.meeting_id, now=utcnow())
        await session.commit()
    answer = await _press(driver, dana, post, _answer(world.meeting_id))
    assert answer["text"] == "Dieses Treffen wurde abgesagt."
    assert await _attendances(app) == []


# --- the pacer -------------------------------------------------------------------------------


class Clock:
    """The pacer's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow() + timedelta(seconds=5)

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


async def _pace(app: Application, when: Clock | datetime) -> PacerRun:
    """One run of the pacer at `when` (a clock's current time, or a time it was moved to)."""
    return await refresh_posts(app.job_context(), now=when.now if isinstance(when, Clock) else when)


async def _members(app: Application, fake_api: FakeBotAPI, count: int) -> list[FakeUser]:
    people = [fake_api.add_user(first_name=f"M{index}") for index in range(count)]
    for person in people:
        await signed_up(app.session_pool, person)
    return people


async def test_many_answers_become_few_edits_within_the_group_rate(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    people = await _members(app, fake_api, 40)
    clock = Clock()
    edited_at: list[datetime] = []
    # Two minutes: an answer every half second, the pacer every second (it runs every 2 s in
    # production; more often here to show that the gap, not the job's pace, holds the rate).
    actions = [RsvpAction.YES, RsvpAction.MAYBE, RsvpAction.NO]
    for tick in range(240):
        person = people[tick % len(people)]
        await _press(driver, person, post, _answer(world.meeting_id, actions[tick % 3]))
        clock.advance(0.5)
        if tick % 2:
            run = await _pace(app, clock)
            if run.edited or run.unchanged:
                edited_at.append(clock.now)
    for _quiet in range(5):
        run = await _pace(app, clock.advance(1))
        if run.edited or run.unchanged:
            edited_at.append(clock.now)

    # Coalesced: 240 answers, one edit every 3 s (some of them "not modified": the counts
    # came back to what the post showed), never two in the chat within 3 s.
    assert 35 <= len(edited_at) <= 45
    assert post.edits <= len(edited_at)
    assert [request.method for request in fake_api.requests].count("editMessageText") == len(
        edited_at
    )
    gaps = [later - earlier for earlier, later in itertools.pairwise(edited_at)]
    assert min(gaps) >= timedelta(seconds=3)
    for index, start in enumerate(edited_at):
        in_window = [t for t in edited_at[index:] if t < start + timedelta(seconds=60)]
        assert len(in_window) <= 20
    # The last edit shows what is true.
    async with app.session_pool() as session:
        yes = await session.scalar(
            select(func.count()).select_from(Attendance).where(Attendance.answer == RsvpAnswer.YES)
        )
    assert post.text is not None
    assert f"✅ {yes} · " in post.text
    [row] = await _posts(app)
    assert row.shown_revision == row.revision
    # Nothing more to do: the next run edits nothing.
    clock.advance(10)
    assert (await _pace(app, clock)).edited == 0


async def test_answers_between_two_runs_make_one_edit(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    people = await _members(app, fake_api, 5)
    clock = Clock()
    for person in people:
        await _press(driver, person, post, _answer(world.meeting_id))
    run = await _pace(app, clock)
    assert run.edited == 1
    assert post.edits == 1
    assert post.text is not None
    assert "✅ 5 · 🤔 0 · ❌ 0" in post.text
    assert next(data for _label, data in post.buttons) == _answer(world.meeting_id)
    assert (await _pace(app, clock.advance(5))).edited == 0


async def test_the_first_edit_waits_for_the_gap_after_posting(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    [anna] = await _members(app, fake_api, 1)
    await _press(driver, anna, post, _answer(world.meeting_id))
    clock = Clock()
    clock.now = utcnow()  # the post went out just now
    assert (await _pace(app, clock)).edited == 0
    assert (await _pace(app, clock.advance(3.5))).edited == 1


async def test_two_posts_in_one_chat_share_the_chats_rate(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    async with app.session_pool() as session:
        group_id = await session.scalar(select(Group.id).where(Group.key == "stammtisch-mitte"))
        [_first, second] = await schedule.upcoming(
            session, now=utcnow(), until=utcnow() + timedelta(days=15), group_ids=[group_id]
        )
    await _post(driver, world.host, world.meeting_id)
    await _post(driver, world.host, second.id)
    one, two = fake_api.sent_to(world.chat.id)
    [anna] = await _members(app, fake_api, 1)
    await _press(driver, anna, one, _answer(world.meeting_id))
    await _press(driver, anna, two, _answer(second.id))
    clock = Clock()
    assert (await _pace(app, clock)).edited == 1
    assert (await _pace(app, clock.advance(1))).edited == 0
    assert (await _pace(app, clock.advance(2))).edited == 1
    assert (one.edits, two.edits) == (1, 1)


async def test_not_modified_is_tolerated(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    async with app.session_pool() as session:
        await meeting_notices.touch_posts(session, world.meeting_id)
        await session.commit()
    run = await _pace(app, Clock())
    assert (run.edited, run.unchanged, run.dropped) == (0, 1, 0)
    [row] = await _posts(app)
    assert row.shown_revision == row.revision == 1
    assert post.edits == 0


async def test_a_deleted_post_is_forgotten(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    [anna] = await _members(app, fake_api, 1)
    await _press(driver, anna, post, _answer(world.meeting_id))
    await app.bot.delete_message(world.chat.id, post.message_id)  # an admin removed it
    run = await _pace(app, Clock())
    assert run.dropped == 1
    assert await _posts(app) == []


async def test_a_bot_removed_from_the_chat_forgets_its_posts(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    [anna] = await _members(app, fake_api, 1)
    await _press(driver, anna, post, _answer(world.meeting_id))
    fake_api.fail(
        "editMessageText",
        status=403,
        description="Forbidden: bot was kicked from the supergroup chat",
    )
    assert (await _pace(app, Clock())).dropped == 1
    assert await _posts(app) == []


async def test_too_many_requests_holds_the_chat_back(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    [anna] = await _members(app, fake_api, 1)
    await _press(driver, anna, post, _answer(world.meeting_id))
    fake_api.fail("editMessageText", status=429, retry_after=10)
    clock = Clock()
    assert (await _pace(app, clock)).held_back == 1
    [row] = await _posts(app)
    assert row.shown_revision < row.revision  # still to do
    assert (await _pace(app, clock.advance(9))).edited == 0
    assert (await _pace(app, clock.advance(5))).edited == 1
    assert post.text is not None
    assert "✅ 1 · " in post.text


async def test_a_cancelled_meeting_is_shown_cancelled_without_buttons(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    await _post(driver, world.host, world.meeting_id)
    [post] = fake_api.sent_to(world.chat.id)
    async with app.session_pool() as session:
        await schedule.cancel(session, world.meeting_id, now=utcnow())
        await session.commit()
    assert (await _pace(app, Clock())).edited == 1
    assert post.text is not None
    assert post.text.splitlines()[1].endswith("– abgesagt")
    assert "Tippe" not in post.text
    assert post.reply_markup is None


# --- /termine in a group ---------------------------------------------------------------------


async def _group_command(
    driver: BotDriver, user: FakeUser, chat: FakeChat, text: str
) -> list[SentMessage]:
    before = len(driver.server.sent_to(chat.id))
    await driver.feed(await user.send_message(text, chat=chat))
    return driver.server.sent_to(chat.id)[before:]


async def test_dates_in_a_groups_chat_list_its_meetings_and_lead_to_the_private_chat(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="en")
    for command in ("/termine", "/dates", "/gruppen", "/kalender"):
        [reply] = await _group_command(driver, anna, world.chat, command)
        assert reply.text is not None
        lines = reply.text.splitlines()
        assert lines[0] == "Die nächsten Treffen von Stammtisch Mitte"
        assert 1 < len(lines) - 3 <= 5
        assert all(line.startswith("🗓 Do., ") for line in lines[1:-2])
        assert lines[1].endswith(", 19:00 (Café Rosa)")
        [[button]] = reply.reply_markup["inline_keyboard"]  # type: ignore[index]
        assert button == {
            "text": "Privaten Chat öffnen",
            "url": f"https://t.me/{fake_api.bot_username}?start=g{world.chat.id}",
        }
    assert fake_api.sent_to(anna.id) == []


async def test_dates_in_a_general_chat_list_every_group(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    anna = fake_api.add_user(first_name="Anna")
    [reply] = await _group_command(driver, anna, world.general, "/termine")
    assert reply.text is not None
    lines = reply.text.splitlines()
    assert lines[0] == "Die nächsten Treffen"
    assert any(line.endswith("– Stammtisch Mitte") for line in lines)
    assert any(line.endswith("– Basisgruppe Nord") for line in lines)


async def test_dates_in_a_group_the_kv_does_not_serve_get_no_answer(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, world: World
) -> None:
    elsewhere = fake_api.add_group("Somebody else's group")
    anna = fake_api.add_user(first_name="Anna")
    assert await _group_command(driver, anna, elsewhere, "/termine") == []
