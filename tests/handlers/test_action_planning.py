"""Dispatcher tests of /aktionen_planen: organisers (and hosts they allow) create actions in a
conversation, see the staffing of every upcoming date, change people needed, call dates off and
allow hosts; members, hosts nobody allowed and forged or stale presses are refused politely."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import Application
from bot.services import action_notices, field_actions, shifts
from bot.services.field_actions import PlannedShift
from bot.telegram.callbacks import PlanAct, PlanCallback
from models import (
    ActionDate,
    ActionKind,
    ActionPlanner,
    ActionStatus,
    AuditEntry,
    Campaign,
    Delivery,
    District,
    FieldAction,
    HelpCall,
    Role,
    Shift,
)
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

ZONE = ZoneInfo("Europe/Berlin")
PLAN = (
    PlannedShift(time(9, 30), time(10, 0), 2, "Aufbau"),
    PlannedShift(time(10, 0), time(12, 0), 3),
)


@dataclass
class World:
    orga: FakeUser  # organiser, English
    greta: FakeUser  # organiser, German
    hanna: FakeUser  # host, allowed to plan, English
    otto: FakeUser  # host, not allowed, English
    max: FakeUser  # member, English
    anna: FakeUser  # member, German
    ben: FakeUser  # member, German
    mitte: int
    campaign: int


@pytest.fixture
async def world(app: Application, fake_api: FakeBotAPI) -> World:
    users = {
        name: fake_api.add_user(first_name=name.capitalize(), language_code=language)
        for name, language in (
            ("orga", "en"),
            ("greta", "de"),
            ("hanna", "en"),
            ("otto", "en"),
            ("max", "en"),
            ("anna", "de"),
            ("ben", "de"),
        )
    }
    roles = {"orga": Role.ORGANISER, "greta": Role.ORGANISER, "hanna": Role.HOST, "otto": Role.HOST}
    for name, user in users.items():
        await signed_up(app.session_pool, user, role=roles.get(name))
    async with app.session_pool() as session:
        mitte = District(key="mitte", name="Mitte", position=1)
        session.add_all([mitte, District(key="nord", name="Nord", position=2)])
        campaign = Campaign(key="heiss", name="Heiße Getränke gegen soziale Kälte", position=1)
        session.add(campaign)
        session.add(ActionPlanner(member_id=users["hanna"].id, granted_at=utcnow()))
        await session.commit()
        ids = (mitte.id, campaign.id)
    return World(**users, mitte=ids[0], campaign=ids[1])


def press(act: PlanAct, **ids: int) -> str:
    return PlanCallback(act=act, **ids).pack()


def button(message: SentMessage, start: str) -> str:
    [data] = [data for text, data in message.buttons if text.startswith(start)]
    return data


def today() -> date:
    return utcnow().astimezone(ZONE).date()


async def plan_action(
    app: Application,
    *,
    title: str = "Infostand Markt",
    day: date | None = None,
    plan: tuple[PlannedShift, ...] = PLAN,
    contact: FakeUser | None = None,
) -> list[int]:
    """A one-day action (in ten days unless told); returns its shift ids."""
    now = utcnow()
    async with app.session_pool() as session:
        action = await field_actions.create(
            session,
            kind=ActionKind.INFOSTAND,
            title=title,
            place="Marktplatz",
            shifts=plan,
            on_day=day or today() + timedelta(days=10),
            now=now,
            zone=ZONE,
            contact_id=contact.id if contact else None,
        )
        await session.commit()
        [row] = await field_actions.upcoming_dates(
            session, now=now, until=now + timedelta(days=400), action_ids=[action.id]
        )
        return [shift.id for shift in row.shifts]


async def date_of(app: Application, shift_id: int) -> int:
    async with app.session_pool() as session:
        shift = await session.get(Shift, shift_id)
        assert shift is not None
        return shift.action_date_id


async def sign_up(
    app: Application, user: FakeUser, shift_id: int, *, via_call: bool = False
) -> None:
    async with app.session_pool() as session:
        await shifts.sign_up(session, shift_id, user.id, now=utcnow(), via_call=via_call)
        await session.commit()


async def open_menu(driver: BotDriver, user: FakeUser) -> SentMessage:
    [menu] = await driver.send(user, "/plan_actions")
    return menu


# --- creating an action ------------------------------------------------------------------------


async def test_organiser_creates_a_one_day_action(
    driver: BotDriver, app: Application, world: World
) -> None:
    user = world.orga
    menu = await open_menu(driver, user)
    assert [text for text, _data in menu.buttons] == [
        "➕ New action",
        "📋 Staffing",
        "👥 Allow hosts",
    ]
    [kinds] = await driver.press(user, menu, press(PlanAct.NEW))
    assert "What kind of action?" in (kinds.text or "")
    [ask_title] = await driver.press(user, kinds, button(kinds, "Infostand"))
    assert kinds.text == "Kind: Infostand"
    assert kinds.buttons == []
    assert "What is it called?" in (ask_title.text or "")
    [ask_place] = await driver.send(user, "Stand <b>Markt</b> & Co")
    assert "Where?" in (ask_place.text or "")
    [districts] = await driver.send(user, "Marktplatz <am Brunnen>")
    assert [text for text, _d in districts.buttons] == ["Mitte", "Nord", "No Stadtteil"]
    [campaigns] = await driver.press(user, districts, button(districts, "Mitte"))
    assert districts.text == "Stadtteil: Mitte"
    [ask_when] = await driver.press(user, campaigns, button(campaigns, "No campaign"))
    assert "When?" in (ask_when.text or "")
    day = today() + timedelta(days=12)
    [ask_shifts] = await driver.send(user, f"{day:%d.%m.%Y}")
    assert [text for text, _d in ask_shifts.buttons][-1] == "Door-to-door round 17–19"
    [_ask_material] = await driver.send(user, "9:30-10 Aufbau 2, 10-12 3, 12-14:30 <Team> 4")
    [summary] = await driver.send(user, "Flyer & Tisch <mitbringen>")
    text = summary.text or ""
    assert "Infostand: Stand <b>Markt</b> & Co" in text
    assert "Where: Marktplatz <am Brunnen>" in text
    assert "Stadtteil: Mitte" in text
    assert "Campaign: none" in text
    assert "09:30–10:00 Aufbau: 2 people" in text
    assert "12:00–14:30 <Team>: 4 people" in text
    assert "Material: Flyer & Tisch <mitbringen>" in text
    [saved] = await driver.press(user, summary, button(summary, "💾 Save"))
    assert "Saved: Stand <b>Markt</b> & Co." in (saved.text or "")
    assert "Its first date:" in (saved.text or "")
    assert "10:00–12:00: 0/3 ⚠️" in (saved.text or "")
    async with app.session_pool() as session:
        [action] = list((await session.scalars(select(FieldAction))).unique())
        assert action.title == "Stand <b>Markt</b> & Co"
        assert action.contact_id == user.id
        assert action.on_day == day
        assert action.rule is None
        assert action.district_id == world.mitte
        assert action.campaign_id is None
        assert action.material == "Flyer & Tisch <mitbringen>"
        assert [entry["needed"] for entry in action.shift_plan] == [2, 3, 4]
        assert len(list((await session.scalars(select(ActionDate))).unique())) == 1
    # The conversation is over: its buttons are stale now.
    await driver.press(user, summary, press(PlanAct.SAVE))
    assert driver.last_answer()["text"] == "This step is over. /plan_actions starts again."


async def test_repeating_action_with_period_campaign_and_preset(
    driver: BotDriver, app: Application, world: World
) -> None:
    user = world.greta  # German
    [menu] = await driver.send(user, "/aktionen_planen")
    [kinds] = await driver.press(user, menu, press(PlanAct.NEW))
    await driver.press(user, kinds, press(PlanAct.KIND, value=1))  # door-to-door
    await driver.send(user, "Haustür-Runde Nord")
    [districts] = await driver.send(user, "Nordviertel")
    [campaigns] = await driver.press(user, districts, press(PlanAct.DISTRICT, value=0))
    [_ask_when] = await driver.press(user, campaigns, press(PlanAct.CAMPAIGN, value=world.campaign))
    start, end = today() + timedelta(days=1), today() + timedelta(days=40)
    [ask_shifts] = await driver.send(user, f"jeden Samstag {start:%d.%m.%Y}-{end:%d.%m.%Y}")
    [ask_material] = await driver.press(user, ask_shifts, press(PlanAct.PRESET, value=2))
    [summary] = await driver.press(user, ask_material, press(PlanAct.SKIP))
    assert ask_material.buttons == []
    text = summary.text or ""
    assert "Heiße Getränke gegen soziale Kälte" in text
    assert "jeden Samstag" in text
    [saved] = await driver.press(user, summary, press(PlanAct.SAVE))
    async with app.session_pool() as session:
        [action] = list((await session.scalars(select(FieldAction))).unique())
        assert action.kind == ActionKind.DOOR_TO_DOOR
        assert action.rule == "jeden Samstag"
        assert action.on_day is None
        assert (action.starts_on, action.ends_on) == (start, end)
        assert action.campaign_id == world.campaign
        assert action.district_id is None
        assert action.material is None
        assert action.shift_plan == [{"label": None, "start": "17:00", "end": "19:00", "needed": 4}]
        days = [row.day for row in (await session.scalars(select(ActionDate))).unique()]
    saturdays = [
        start + timedelta(days=n) for n in range(40) if (start + timedelta(days=n)).weekday() == 5
    ]
    assert sorted(days) == saturdays
    assert "Gespeichert" in (saved.text or "")
    assert (saved.text or "").count("17:00–19:00: 0/4 ⚠️") == 3


async def test_bad_answers_are_explained_and_keep_the_step(
    driver: BotDriver, app: Application, world: World
) -> None:
    user = world.orga
    menu = await open_menu(driver, user)
    [kinds] = await driver.press(user, menu, press(PlanAct.NEW))
    # Text where a button is wanted.
    [hint] = await driver.send(user, "Infostand")
    assert "buttons" in (hint.text or "")
    # A forged kind.
    assert await driver.press(user, kinds, press(PlanAct.KIND, value=7)) == []
    assert "no longer there" in driver.last_answer()["text"]
    await driver.press(user, kinds, press(PlanAct.KIND, value=0))
    [error] = await driver.send(user, "x" * 101)
    assert error.text == "Send a title of 1 to 100 characters."
    await driver.send(user, "Stand")
    [error] = await driver.send(user, "p" * 201)
    assert error.text == "Send a place of 1 to 200 characters."
    [districts] = await driver.send(user, "Markt")
    # A forged Stadtteil.
    await driver.press(user, districts, press(PlanAct.DISTRICT, value=999))
    assert "no longer there" in driver.last_answer()["text"]
    [campaigns] = await driver.press(user, districts, press(PlanAct.DISTRICT, value=world.mitte))
    await driver.press(user, campaigns, press(PlanAct.CAMPAIGN, value=0))
    # Days: unreadable (escaped when echoed), past, and a rule that can't be read.
    [error] = await driver.send(user, "<b>bald</b>")
    assert "<b>bald</b>" in (error.text or "")
    assert "try again" in (error.text or "")
    [error] = await driver.send(user, "1.1.2020")
    assert "in the past" in (error.text or "")
    [error] = await driver.send(user, "jeden Blautag")
    assert "try again" in (error.text or "")
    [ask_shifts] = await driver.send(user, "today")
    assert "Which shifts?" in (ask_shifts.text or "")
    cases = {
        "<i>10-12</i>": "I can't read “<i>10-12</i>”.",
        "10-12": "I can't read “10-12”.",
        "25-26 3": "“25-26 3” has a time I can't read.",
        "12-10 3": "The shift “12-10 3” ends before it starts.",
        "10-12 3, 11-13 2": "The shift “11-13 2” overlaps the one before it.",
        "10-12 51": "A shift needs 1 to 50 people (“10-12 51”).",
        "10-12 0": "A shift needs 1 to 50 people (“10-12 0”).",
        "10-12 " + "L" * 51 + " 2": "is too long (at most 50 characters)",
        ", ".join(f"{h}-{h + 1} 1" for h in range(9)): "Send 1 to 8 shifts.",
        # Today's day was typed: a shift that began already can't be planned.
        "0:00-0:01 1": "has already begun",
    }
    for typed, expected in cases.items():
        [error] = await driver.send(user, typed)
        assert expected in (error.text or ""), (typed, error.text)
    # Still at the shift step: a good plan is taken.
    [ask_material] = await driver.send(user, "23:58-23:59 2")
    assert "material" in (ask_material.text or "")
    [error] = await driver.send(user, "m" * 1001)
    assert error.text == "Material notes can be at most 1000 characters long."
    async with app.session_pool() as session:
        assert list(await session.scalars(select(FieldAction.id))) == []


# --- staffing and one date ---------------------------------------------------------------------


async def test_staffing_overview_shows_filled_and_missing(
    driver: BotDriver, app: Application, world: World
) -> None:
    full = await plan_action(app, title="Stand <Nord>", plan=(PlannedShift(time(10), time(12), 1),))
    half = await plan_action(app, title="Stand Süd", day=today() + timedelta(days=11))
    await sign_up(app, world.anna, full[0])
    await sign_up(app, world.ben, half[1])
    menu = await open_menu(driver, world.orga)
    await driver.press(world.orga, menu, press(PlanAct.STAFFING))
    text = menu.text or ""
    assert "Staffing of 2 dates in the next 8 weeks" in text
    assert "⚠️ 1 date still lacks people" in text
    assert "Stand <Nord>" in text
    assert "10:00–12:00: 1/1 ✅" in text
    assert "09:30–10:00 Aufbau: 0/2 ⚠️" in text
    assert "10:00–12:00: 1/3 ⚠️" in text
    assert text.index("Stand <Nord>") < text.index("Stand Süd")
    labels = [label for label, _data in menu.buttons]
    assert any("Stand Süd" in label and label.startswith("⚠️") for label in labels)


async def test_staffing_overview_pages_stay_under_telegram_limit(
    driver: BotDriver, app: Application, world: World
) -> None:
    plan = tuple(PlannedShift(time(8 + h), time(9 + h), 2, "L" * 40) for h in range(8))
    for number in range(30):
        await plan_action(
            app, title=f"{number:02d} " + "T" * 95, plan=plan, day=today() + timedelta(days=2)
        )
    menu = await open_menu(driver, world.orga)
    await driver.press(world.orga, menu, press(PlanAct.STAFFING))
    seen: set[str] = set()
    pages = 0
    while True:
        pages += 1
        assert len(menu.text or "") <= 4096
        assert len(menu.html or "") <= 4096
        seen |= {line[:2] for line in (menu.text or "").splitlines() if line[:2].isdigit()}
        later = [data for label, data in menu.buttons if label.startswith("Later")]
        if not later:
            break
        await driver.press(world.orga, menu, later[0])
    assert pages > 1
    assert len(seen) == 30


async def test_date_screen_shows_people_and_calls_for_help(
    driver: BotDriver, app: Application, world: World
) -> None:
    shift_ids = await plan_action(app, contact=world.greta)
    await sign_up(app, world.anna, shift_ids[1])
    await sign_up(app, world.ben, shift_ids[1], via_call=True)
    await sign_up(app, world.max, shift_ids[0])
    async with app.session_pool() as session:
        for user in (world.ben, world.max, world.otto):
            session.add(HelpCall(shift_id=shift_ids[1], member_id=user.id, called_at=utcnow()))
        session.add(HelpCall(shift_id=shift_ids[0], member_id=world.otto.id, called_at=utcnow()))
        await session.commit()
    date_id = await date_of(app, shift_ids[0])
    [menu] = await driver.send(world.greta, "/aktionen_planen")
    await driver.press(world.greta, menu, press(PlanAct.DATE, date_id=date_id))
    text = menu.text or ""
    assert "09:30–10:00 Aufbau · 1/2 ⚠️" in text
    assert "10:00–12:00 · 2/3 ⚠️" in text
    assert "Anna und Ben" in text
    assert "📣 3 durch Hilferufe gefragt, davon angemeldet: Ben" in text
    assert "📣 1 durch einen Hilferuf gefragt, bisher niemand darüber angemeldet" in text
    assert "Max" in text


async def test_needed_changes_by_buttons_and_typed(
    driver: BotDriver, app: Application, world: World
) -> None:
    shift_ids = await plan_action(app)
    date_id = await date_of(app, shift_ids[0])
    menu = await open_menu(driver, world.orga)
    await driver.press(world.orga, menu, press(PlanAct.DATE, date_id=date_id))
    await driver.press(world.orga, menu, press(PlanAct.NEEDED, shift_id=shift_ids[0], value=3))
    assert driver.last_answer()["text"] == "09:30–10:00 Aufbau now needs 3 people."
    assert "09:30–10:00 Aufbau · 0/3" in (menu.text or "")
    await driver.press(world.orga, menu, press(PlanAct.NEEDED, shift_id=shift_ids[0], value=1))
    assert driver.last_answer()["text"] == "09:30–10:00 Aufbau now needs 1 person."
    await driver.press(world.orga, menu, press(PlanAct.NEEDED, shift_id=shift_ids[0], value=51))
    assert driver.last_answer()["text"] == "Send a number from 1 to 50."
    [ask] = await driver.press(world.orga, menu, press(PlanAct.SHIFT, shift_id=shift_ids[1]))
    assert "How many people does the shift 10:00–12:00 need?" in (ask.text or "")
    for bad in ("zwei", "0", "51"):
        [error] = await driver.send(world.orga, bad)
        assert error.text == "Send a number from 1 to 50."
    [done, screen] = await driver.send(world.orga, "7")
    assert done.text == "10:00–12:00 now needs 7 people."
    assert "10:00–12:00 · 0/7" in (screen.text or "")
    async with app.session_pool() as session:
        needed = [
            (await session.get(Shift, shift_id)).needed  # type: ignore[union-attr]
            for shift_id in shift_ids
        ]
    assert needed == [1, 7]


async def test_calling_a_date_off_tells_its_people(
    driver: BotDriver, app: Application, world: World
) -> None:
    shift_ids = await plan_action(app)
    await sign_up(app, world.anna, shift_ids[0])
    await sign_up(app, world.ben, shift_ids[1])
    date_id = await date_of(app, shift_ids[0])
    menu = await open_menu(driver, world.orga)
    await driver.press(world.orga, menu, press(PlanAct.DATE, date_id=date_id))
    await driver.press(world.orga, menu, button(menu, "❌ Call off"))
    assert "2 people on its shifts will be told." in (menu.text or "")
    await driver.press(world.orga, menu, button(menu, "No, keep it"))
    assert "❌ Call off this date" in [label for label, _d in menu.buttons]
    assert "Called off" not in (menu.text or "")
    await driver.press(world.orga, menu, press(PlanAct.CANCEL_DATE, date_id=date_id))
    await driver.press(world.orga, menu, button(menu, "Yes, call it off"))
    assert driver.last_answer()["text"] == "Called off. 2 people will be told."
    assert "Called off." in (menu.text or "")
    assert not any(label.startswith(("➕", "❌")) for label, _d in menu.buttons)
    async with app.session_pool() as session:
        row = await session.get(ActionDate, date_id)
        assert row is not None
        assert row.status == ActionStatus.CANCELLED
        queued = list(
            await session.scalars(
                select(Delivery).where(Delivery.kind == action_notices.ACTION_CANCELLED)
            )
        )
    assert sorted(item.recipient_id for item in queued) == sorted([world.anna.id, world.ben.id])
    assert all(item.payload == {"date_id": date_id} for item in queued)
    # A second confirmation changes nothing.
    await driver.press(world.orga, menu, press(PlanAct.CANCEL_DATE_OK, date_id=date_id))
    assert driver.last_answer()["text"] == "This date was called off."


# --- who may plan ------------------------------------------------------------------------------


async def test_organiser_allows_a_host(driver: BotDriver, app: Application, world: World) -> None:
    [refused] = await driver.send(world.otto, "/plan_actions")
    assert "An organiser can allow you" in (refused.text or "")
    menu = await open_menu(driver, world.orga)
    await driver.press(world.orga, menu, press(PlanAct.PLANNERS))
    assert "1 of 2 hosts may plan actions." in (menu.text or "")
    assert [label for label, _d in menu.buttons][:2] == ["✅ Hanna", "⬜ Otto"]
    await driver.press(world.orga, menu, button(menu, "⬜ Otto"))
    assert driver.last_answer()["text"] == "Otto may plan actions now."
    assert "✅ Otto" in [label for label, _d in menu.buttons]
    async with app.session_pool() as session:
        row = await session.get(ActionPlanner, world.otto.id)
        assert row is not None
        assert row.granted_by == world.orga.id
    otto_menu = await open_menu(driver, world.otto)
    assert [label for label, _d in otto_menu.buttons] == ["➕ New action", "📋 Staffing"]
    await driver.press(world.orga, menu, button(menu, "✅ Otto"))
    assert driver.last_answer()["text"] == "Otto may no longer plan actions."
    async with app.session_pool() as session:
        assert await session.get(ActionPlanner, world.otto.id) is None
    # Otto's menu from before is refused now.
    await driver.press(world.otto, otto_menu, press(PlanAct.NEW))
    assert "An organiser can allow you" in driver.last_answer()["text"]
    # Only hosts can be allowed.
    await driver.press(world.orga, menu, press(PlanAct.PLANNER, member_id=world.max.id, value=1))
    assert driver.last_answer()["text"] == "That person is no host (any more)."
    async with app.session_pool() as session:
        assert await session.get(ActionPlanner, world.max.id) is None


async def test_refusals_for_members_hosts_and_forged_presses(
    driver: BotDriver, app: Application, world: World, fake_api: FakeBotAPI
) -> None:
    shift_ids = await plan_action(app, contact=world.orga)
    date_id = await date_of(app, shift_ids[0])
    await sign_up(app, world.anna, shift_ids[0])
    # A member: the command and every planner's press are refused without data.
    [refused] = await driver.send(world.max, "/plan_actions")
    assert refused.text == "Sorry, only organisers (and hosts they allow) can plan actions."
    [listing] = await driver.send(world.max, "/help")
    for act, ids in (
        (PlanAct.MENU, {}),
        (PlanAct.STAFFING, {}),
        (PlanAct.DATE, {"date_id": date_id}),
        (PlanAct.CANCEL_DATE_OK, {"date_id": date_id}),
        (PlanAct.NEEDED, {"shift_id": shift_ids[0], "value": 9}),
        (PlanAct.PLANNER, {"member_id": world.max.id, "value": 1}),
    ):
        assert await driver.press(world.max, listing, press(act, **ids)) == []
        answer = driver.last_answer()
        assert answer["text"] == "Sorry, only organisers (and hosts they allow) can plan actions."
        assert answer.get("show_alert") is True
    # A host nobody allowed.
    for act, ids in ((PlanAct.MENU, {}), (PlanAct.DATE, {"date_id": date_id})):
        await driver.press(world.otto, listing, press(act, **ids))
        assert "An organiser can allow you" in driver.last_answer()["text"]
    # An allowed host: not someone else's action, and not the list of planners.
    await driver.press(world.hanna, listing, press(PlanAct.DATE, date_id=date_id))
    assert driver.last_answer()["text"] == (
        "Only organisers and whoever planned this action can change it."
    )
    await driver.press(world.hanna, listing, press(PlanAct.PLANNERS))
    assert driver.last_answer()["text"] == "Only organisers can allow hosts to plan actions."
    # The host's own staffing list offers no button for the organiser's date.
    hanna_menu = await open_menu(driver, world.hanna)
    await driver.press(world.hanna, hanna_menu, press(PlanAct.STAFFING))
    assert "Infostand Markt" in (hanna_menu.text or "")
    assert not any(data.startswith("fp1:date:") for _l, data in hanna_menu.buttons)
    assert "Anna" not in (hanna_menu.text or "")
    # Forged ids.
    for forged in (0, 999_999):
        await driver.press(world.orga, listing, press(PlanAct.DATE, date_id=forged))
        assert "no longer there" in driver.last_answer()["text"]
        await driver.press(world.orga, listing, press(PlanAct.NEEDED, shift_id=forged, value=2))
        assert "no longer there" in driver.last_answer()["text"]
    # Past any row's id, or negative: answered like a stale button.
    for forged in (-5, 2**62):
        for data in (f"fp1:date:{forged}:0:0:0:0", f"fp1:need:0:{forged}:0:2:0"):
            await driver.press(world.orga, listing, data)
            assert driver.last_answer()["text"] == "This button is no longer valid.", data
    async with app.session_pool() as session:
        row = await session.get(ActionDate, date_id)
        assert row is not None
        assert row.status == ActionStatus.SCHEDULED
        assert list(await session.scalars(select(Delivery.id))) == []
    # Nothing broke the Bot API spec and no traceback reached anyone.
    assert fake_api.violations == []


async def test_stale_buttons_of_an_earlier_step_do_nothing(
    driver: BotDriver, app: Application, world: World
) -> None:
    user = world.orga
    menu = await open_menu(driver, user)
    [kinds] = await driver.press(user, menu, press(PlanAct.NEW))
    await driver.press(user, kinds, press(PlanAct.KIND, value=0))
    # The kind was chosen: pressing a kind again is over.
    await driver.press(user, kinds, press(PlanAct.KIND, value=1))
    assert driver.last_answer()["text"] == "This step is over. /plan_actions starts again."
    # A SAVE pressed before the summary does nothing either.
    await driver.press(user, kinds, press(PlanAct.SAVE))
    assert driver.last_answer()["text"] == "This step is over. /plan_actions starts again."
    async with app.session_pool() as session:
        assert list(await session.scalars(select(FieldAction.id))) == []


async def test_allowed_host_manages_own_action_only(
    driver: BotDriver, app: Application, world: World
) -> None:
    own = await plan_action(app, title="Hannas Stand", contact=world.hanna)
    other = await plan_action(app, title="Orga Stand", contact=world.orga)
    menu = await open_menu(driver, world.hanna)
    assert [label for label, _d in menu.buttons] == ["➕ New action", "📋 Staffing"]
    await driver.press(world.hanna, menu, press(PlanAct.STAFFING))
    assert "Hannas Stand" in (menu.text or "")
    assert "Orga Stand" in (menu.text or "")
    dates = [data for _label, data in menu.buttons if data.startswith("fp1:date:")]
    assert dates == [press(PlanAct.DATE, date_id=await date_of(app, own[0]))]
    await driver.press(world.hanna, menu, dates[0])
    await driver.press(world.hanna, menu, press(PlanAct.NEEDED, shift_id=own[1], value=5))
    assert driver.last_answer()["text"] == "10:00–12:00 now needs 5 people."
    await driver.press(world.hanna, menu, press(PlanAct.NEEDED, shift_id=other[1], value=5))
    assert driver.last_answer()["text"] == (
        "Only organisers and whoever planned this action can change it."
    )
    other_date = await date_of(app, other[0])
    await driver.press(world.hanna, menu, press(PlanAct.CANCEL_DATE_OK, date_id=other_date))
    assert driver.last_answer()["text"] == (
        "Only organisers and whoever planned this action can change it."
    )
    async with app.session_pool() as session:
        shift = await session.get(Shift, other[1])
        assert shift is not None
        assert shift.needed == 3
        row = await session.get(ActionDate, other_date)
        assert row is not None
        assert row.status == ActionStatus.SCHEDULED


async def test_malformed_planner_data_gets_the_stale_button_answer(
    driver: BotDriver, world: World
) -> None:
    menu = await open_menu(driver, world.orga)
    for data in ("fp1:bogus:0:0:0:0:0", "fp1:date:x:0:0:0:0", "fp1:menu"):
        assert await driver.press(world.orga, menu, data) == []
        assert driver.last_answer()["text"] == "This button is no longer valid."


async def test_a_dates_people_and_calling_it_off_are_in_the_audit_log(
    driver: BotDriver, app: Application, world: World
) -> None:
    shift_ids = await plan_action(app)
    await sign_up(app, world.anna, shift_ids[0])
    await sign_up(app, world.ben, shift_ids[1])
    date_id = await date_of(app, shift_ids[0])
    menu = await open_menu(driver, world.orga)
    # The staffing overview shows counts only: no entry.
    await driver.press(world.orga, menu, press(PlanAct.STAFFING))
    await driver.press(world.orga, menu, press(PlanAct.DATE, date_id=date_id))
    await driver.press(world.orga, menu, press(PlanAct.CANCEL_DATE, date_id=date_id))
    await driver.press(world.orga, menu, button(menu, "Yes, call it off"))
    # A member's forged press lists nobody and records nothing.
    await driver.press(world.max, menu, press(PlanAct.DATE, date_id=date_id))
    async with app.session_pool() as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.actor_id, e.action, e.count, e.subject) for e in entries] == [
        (world.orga.id, "staffing_list", 2, f"date #{date_id}"),
        (world.orga.id, "action_cancelled", 2, f"date #{date_id}"),
    ]
