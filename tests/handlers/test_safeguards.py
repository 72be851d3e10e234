"""Dispatcher tests of the doors issue #12 closes: forged ids get the polite "no longer valid",
invitation links name nobody without a valid token, and what a member makes the bot send to
others is capped."""

from __future__ import annotations

import asyncio
import logging
import warnings

import pytest
from sqlalchemy import func, select

from bot.app import Application
from bot.logs import hide_update_contents
from bot.services import invitations, schedule
from bot.services.kv_setup import apply_setup, load_setup
from bot.settings import Settings
from bot.telegram.callbacks import GroupAction, GroupCallback
from bot.telegram.deeplinks import invite_payload
from models import Group, GroupProposal, Member, Role
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

STALE = "Dieser Knopf gilt nicht mehr."
APOLOGY = "Entschuldige"

SETUP = """
name: KV Testhausen
districts: [Mitte]
topics: [Umwelt]
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
    topics: [umwelt]
    meets: every Thursday 19:00
    hosts: [{host}]
"""

# One forged button per callback prefix with an int field, each id past what its column holds:
# past 2^63 (Python parses it, the database can't), past 2^31 (an Integer column; asyncpg
# refuses it), negative, or not an ASCII number at all.
FORGED = [
    "role1:99999999999999999999:host:1",
    "in1:topics:on:99999999999999999999",
    "in1:topics:toggle:99999999999999999999",
    "gr1:details:9223372036854775808:0",
    "gr1:join:2147483648:0",
    "gr1:details:-1:0",
    "gr1:all:0:99999999999999999999",
    "fo1:d:99999999999999999999",
    "gp1:a:99999999999999999999",
    "kv1:99999999999999999999",
    "kv1:²",
    "bc1:stop::99999999999999999999",
    "rem1:on:99999999999999999999",
    "rv1:y:99999999999999999999:0",
    "rv1:g:1:٣",
    "ho1:group:99999999999999999999:0:0",
    "ho1:hyes:0:0:2147483648",
    "ho1:aday:1:0:99999999999999999999",
    "cal1:meet:99999999999999999999",
    "fa1:date:99999999999999999999:0:0:0:0",
    "fp1:planner:0:0:99999999999999999999:1:0",
    "fp1:date:2147483648:0:0:0:0",
    "ar1:open:99999999999999999999:0:0:0:0",
    "ar1:add:1:0:-99999999999999999999:0:0",
    "gd1:y:99999999999999999999",
]

# In range, so a handler runs: the biggest ids each field may carry name nothing, and must be
# refused without an error on both backends.
LARGEST = [
    "role1:9223372036854775807:host:1",
    "in1:topics:on:2147483647",
    "gr1:details:2147483647:0",
    "gr1:all:0:2147483647",
    "gr1:dist:2147483647:0",
    "gr1:leave:2147483647:0",
    "gp1:a:2147483647",
    "kv1:2147483647",
    "bc1:stop::2147483647",
    "rv1:y:2147483647:0",
    "rv1:s:2147483647:0",
    "ho1:group:2147483647:0:0",
    "ho1:meeting:0:2147483647:0",
    "ho1:hpick:2147483647:0:9223372036854775807",
    "ho1:hyes:0:0:2147483647",
    "ho1:aday:2147483647:0:9223372036854775807",
    "ho1:atime:2147483647:0:9223372036854775807",
    "ho1:groups:0:0:9223372036854775807",
    "cal1:meet:2147483647",
    "cal1:shift:2147483647",
    "cal1:gd:2147483647",
    "fa1:date:2147483647:0:0:0:0",
    "fa1:list:0:0:0:2147483647:0",
    "fa1:in:0:2147483647:0:0:1",
    "fa1:take:0:0:2147483647:0:0",
    "fp1:planner:0:0:9223372036854775807:1:0",
    "fp1:staff:0:0:0:0:2147483647",
    "fp1:need:0:2147483647:0:5:0",
    "ar1:open:2147483647:0:0:0:0",
    "gd1:y:2147483647",
    "gd1:s:2147483647",
]


@pytest.fixture
def host(fake_api: FakeBotAPI) -> FakeUser:
    return fake_api.add_user(first_name="Hanna", language_code="de")


