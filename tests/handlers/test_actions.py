"""Dispatcher tests of /aktionen: the list by Stadtteil and its neighbours, a date's card, signing
up (full, overlapping, twice), giving up, offering, taking and withdrawing a swap, every
refusal incl. forged button data, the notices to planners and members (and their withdrawal
when no longer true), a<id> links, and the shifts in /datenschutz and their erasure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.app import Application
from bot.services import action_notices, field_actions, shifts
from bot.services.field_actions import PlannedShift
from bot.services.profile import withdraw_consent
from models import (
    ActionDate,
    ActionKind,
    ActionStatus,
    Campaign,
    Delivery,
    District,
    HelpCall,
    Member,
    Profile,
    Role,
    Shift,
    ShiftSignup,
    ShiftSwap,
)
from models.base import utcnow
from models.kv import district_neighbours
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

ZONE = ZoneInfo("Europe/Berlin")
FORGED = (
    "fa1:in:0:0:0:0:0",
    "fa1:outok:0:123456:0:0:0",
    "fa1:take:0:0:2147483647:0:0",
)
# Ids no row can have (negative, past 2^31): the fallback's "no longer valid", like any
# button no handler accepts.
OUT_OF_RANGE = (
    "fa1:in:0:99999999999999999999999:0:0:0",
    "fa1:in:0:-5:0:0:0",
    "fa1:out:0:-1:0:0:0",
    "fa1:swap:0:99999999999999999999:0:0:0",
    "fa1:swapno:0:0:-7:0:0",
    "fa1:take:0:0:99999999999999999999:0:0",
    "fa1:date:-3:0:0:0:0",
    "fa1:date:99999999999999999999999:0:0:0:0",
)


@dataclass
class Kv:
    """Ids of what the fixture planned."""

    mitte: int  # date of "Stand Mitte" (own Stadtteil of members in Mitte)
    nord: int  # "Runde Nord" (a neighbour of Mitte)
    sued: int  # "Stand Süd"
    ohne: int  # "Stand Bahnhof" (no Stadtteil)
    day: date  # the day of "Stand Mitte"


def _today() -> date:
    return utcnow().astimezone(ZONE).date()


async def _plan(
    app: Application,
    title: str,
    day: date,
    plan: tuple[PlannedShift, ...],
    *,
    district: int | None = None,
    kind: ActionKind = ActionKind.INFOSTAND,
    campaign: int | None = None,
    material: str | None = None,
    contact: int | None = None,
) -> int:
    async with app.session_pool() as session:
        action = await field_actions.create(
            session,
            kind=kind,
            title=title,
            place=f"Platz {title}",
            shifts=plan,
            on_day=day,
            now=utcnow(),
            zone=ZONE,
            district_id=district,
            campaign_id=campaign,
            material=material,
            contact_id=contact,
        )
        await session.commit()
        date_id = await session.scalar(
            select(ActionDate.id).where(ActionDate.action_id == action.id)
        )
        assert date_id is not None
        return date_id


ONE = (PlannedShift(time(10), time(12), 1),)


@pytest.fixture
async def kv(app: Application) -> Kv:
    async with app.session_pool() as session:
        districts = [
            District(key=key, name=name, position=n)
            for n, (key, name) in enumerate((("mitte", "Mitte"), ("nord", "Nord"), ("sued", "Süd")))
        ]
        session.add_all(districts)
        campaign = Campaign(key="kaelte", name="Heiße Getränke gegen soziale Kälte")
        session.add(campaign)
        await session.flush()
        mitte, nord, sued = (d.id for d in districts)
        await session.execute(
            district_neighbours.insert(),
            [
                {"district_id": mitte, "neighbour_id": nord},
                {"district_id": nord, "neighbour_id": mitte},
            ],
        )
        await session.commit()
        campaign_id = campaign.id
    today = _today()
    stand_plan = (
        PlannedShift(time(9, 30), time(10), 1, "Aufbau"),
        PlannedShift(time(10), time(12), 2),
    )
    return Kv(
        ohne=await _plan(app, "Stand Bahnhof", today + timedelta(days=1), ONE),
        sued=await _plan(app, "Stand Süd", today + timedelta(days=2), ONE, district=sued),
        nord=await _plan(
            app,
            "Runde Nord",
            today + timedelta(days=4),
            ONE,
            district=nord,
            kind=ActionKind.DOOR_TO_DOOR,
        ),
        mitte=await _plan(
            app,
            "Stand Mitte",
            today + timedelta(days=6),
            stand_plan,
            district=mitte,
            campaign=campaign_id,
            material="Flyer & Tee",
        ),
        day=today + timedelta(days=6),
    )


async def _member(
    app: Application,
    fake_api: FakeBotAPI,
    name: str,
    language: str = "de",
    *,
    district: str | None = "Mitte",
    role: Role | None = None,
) -> FakeUser:
    user = fake_api.add_user(first_name=name, language_code=language)
    await signed_up(app.session_pool, user, district=district, role=role)
    return user


def _button(message: SentMessage, label: str) -> str:
    found = [data for text, data in message.buttons if text == label]
    assert found, (label, message.buttons)
    return found[0]


def _labels(message: SentMessage) -> list[str]:
    return [text for text, _data in message.buttons]


async def _card(driver: BotDriver, user: FakeUser, title: str = "Stand Mitte") -> SentMessage:
    [listing] = await driver.send(user, "/aktionen")
    [data] = [data for text, data in listing.buttons if text.endswith(title)]
    assert await driver.press(user, listing, data) == []  # the list turns into the card
    return listing


async def _shift_ids(app: Application, date_id: int) -> list[int]:
    async with app.session_pool() as session:
        return list(
            await session.scalars(
                select(Shift.id).where(Shift.action_date_id == date_id).order_by(Shift.starts_at)
            )
        )


async def _holders(app: Application, shift_id: int) -> set[int]:
    async with app.session_pool() as session:
        return set(
            await session.scalars(
                select(ShiftSignup.member_id).where(ShiftSignup.shift_id == shift_id)
            )
        )


async def _drain(app: Application) -> None:
    while await app.worker.run_once():
        pass


# --- the list and the card ----------------------------------------------------------------------


async def test_list_puts_own_stadtteil_first_then_neighbours_then_the_rest(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    anna = await _member(app, fake_api, "Anna")
    [listing] = await driver.send(anna, "/aktionen")
    text = listing.text
    assert text.startswith("Infostände und Haustür-Runden")
    order = [text.index(title) for title in ("Stand Mitte", "Runde Nord", "Stand Bahnhof")]
    assert order == sorted(order)
    # The rest by time: the Bahnhof (tomorrow) before Süd (in two days).
    assert text.index("Stand Bahnhof") < text.index("Stand Süd")
    assert text.index("In Mitte") < text.index("In der Nähe") < text.index("Anderswo")
    assert "Infostand: Stand Mitte · Heiße Getränke gegen soziale Kälte" in text
    assert "Haustür-Runde: Runde Nord" in text
    assert "📍 Platz Stand Mitte (Mitte)" in text
    assert "noch 3 Plätze frei" in text
    assert "noch 1 Platz frei" in text
    labels = _labels(listing)
    assert [label.split(" · ")[-1] for label in labels[:4]] == [
        "Stand Mitte",
        "Runde Nord",
        "Stand Bahnhof",
        "Stand Süd",
    ]
    assert labels[-1] == "📋 Meine Schichten"

    # Someone in Süd sees Süd first; Mitte and Nord are no neighbours of Süd.
    cem = await _member(app, fake_api, "Cem", district="Süd")
    [listing] = await driver.send(cem, "/actions")
    assert listing.text.index("Stand Süd") < listing.text.index("Stand Bahnhof")
    assert "In der Nähe" not in listing.text


async def test_list_pages_when_there_are_many(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    for n in range(4):
        await _plan(app, f"Extra {n}", _today() + timedelta(days=10 + n), ONE)
    ben = await _member(app, fake_api, "Ben", "en")
    [listing] = await driver.send(ben, "/actions")
    assert "(page 1 of 2)" in listing.text
    assert "More ▶" in _labels(listing)
    await driver.press(ben, listing, _button(listing, "More ▶"))
    assert "(page 2 of 2)" in listing.text
    assert "Extra 3" in listing.text
    assert "◀ Back" in _labels(listing)
    # A forged page number shows the last page, no error.
    await driver.press(ben, listing, "fa1:list:0:0:0:99999999999999999999:0")
    assert "(page 2 of 2)" in listing.text


async def test_card_shows_shifts_and_marks_own_and_full(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    anna = await _member(app, fake_api, "Anna")
    card = await _card(driver, anna)
    text = card.text
    assert text.startswith("Stand Mitte\nInfostand · Kampagne: Heiße Getränke gegen soziale Kälte")
    assert "📍 Platz Stand Mitte" in text
    assert "Stadtteil: Mitte" in text
    assert "📦 Material: Flyer & Tee" in text
    assert "• Aufbau 09:30–10:00 · 0/1" in text
    assert "• 10:00–12:00 · 0/2" in text
    assert _labels(card) == [
        "Eintragen 09:30–10:00",
        "Eintragen 10:00–12:00",
        "◀ Alle Aktionen",
        "📋 Meine Schichten",
    ]
    await driver.press(anna, card, _button(card, "Eintragen 09:30–10:00"))
    assert driver.last_answer()["text"].startswith("Danke! Du bist eingetragen: ")
    assert "✅ Aufbau 09:30–10:00 · 1/1 · voll" in card.text
    assert "✅ = deine Schicht" in card.text
    assert _labels(card)[:3] == [
        "Austragen 09:30–10:00",
        "Tausch anbieten",
        "Eintragen 10:00–12:00",
    ]

    # Ben sees the first shift full: no button for it.
    ben = await _member(app, fake_api, "Ben", "en")
    card_ben = await _card(driver, ben)
    assert "• Setup 09:30–10:00" not in card_ben.text  # labels are the planner's, not translated
    assert "• Aufbau 09:30–10:00 · 1/1 · full" in card_ben.text
    assert _labels(card_ben)[0] == "Sign up 10:00–12:00"


async def test_planners_get_the_planning_button(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    olga = await _member(app, fake_api, "Olga", role=Role.ORGANISER)
    card = await _card(driver, olga)
    assert _button(card, "🛠 Aktionen planen") == "fp1:menu:0:0:0:0:0"
    anna = await _member(app, fake_api, "Anna")
    assert "🛠 Aktionen planen" not in _labels(await _card(driver, anna))


async def test_without_consent_looking_works_and_signing_up_points_to_start(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    stranger = fake_api.add_user(first_name="Fritz", language_code="de")
    [listing] = await driver.send(stranger, "/aktionen")
    assert "Sobald du in /start zugestimmt hast, kannst du dich eintragen." in listing.text
    assert "📋 Meine Schichten" not in _labels(listing)
    assert "In Mitte" not in listing.text  # no Stadtteil known: no headings
    [data] = [data for text, data in listing.buttons if text.endswith("Stand Mitte")]
    await driver.press(stranger, listing, data)
    assert "Um dich für eine Schicht einzutragen, stimme zuerst in /start zu." in listing.text
    shift_id = (await _shift_ids(app, kv.mitte))[0]
    await driver.press(stranger, listing, _button(listing, "Eintragen 09:30–10:00"))
    assert driver.last_answer() == {
        "callback_query_id": driver.last_answer()["callback_query_id"],
        "text": "Um dich für Schichten einzutragen, stimme zuerst in /start zu.",
        "show_alert": True,
    }
    await driver.press(stranger, listing, "fa1:mine:0:0:0:0:0")
    assert driver.last_answer()["show_alert"] is True
    assert await _holders(app, shift_id) == set()


# --- signing up and the refusals ------------------------------------------------------------------


async def test_full_shift_double_tap_and_overlap(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    # A second action the same day, 11:00-13:00: overlaps Stand Mitte's 10:00-12:00.
    other = await _plan(
        app, "Runde Mitte", kv.day, (PlannedShift(time(11), time(13), 3),), district=None
    )
    anna = await _member(app, fake_api, "Anna")
    ben = await _member(app, fake_api, "Ben", "en")
    setup, main = await _shift_ids(app, kv.mitte)
    card = await _card(driver, anna)
    ben_card = await _card(driver, ben)
    data = _button(card, "Eintragen 09:30–10:00")
    await driver.press(anna, card, data)
    # A double tap (the old button pressed again): no error, nothing changes.
    await driver.press(anna, card, data)
    assert driver.last_answer()["text"] == "Du bist für diese Schicht schon eingetragen."
    assert await _holders(app, setup) == {anna.id}

    # Ben presses the same shift on a card he opened before Anna's sign-up: full, and his card
    # shows it so now.
    await driver.press(ben, ben_card, _button(ben_card, "Sign up 09:30–10:00"))
    assert driver.last_answer()["text"] == "This shift is full already. Maybe another one fits?"
    assert driver.last_answer()["show_alert"] is True
    assert "• Aufbau 09:30–10:00 · 1/1 · full" in ben_card.text
    assert "Sign up 09:30–10:00" not in _labels(ben_card)
    assert await _holders(app, setup) == {anna.id}

    # Overlap: Anna on 10:00-12:00 can't take Runde Mitte's 11:00-13:00; the answer names it.
    await driver.press(anna, card, _button(card, "Eintragen 10:00–12:00"))
    [other_shift] = await _shift_ids(app, other)
    await driver.press(anna, card, f"fa1:in:0:{other_shift}:0:0:0")
    answer = driver.last_answer()
    assert answer["show_alert"] is True
    assert answer["text"].startswith(
        "Du bist zu dieser Zeit schon für eine Schicht eingetragen: 10:00–12:00 am "
    )
    assert answer["text"].endswith("(Stand Mitte).")
    assert await _holders(app, other_shift) == set()
    assert await _holders(app, main) == {anna.id}


async def test_sign_up_under_a_call_for_help_is_marked(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    anna = await _member(app, fake_api, "Anna")
    setup, _main = await _shift_ids(app, kv.mitte)
    card = await _card(driver, anna)
    await driver.press(anna, card, f"fa1:in:0:{setup}:0:0:1")
    async with app.session_pool() as session:
        row = await session.get(ShiftSignup, (setup, anna.id))
        assert row is not None
        assert row.via_call is True


async def test_forged_buttons_get_a_polite_answer(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    anna = await _member(app, fake_api, "Anna")
    card = await _card(driver, anna)
    before = card.text
    for data in FORGED:
        assert await driver.press(anna, card, data) == [], data
        answer = driver.last_answer()
        assert answer["text"] == (
            "Dieser Knopf gilt nicht mehr. /aktionen zeigt die aktuellen Termine."
        ), data
    for data in OUT_OF_RANGE:
        assert await driver.press(anna, card, data) == [], data
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr.", data
    # Data that isn't even ours to parse goes to the fallback's "no longer valid".
    for data in ("fa1:in:x:y", "fa1:nonsense:0:0:0:0:0", "fa1:in:0:1:2:3:4:5:6"):
        await driver.press(anna, card, data)
        assert "text" in driver.last_answer(), data
    assert card.text == before
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(ShiftSignup)) == 0


async def test_past_cancelled_and_inactive_shifts_are_refused(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    anna = await _member(app, fake_api, "Anna")
    card = await _card(driver, anna)
    setup, main = await _shift_ids(app, kv.mitte)
    [sued] = await _shift_ids(app, kv.sued)
    [ohne] = await _shift_ids(app, kv.ohne)
    async with app.session_pool() as session:
        # The setup shift "started" (moved into the past); Süd was called off; the Bahnhof's
        # action was dropped.
        await session.execute(
            update(Shift).where(Shift.id == setup).values(starts_at=utcnow() - timedelta(hours=1))
        )
        await session.execute(
            update(ActionDate).where(ActionDate.id == kv.sued).values(status=ActionStatus.CANCELLED)
        )
        row = await field_actions.get_date(session, kv.ohne)
        row.action.active = False
        await session.commit()
    await driver.press(anna, card, f"fa1:in:0:{setup}:0:0:0")
    assert driver.last_answer()["text"] == "Diese Schicht hat schon begonnen oder ist vorbei."
    assert "begonnen" in card.text  # the card shows it as it stands now
    assert "Eintragen 09:30–10:00" not in _labels(card)
    await driver.press(anna, card, f"fa1:in:0:{sued}:0:0:0")
    assert driver.last_answer()["text"] == "Dieser Termin wurde abgesagt."
    assert "❌ Dieser Termin wurde abgesagt." in card.text
    assert card.buttons == []
    await driver.press(anna, card, f"fa1:in:0:{ohne}:0:0:0")
    assert driver.last_answer()["text"].startswith("Dieser Knopf gilt nicht mehr.")
    assert (
        await _holders(app, setup) | await _holders(app, sued) | await _holders(app, ohne) == set()
    )
    del main


# --- giving up and swaps -----------------------------------------------------------------------


async def test_give_up_asks_first_and_tells_the_planner_when_it_empties_soon(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    olga = await _member(app, fake_api, "Olga", role=Role.ORGANISER)
    anna = await _member(app, fake_api, "Anna")
    # A stand tomorrow: within shift_emptied_hours (48) of its start.
    soon = await _plan(app, "Stand Morgen", _today() + timedelta(days=1), ONE, district=None)
    [shift_id] = await _shift_ids(app, soon)
    card = await _card(driver, anna, "Stand Morgen")
    await driver.press(anna, card, _button(card, "Eintragen 10:00–12:00"))
    await driver.press(anna, card, _button(card, "Austragen 10:00–12:00"))
    assert card.text.startswith("Willst du deine Schicht 10:00–12:00 am ")
    assert _labels(card) == ["Ja, austragen", "Nein, behalten"]
    await driver.press(anna, card, _button(card, "Nein, behalten"))
    assert "✅ 10:00–12:00 · 1/1 · voll" in card.text
    await driver.press(anna, card, _button(card, "Austragen 10:00–12:00"))
    confirm = _button(card, "Ja, austragen")
    await driver.press(anna, card, confirm)
    assert driver.last_answer()["text"] == "Du bist für diese Schicht nicht mehr eingetragen."
    assert "• 10:00–12:00 · 0/1" in card.text
    # A second tap on the old confirmation changes nothing.
    await driver.press(anna, card, confirm)
    assert driver.last_answer()["text"] == "Du warst für diese Schicht nicht (mehr) eingetragen."
    assert await _holders(app, shift_id) == set()

    await _drain(app)
    [notice] = [m for m in fake_api.sent_to(olga.id) if "Niemand" in (m.text or "")]
    assert notice.text.startswith("⚠️ Niemand ist mehr für diese Schicht eingetragen: 10:00–12:00")
    assert "Es wird 1 Person gebraucht." in notice.text
    assert _labels(notice) == ["Termin verwalten"]

    # A shift far ahead (Stand Mitte, six days) emptying tells nobody.
    card = await _card(driver, anna)
    await driver.press(anna, card, _button(card, "Eintragen 09:30–10:00"))
    await driver.press(anna, card, _button(card, "Austragen 09:30–10:00"))
    await driver.press(anna, card, _button(card, "Ja, austragen"))
    async with app.session_pool() as session:
        kinds = list(await session.scalars(select(Delivery.kind)))
    assert kinds.count(action_notices.SHIFT_EMPTIED) == 1


async def test_swap_offer_take_and_withdraw(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    olga = await _member(app, fake_api, "Olga", role=Role.ORGANISER)
    anna = await _member(app, fake_api, "Anna")
    ben = await _member(app, fake_api, "Ben", "en")
    cem = await _member(app, fake_api, "Cem")
    setup, main = await _shift_ids(app, kv.mitte)
    card = await _card(driver, anna)
    await driver.press(anna, card, _button(card, "Eintragen 09:30–10:00"))
    await driver.press(anna, card, _button(card, "Tausch anbieten"))
    assert driver.last_answer()["text"].startswith("Deine Schicht ist zum Tausch angeboten.")
    assert "✅ Aufbau 09:30–10:00 · 1/1 · voll · 🔄 du bietest sie zum Tausch an" in card.text
    assert _labels(card)[:2] == ["Austragen 09:30–10:00", "Angebot zurückziehen"]
    withdraw = _button(card, "Angebot zurückziehen")

    # Ben can't withdraw Anna's offer.
    await driver.press(ben, await _card(driver, ben), withdraw)
    assert driver.last_answer()["text"].startswith("This button is no longer valid.")
    # Anna can't take her own.
    swap_id = int(withdraw.split(":")[4])
    await driver.press(anna, card, f"fa1:take:0:0:{swap_id}:0:0")
    assert driver.last_answer()["text"] == "Das ist dein eigenes Angebot."

    ben_card = await _card(driver, ben)
    assert "• Aufbau 09:30–10:00 · 1/1 · full · 🔄 offered for a swap" in ben_card.text
    take = _button(ben_card, "Take over 09:30–10:00")
    await driver.press(ben, ben_card, take)
    assert driver.last_answer()["text"] == "Thank you! The shift is yours now."
    assert "✅ Aufbau 09:30–10:00 · 1/1 · full" in ben_card.text
    assert await _holders(app, setup) == {ben.id}
    # Ben taps again: no error.
    await driver.press(ben, ben_card, take)
    assert driver.last_answer()["text"] == "Thank you! The shift is yours now."
    # Cem is too late.
    cem_card = await _card(driver, cem)
    await driver.press(cem, cem_card, take)
    assert driver.last_answer()["text"] == (
        "Jemand anderes hat dieses Angebot schon übernommen, oder es wurde zurückgezogen."
    )
    # Anna's old withdraw button: the offer was taken.
    await driver.press(anna, card, withdraw)
    assert driver.last_answer()["show_alert"] is True
    assert await _holders(app, setup) == {ben.id}

    await _drain(app)
    [planner_note] = [m for m in fake_api.sent_to(olga.id) if "🔄" in (m.text or "")]
    assert planner_note.text.startswith(
        "🔄 Schichttausch: Ben hat von Anna die Schicht Aufbau 09:30–10:00 von „Stand Mitte“"
    )
    [told] = [m for m in fake_api.sent_to(anna.id) if (m.text or "").startswith("🔄 Ben")]
    assert "hat deine Schicht Aufbau 09:30–10:00" in told.text
    assert _labels(told) == ["Aktion anzeigen"]

    # Ben offers and withdraws (twice: the second tap changes nothing).
    await driver.press(ben, ben_card, _button(ben_card, "Offer a swap"))
    withdraw = _button(ben_card, "Withdraw offer")
    await driver.press(ben, ben_card, withdraw)
    assert driver.last_answer()["text"] == "Offer withdrawn: you keep your shift."
    await driver.press(ben, ben_card, withdraw)
    assert driver.last_answer()["text"] == "Offer withdrawn: you keep your shift."
    assert "Offer a swap" in _labels(ben_card)
    del main


async def test_my_shifts(driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv) -> None:
    anna = await _member(app, fake_api, "Anna")
    card = await _card(driver, anna)
    await driver.press(anna, card, _button(card, "📋 Meine Schichten"))
    assert card.text.startswith("Du hast dich noch für keine Schicht eingetragen.")
    await driver.press(anna, card, _button(card, "◀ Alle Aktionen"))
    [data] = [data for text, data in card.buttons if text.endswith("Stand Mitte")]
    await driver.press(anna, card, data)
    await driver.press(anna, card, _button(card, "Eintragen 10:00–12:00"))
    await driver.press(anna, card, _button(card, "📋 Meine Schichten"))
    assert card.text.startswith("Deine Schichten\n✅ ")
    assert "10:00–12:00 · Infostand: Stand Mitte · 📍 Platz Stand Mitte" in card.text
    # The list marks the date.
    [listing] = await driver.send(anna, "/aktionen")
    assert any(label.startswith("✅ ") and "Stand Mitte" in label for label in _labels(listing))


# --- notices ------------------------------------------------------------------------------------


async def test_called_off_date_is_told_unless_it_is_on_again(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    anna = await _member(app, fake_api, "Anna")
    ben = await _member(app, fake_api, "Ben", "en")
    setup, main = await _shift_ids(app, kv.mitte)
    [nord] = await _shift_ids(app, kv.nord)
    now = utcnow()
    async with app.session_pool() as session:
        await shifts.sign_up(session, setup, anna.id, now=now)
        await shifts.sign_up(session, main, anna.id, now=now)
        await shifts.sign_up(session, nord, ben.id, now=now)
        for date_id in (kv.mitte, kv.nord):
            row = await field_actions.cancel_date(session, date_id, now=now)
            await action_notices.queue_cancelled(session, row, now=now)
        # Runde Nord is on again before the notice went out: Ben hears nothing.
        await session.execute(
            update(ActionDate).where(ActionDate.id == kv.nord).values(status="scheduled")
        )
        await session.commit()
    await _drain(app)
    [told] = [m for m in fake_api.sent_to(anna.id) if (m.text or "").startswith("❌")]
    assert told.text.startswith("❌ Abgesagt: Infostand „Stand Mitte“ am ")
    assert "Du warst eingetragen für: Aufbau 09:30–10:00, 10:00–12:00." in told.text
    assert not [m for m in fake_api.sent_to(ben.id) if (m.text or "").startswith("❌")]
    async with app.session_pool() as session:
        statuses = dict(
            (await session.execute(select(Delivery.recipient_id, Delivery.status))).all()
        )
    assert statuses[ben.id] != statuses[anna.id]


async def test_swap_and_emptied_notices_are_withdrawn_when_no_longer_true(
    fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    olga = await _member(app, fake_api, "Olga", role=Role.ORGANISER)
    anna = await _member(app, fake_api, "Anna")
    ben = await _member(app, fake_api, "Ben")
    setup, main = await _shift_ids(app, kv.mitte)
    now = utcnow()
    async with app.session_pool() as session:
        await shifts.sign_up(session, setup, anna.id, now=now)
        offer = await shifts.offer_swap(session, setup, anna.id, now=now)
        swap = await shifts.take_swap(session, offer.id, ben.id, now=now)
        await action_notices.queue_swapped(session, swap, now=now)
        await action_notices.queue_swap_taken(session, swap, now=now)
        # The shift emptied, then someone signed up again before the notice went out.
        shift = await field_actions.get_shift(session, main)
        await action_notices.queue_emptied(session, shift, now=now)
        await shifts.sign_up(session, main, anna.id, now=now)
        # Ben left the shift he took over: the swap notices are no longer true.
        await shifts.cancel(session, setup, ben.id, now=now)
        await session.commit()
    await _drain(app)
    for user in (olga, anna):
        assert fake_api.sent_to(user.id) == []


# --- links and privacy --------------------------------------------------------------------------


async def test_link_opens_the_card_and_a_forged_one_says_so(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    anna = await _member(app, fake_api, "Anna")
    greeting, card = await driver.send(anna, f"/start a{kv.mitte}")
    assert card.text.startswith("Stand Mitte\nInfostand")
    assert "Eintragen 09:30–10:00" in _labels(card)
    messages = await driver.send(anna, "/start a4242")
    assert "nicht mehr" in messages[0].text
    assert all(not (m.text or "").startswith("Stand Mitte") for m in messages)
    # An id no row can have is no link at all: the plain start.
    messages = await driver.send(anna, "/start a99999999999999999999")
    assert [m.text for m in messages] == [m.text for m in await driver.send(anna, "/start")]
    # Without consent: the card too, before the consent question.
    fritz = fake_api.add_user(first_name="Fritz", language_code="de")
    sent = await driver.send(fritz, f"/start a{kv.mitte}")
    assert [m.text.split("\n")[0] for m in sent][1] == "Stand Mitte"
    del greeting


async def test_datenschutz_lists_shifts_and_erasure_removes_them(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, kv: Kv
) -> None:
    anna = await _member(app, fake_api, "Anna")
    ben = await _member(app, fake_api, "Ben")
    setup, main = await _shift_ids(app, kv.mitte)
    now = utcnow()
    async with app.session_pool() as session:
        await shifts.sign_up(session, setup, anna.id, now=now)
        await shifts.sign_up(session, main, anna.id, now=now, via_call=True)
        offer = await shifts.offer_swap(session, setup, anna.id, now=now)
        taken = await shifts.offer_swap(session, main, anna.id, now=now)
        await shifts.take_swap(session, taken.id, ben.id, now=now)
        await shifts.sign_up(session, main, anna.id, now=now)
        session.add(HelpCall(shift_id=main, member_id=anna.id, called_at=now))
        session.add(HelpCall(shift_id=setup, member_id=anna.id, called_at=now))
        await session.commit()
        offer_id = offer.id
    [overview] = await driver.send(anna, "/datenschutz")
    [data] = await driver.press(anna, overview, overview.buttons[0][1])
    lines = data.text.splitlines()
    assert "Schichten bei Infoständen und Haustür-Runden" in lines
    assert any(re.fullmatch(r"Stand Mitte \(Aufbau\), \S+, 09:30–10:00: .*", li) for li in lines)
    after = lines[lines.index("Hilferufe, die du bekommen hast") + 1 :]
    assert [li.split(", Schicht ")[0] for li in after[:2]] == ["Stand Mitte", "Stand Mitte"]

    async with app.session_pool() as session:
        member = await session.get(Member, anna.id)
        assert member is not None
        await withdraw_consent(session, member)
        await session.commit()
    async with app.session_pool() as session:
        assert await session.get(Profile, anna.id) is None
        assert (
            await session.scalar(
                select(func.count())
                .select_from(ShiftSignup)
                .where(ShiftSignup.member_id == anna.id)
            )
            == 0
        )
        assert await session.get(ShiftSwap, offer_id) is None
        # The swap Ben took from Anna: gone with her profile.
        assert (
            await session.scalar(
                select(func.count())
                .select_from(ShiftSwap)
                .where(ShiftSwap.from_member_id == anna.id)
            )
            == 0
        )
        assert (
            await session.scalar(
                select(func.count()).select_from(HelpCall).where(HelpCall.member_id == anna.id)
            )
            == 0
        )
    # Ben keeps the shift he took over.
    assert await _holders(app, main) == {ben.id}