@pytest.fixture
async def kv(app: Application, host: FakeUser) -> None:
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(SETUP.format(host=host.id)))
        await session.flush()
        await schedule.extend_horizon(session, now=utcnow(), zone=app.settings.zone)
        await session.commit()


async def _screen(driver: BotDriver, user: FakeUser) -> SentMessage:
    """A message of the bot's in the user's chat, to press forged buttons on."""
    [*_, last] = await driver.send(user, "/hilfe")
    return last


def _no_failure(fake_api: FakeBotAPI, user: FakeUser, caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not [m.text for m in fake_api.sent_to(user.id) if APOLOGY in m.text]


@pytest.mark.parametrize("data", FORGED)
async def test_an_id_out_of_range_is_a_stale_button(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    admin_user: FakeUser,
    kv: None,
    caplog: pytest.LogCaptureFixture,
    data: str,
) -> None:
    # The admin may press everything: only the id can be what is refused.
    screen = await _screen(driver, admin_user)
    with caplog.at_level(logging.INFO):
        assert await driver.press(admin_user, screen, data) == []
    assert driver.last_answer()["text"] == STALE
    assert not driver.last_answer().get("show_alert")
    _no_failure(fake_api, admin_user, caplog)


@pytest.mark.parametrize("data", LARGEST)
async def test_the_largest_ids_name_nothing_and_fail_nothing(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    admin_user: FakeUser,
    kv: None,
    caplog: pytest.LogCaptureFixture,
    data: str,
) -> None:
    screen = await _screen(driver, admin_user)
    answers = len(fake_api.callback_answers)
    with caplog.at_level(logging.INFO):
        await driver.press(admin_user, screen, data)
    assert len(fake_api.callback_answers) == answers + 1
    _no_failure(fake_api, admin_user, caplog)


@pytest.mark.parametrize(
    "args",
    ["99999999999999999999", "²", "٣", "-5", "9223372036854775808", "@nobody"],
)
async def test_role_command_with_a_bad_id_names_nobody(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    admin_user: FakeUser,
    caplog: pytest.LogCaptureFixture,
    args: str,
) -> None:
    with caplog.at_level(logging.INFO):
        [reply] = await driver.send(admin_user, f"/rolle {args}")
    assert "kenne ich nicht" in reply.text or "nicht gefunden" in reply.text, reply.text
    _no_failure(fake_api, admin_user, caplog)


async def _plain_start_texts(driver: BotDriver, user: FakeUser, args: str = "") -> list[str]:
    replies = await driver.send(user, f"/start {args}".strip())
    return [reply.text.replace(user.first_name, "NAME") for reply in replies]


@pytest.mark.parametrize(
    "payload", ["i99999999999999999999", "real", "i-1", "iAAAAAAAAAAAAAAAAAAAAAA"]
)
async def test_an_invitation_without_a_valid_token_is_a_plain_start(
    driver: BotDriver,
    fake_api: FakeBotAPI,
    app: Application,
    caplog: pytest.LogCaptureFixture,
    payload: str,
) -> None:
    anna = fake_api.add_user(first_name="Annabell", language_code="de")
    await signed_up(app.session_pool, anna)
    if payload == "real":
        payload = f"i{anna.id}"  # an old link, or a guessed Telegram id
    plain = await _plain_start_texts(
        driver, fake_api.add_user(first_name="Ben", language_code="de")
    )
    stranger = fake_api.add_user(first_name="Carl", language_code="de")
    with caplog.at_level(logging.INFO):
        texts = await _plain_start_texts(driver, stranger, payload)
    assert texts == plain
    assert not [text for text in texts if "Annabell" in text or "eingeladen" in text]
    _no_failure(fake_api, stranger, caplog)


async def test_a_valid_token_names_the_inviter(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    async with app.session_pool() as session:
        member = await session.get(Member, anna.id)
        assert member is not None
        token = await invitations.invite_token(session, member, now=utcnow())
        await session.commit()
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    [greeting, _consent] = await driver.send(ben, f"/start {invite_payload(token)}")
    assert "Anna hat dich eingeladen – willkommen!" in greeting.text
    # After erasure the link names nobody.
    [privacy] = await driver.send(anna, "/datenschutz")
    [ask] = await driver.press(anna, privacy, dict(privacy.buttons)["Alles löschen"])
    await driver.press(anna, ask, dict(ask.buttons)["Ja, alles löschen"])
    carl = fake_api.add_user(first_name="Carl", language_code="de")
    [greeting, _consent] = await driver.send(carl, f"/start {invite_payload(token)}")
    assert "eingeladen" not in greeting.text


async def test_the_member_gets_their_link_from_einladen(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    stranger = fake_api.add_user(first_name="Dora", language_code="de")
    [refusal] = await driver.send(stranger, "/einladen")
    assert refusal.text == "Deinen Einladungslink gibt es, sobald du in /start zugestimmt hast."
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [shown] = await driver.send(anna, "/einladen")
    [again] = await driver.send(anna, "/einladen")
    link = next(word for word in shown.text.split() if word.startswith("https://t.me/"))
    assert link in again.text  # the same link every time
    payload = link.rsplit("start=", 1)[1]
    assert str(anna.id) not in payload
    [[button]] = (shown.reply_markup or {})["inline_keyboard"]
    label, share = button["text"], button["url"]
    assert label == "Link teilen"
    assert share.startswith("https://t.me/share/url?url=https%3A%2F%2Ft.me%2F")
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    [greeting, _consent] = await driver.send(ben, f"/start {payload}")
    assert "Anna hat dich eingeladen – willkommen!" in greeting.text
    # /datenschutz lists the link among what is stored.
    [privacy] = await driver.send(anna, "/datenschutz")
    assert "Einladungslink" in privacy.text
    [mine] = await driver.press(anna, privacy, dict(privacy.buttons)["Meine Daten anzeigen"])
    assert "Einladungslink: angelegt am " in mine.text


async def test_the_office_hears_once_an_hour(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    olga = fake_api.add_user(first_name="Olga", language_code="de")
    otto = fake_api.add_user(first_name="Otto", language_code="en")
    await signed_up(app.session_pool, olga, role=Role.ORGANISER)
    await signed_up(app.session_pool, otto, role=Role.ORGANISER)
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    screen = await _screen(driver, anna)
    office = GroupCallback(action=GroupAction.OFFICE).pack()
    for _ in range(10):
        await driver.press(anna, screen, office)
    assert len(fake_api.sent_to(olga.id)) == 1
    assert len(fake_api.sent_to(otto.id)) == 1
    answers = [a for a in fake_api.callback_answers if a.get("text")]
    assert answers[-10]["text"] == "Danke! Jemand aus der Geschäftsstelle meldet sich bei dir."
    assert {a["text"] for a in answers[-9:]} == {
        "Wir haben der Geschäftsstelle schon vor Kurzem Bescheid gesagt – jemand meldet sich "
        "bei dir."
    }
    # Another member is not capped by Anna's presses.
    ben = fake_api.add_user(first_name="Ben", language_code="de")
    await signed_up(app.session_pool, ben)
    await driver.press(ben, await _screen(driver, ben), office)
    assert len(fake_api.sent_to(olga.id)) == 2


async def _group_id(app: Application) -> int:
    async with app.session_pool() as session:
        group_id = await session.scalar(select(Group.id).where(Group.key == "stammtisch-mitte"))
        assert group_id is not None
        return group_id


async def test_joining_again_tells_the_hosts_once_an_hour(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, host: FakeUser, kv: None
) -> None:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    group_id = await _group_id(app)
    screen = await _screen(driver, anna)
    join = GroupCallback(action=GroupAction.JOIN, group_id=group_id).pack()
    leave = GroupCallback(action=GroupAction.LEAVE_OK, group_id=group_id).pack()
    for _ in range(5):
        [joined, *_card] = await driver.press(anna, screen, join)
        assert joined.text.startswith("Du bist jetzt bei Stammtisch Mitte.")
        # True each time: the hosts heard of the first join.
        assert "Die Gastgeber:innen wissen Bescheid, dass du kommst." in joined.text
        await driver.press(anna, screen, leave)
    assert len(fake_api.sent_to(host.id)) == 1


class TestFlood:
    """One member sending far more than a human could: slowed, told once; others aren't."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        # Small bounds, so the flood is over in about a second.
        return settings.model_copy(
            update={"flood_burst": 5, "flood_rate": 10.0, "flood_max_delay": 1.0}
        )

    async def test_a_flood_waits_and_is_told_once(
        self,
        driver: BotDriver,
        fake_api: FakeBotAPI,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        fritz = fake_api.add_user(first_name="Fritz", language_code="de")
        olivia = fake_api.add_user(first_name="Olivia", language_code="en")
        screen = await _screen(driver, fritz)
        updates = []
        for number in range(100):
            if number % 2:
                updates.append(await fritz.press(screen, "zz1:stale"))
            else:
                updates.append(await fritz.send_message("/hilfe"))
        before = len(fake_api.sent_to(fritz.id))
        with caplog.at_level(logging.INFO):
            flood = [asyncio.create_task(driver.feed(update)) for update in updates]
            # Olivia is answered while Fritz's updates still wait their turn.
            [reply] = await driver.send(olivia, "/hilfe")
            waiting = sum(not task.done() for task in flood)
            await asyncio.gather(*flood)
        assert reply.text
        assert waiting > 0
        sent = [m.text for m in fake_api.sent_to(fritz.id)[before:]]
        notice = (
            "Das ist viel auf einmal! Ich arbeite alles der Reihe nach ab – einen Moment bitte."
        )
        assert sent.count(notice) == 1
        # What passed was handled (help texts); past the bound the rest was dropped.
        helped = len(sent) - 1
        assert 2 <= helped < 50
        # Every press was answered, dropped or not.
        pressed = {
            update["callback_query"]["id"] for update in updates if "callback_query" in update
        }
        answered = {answer["callback_query_id"] for answer in fake_api.callback_answers}
        assert pressed <= answered
        _no_failure(fake_api, fritz, caplog)


async def _propose(driver: BotDriver, anna: FakeUser) -> list[SentMessage]:
    """Anna proposes a Stammtisch, answering only what must be answered."""
    [directory] = await driver.send(anna, "/gruppen")
    [menu] = await driver.press(
        anna, directory, dict(directory.buttons)["Alle Gruppen durchsuchen"]
    )
    [_question] = await driver.press(anna, menu, dict(menu.buttons)["Einen Stammtisch gründen"])
    [district] = await driver.send(anna, "Stammtisch Süd")
    [_place] = await driver.press(anna, district, dict(district.buttons)["Mitte"])
    [rhythm] = await driver.send(anna, "Café Rosa")
    return await driver.press(anna, rhythm, dict(rhythm.buttons)["Weiß ich noch nicht"])


async def test_a_second_proposal_within_the_hour_is_not_passed_on(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: None
) -> None:
    olga = fake_api.add_user(first_name="Olga", language_code="de")
    await signed_up(app.session_pool, olga, role=Role.ORGANISER)
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    await signed_up(app.session_pool, anna)
    [sent] = await _propose(driver, anna)
    assert sent.text.startswith("Danke! Ich habe deinen Vorschlag an die Organisator:innen")
    [again] = await _propose(driver, anna)
    assert again.text == (
        "Du hast vor Kurzem schon einen Stammtisch vorgeschlagen; die Organisator:innen melden "
        "sich dazu bei dir. Einen weiteren kannst du in einer Stunde vorschlagen."
    )
    assert len(fake_api.sent_to(olga.id)) == 1
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(GroupProposal)) == 1


async def test_an_update_of_an_unknown_kind_is_skipped_without_its_content_in_the_log(
    driver: BotDriver, caplog: pytest.LogCaptureFixture
) -> None:
    with warnings.catch_warnings(record=True) as warned, caplog.at_level(logging.INFO):
        warnings.simplefilter("always")
        hide_update_contents()  # as configure_logging does
        await driver.feed({"update_id": 503, "future_kind": {"x": "Geheimer Text"}})
    assert [r.levelname for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "type=unknown handler=- outcome=unhandled" in caplog.text
    assert "Geheimer Text" not in caplog.text
    assert not [w for w in warned if "Geheimer Text" in str(w.message)]
