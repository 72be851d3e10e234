"""The result log through the dispatcher: the prompt after a shift (queued once, withdrawn when a
teammate was quicker), two taps from the prompt, the full log with steppers, topics and pages,
replacing a teammate's result, planners, and polite refusals of forged and stale presses.

Shifts lie in the real past (the handlers check against the real clock); the job gets `now=`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.app import Application
from bot.context import JobContext
from bot.services import action_results, field_actions, shifts
from bot.services.action_results import RESULT_PROMPT, Counts
from bot.services.field_actions import PlannedShift
from bot.telegram.callbacks import ResultAct, ResultCallback
from models import (
    ActionDate,
    ActionKind,
    ActionResult,
    ActionResultTopic,
    Delivery,
    DeliveryStatus,
    Member,
    Role,
    Shift,
    Topic,
)
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

ZONE = ZoneInfo("Europe/Berlin")
NOW = utcnow()
TODAY = NOW.astimezone(ZONE).date()
PLAN = (PlannedShift(time(10), time(12), 3), PlannedShift(time(12), time(14), 3))
TOPICS = ["Miete", "Klima", "Bildung", "Verkehr", "Gesundheit", "Arbeit", "Frieden", "Kultur"]
TOPICS += ["Wohnen", "Sport"]  # ten: two pages


@dataclass
class People:
    anna: FakeUser  # on the shift, German
    ben: FakeUser  # on the shift, English
    cem: FakeUser  # not on the shift
    olga: FakeUser  # organiser


async def _action(app: Application, day: date, holders: list[FakeUser], title: str) -> list[int]:
    """An Infostand on `day` (planned three weeks before it), `holders` on its first shift."""
    planned = datetime.combine(day - timedelta(days=21), time(8), ZONE)
    async with app.session_pool() as session:
        action = await field_actions.create(
            session,
            kind=ActionKind.INFOSTAND,
            title=title,
            place="Marktplatz <Süd>",
            shifts=PLAN,
            on_day=day,
            now=planned,
            zone=ZONE,
        )
        await session.flush()
        ids = list(
            await session.scalars(
                select(Shift.id)
                .join(ActionDate, ActionDate.id == Shift.action_date_id)
                .where(ActionDate.action_id == action.id)
                .order_by(Shift.starts_at)
            )
        )
        for user in holders:
            await shifts.sign_up(session, ids[0], user.id, now=planned)
        await session.commit()
        return ids


@pytest.fixture
async def people(app: Application, fake_api: FakeBotAPI) -> People:
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    cem = fake_api.add_user(first_name="Cem", language_code="de")
    olga = fake_api.add_user(first_name="Olga", language_code="de")
    async with app.session_pool() as session:
        session.add_all(
            Topic(key=f"t{index}", name=name, position=index) for index, name in enumerate(TOPICS)
        )
        await session.commit()
    for user in (anna, ben, cem):
        await signed_up(app.session_pool, user)
    await signed_up(app.session_pool, olga, role=Role.ORGANISER)
    async with app.session_pool() as session:
        await session.execute(update(Member).where(Member.id == ben.id).values(language="en"))
        await session.commit()
    return People(anna, ben, cem, olga)


@pytest.fixture
async def shift_ids(app: Application, people: People) -> list[int]:
    """The two shifts of an Infostand two days ago; Anna and Ben held the first."""
    return await _action(app, TODAY - timedelta(days=2), [people.anna, people.ben], "Infostand")


def _ctx(app: Application) -> JobContext:
    return JobContext(app.session_pool, app.bot, app.i18n, app.settings)


async def _ends_at(app: Application, shift_id: int) -> datetime:
    async with app.session_pool() as session:
        shift = await session.get(Shift, shift_id)
        assert shift is not None
        return shift.ends_at


async def _prompt(app: Application, fake_api: FakeBotAPI, shift_id: int) -> None:
    from jobs.action_results import queue_result_prompts

    end = await _ends_at(app, shift_id)
    assert await queue_result_prompts(_ctx(app), now=end + timedelta(minutes=3)) == 2
    await app.worker.run_once()


async def _stored(app: Application, shift_id: int) -> tuple[Counts, set[str]] | None:
    async with app.session_pool() as session:
        row = await session.get(ActionResult, shift_id)
        if row is None:
            return None
        names = await session.scalars(
            select(Topic.name)
            .join(ActionResultTopic, ActionResultTopic.topic_id == Topic.id)
            .where(ActionResultTopic.shift_id == shift_id)
        )
        return Counts(row.conversations, row.leaflets, row.contacts), set(names)


def _data(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if text == label]
    return data


async def _help(driver: BotDriver, user: FakeUser) -> SentMessage:
    """Any message of the bot to `user`, to press forged buttons on."""
    [message, *_rest] = await driver.send(user, "/hilfe")
    return message


# --- the prompt and the two taps ----------------------------------------------------------------


async def test_the_prompt_then_two_taps_store_the_result(
    app: Application, fake_api: FakeBotAPI, driver: BotDriver, people: People, shift_ids: list[int]
) -> None:
    await _prompt(app, fake_api, shift_ids[0])
    [prompt] = fake_api.sent_to(people.anna.id)
    assert prompt.text is not None
    assert prompt.text.startswith("📝 Wie lief die Schicht? Trage das Ergebnis ein.")
    assert "Infostand" in prompt.text
    assert "Marktplatz <Süd>" in prompt.text  # escaped in the HTML, shown as typed
    assert "keine Namen, keine Adressen" in prompt.text
    labels = [label for label, _data in prompt.buttons]
    assert labels == ["0", "5", "10", "20", "30", "50", "✏️ Ergebnis eintragen"]
    [ben_sees] = fake_api.sent_to(people.ben.id)
    assert ben_sees.text is not None
    assert ben_sees.text.startswith("📝 How did the shift go? Log the result.")

    # Tap 1: about ten conversations (nothing stored yet) ...
    assert await driver.press(people.anna, prompt, _data(prompt, "10")) == []
    assert prompt.text is not None
    assert "💬 10 Gespräche" in prompt.text
    assert await _stored(app, shift_ids[0]) is None
    # ... tap 2: saved.
    assert await driver.press(people.anna, prompt, _data(prompt, "💾 Speichern")) == []
    assert driver.last_answer()["text"] == "Gespeichert. Danke!"
    assert await _stored(app, shift_ids[0]) == (Counts(10, 0, 0), set())
    assert prompt.text.startswith("✅ Ergebnis gespeichert. Danke!")
    assert "📄 0 Flyer verteilt" in prompt.text
    assert [label for label, _data in prompt.buttons] == ["✏️ Ändern"]


async def test_prompts_go_out_once_and_are_withdrawn_after_a_teammate_logged(
    app: Application, fake_api: FakeBotAPI, people: People, shift_ids: list[int]
) -> None:
    from jobs.action_results import queue_result_prompts

    end = await _ends_at(app, shift_ids[0])
    assert await queue_result_prompts(_ctx(app), now=end - timedelta(minutes=1)) == 0
    assert await queue_result_prompts(_ctx(app), now=end) == 2
    # Rerun and a "restarted" job with its own context: nothing new.
    assert await queue_result_prompts(_ctx(app), now=end + timedelta(minutes=5)) == 0
    async with app.session_pool() as session:
        await action_results.log(
            session, shift_ids[0], people.anna.id, {Role.MEMBER}, Counts(3), now=utcnow()
        )
        await session.commit()
    await app.worker.run_once()
    assert fake_api.sent_to(people.anna.id) == []
    assert fake_api.sent_to(people.ben.id) == []
    async with app.session_pool() as session:
        statuses = set(
            await session.scalars(select(Delivery.status).where(Delivery.kind == RESULT_PROMPT))
        )
    assert DeliveryStatus.PENDING not in statuses
    assert DeliveryStatus.SENT not in statuses


async def test_a_shift_older_than_a_day_is_not_prompted(
    app: Application, fake_api: FakeBotAPI, people: People, shift_ids: list[int]
) -> None:
    from jobs.action_results import queue_result_prompts

    end = await _ends_at(app, shift_ids[0])
    assert await queue_result_prompts(_ctx(app), now=end + timedelta(hours=25)) == 0
    assert await queue_result_prompts(_ctx(app), now=utcnow()) == 0
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


# --- the full log ---------------------------------------------------------------------------


async def test_the_full_log_with_steppers_topics_pages_and_replacing(
    app: Application, fake_api: FakeBotAPI, driver: BotDriver, people: People, shift_ids: list[int]
) -> None:
    await _prompt(app, fake_api, shift_ids[0])
    [screen] = fake_api.sent_to(people.ben.id)
    await driver.press(people.ben, screen, _data(screen, "✏️ Log the result"))
    assert screen.text is not None
    assert screen.text.startswith("📝 Result of the shift")
    labels = [label for label, _data in screen.buttons]
    assert labels[:3] == ["▾ 💬 0 conversations", "• 0 •", "5"]
    assert "▸ 📄 0 leaflets" in labels
    assert "▫️ Miete" in labels
    assert "▫️ Wohnen" not in labels  # on the second page
    assert labels[-1] == "💾 Save"

    await driver.press(people.ben, screen, _data(screen, "20"))
    await driver.press(people.ben, screen, _data(screen, "+1"))
    await driver.press(people.ben, screen, _data(screen, "▸ 📄 0 leaflets"))
    await driver.press(people.ben, screen, _data(screen, "50"))
    await driver.press(people.ben, screen, _data(screen, "+10"))
    await driver.press(people.ben, screen, _data(screen, "−1"))
    await driver.press(people.ben, screen, _data(screen, "▸ 🤝 0 new contacts"))
    await driver.press(people.ben, screen, _data(screen, "+1"))
    await driver.press(people.ben, screen, _data(screen, "▫️ Miete"))
    await driver.press(people.ben, screen, _data(screen, "▫️ Klima"))
    await driver.press(people.ben, screen, _data(screen, "✅ Klima"))  # toggled off again
    await driver.press(people.ben, screen, _data(screen, "Next »"))
    await driver.press(people.ben, screen, _data(screen, "▫️ Wohnen"))
    assert "Topics people raised: Miete, Wohnen" in (screen.text or "")
    assert "▾ 🤝 1 new contact" in [label for label, _data in screen.buttons]
    await driver.press(people.ben, screen, _data(screen, "💾 Save"))
    assert driver.last_answer()["text"] == "Saved. Thank you!"
    assert await _stored(app, shift_ids[0]) == (Counts(21, 59, 1), {"Miete", "Wohnen"})

    # A stale button of the log (its rev is gone): the current screen, nothing stored.
    stale = ResultCallback(
        act=ResultAct.SET, shift_id=shift_ids[0], field=0, value=99, rev=1
    ).pack()
    await driver.press(people.ben, screen, stale)
    assert driver.last_answer()["text"] == "This screen was out of date; here is the current one."
    assert await _stored(app, shift_ids[0]) == (Counts(21, 59, 1), {"Miete", "Wohnen"})

    # Anna opens it later: the screen says a result exists and shows it; hers replaces it.
    [anna_prompt] = fake_api.sent_to(people.anna.id)
    await driver.press(people.anna, anna_prompt, _data(anna_prompt, "✏️ Ergebnis eintragen"))
    text = anna_prompt.text or ""
    assert "Für diese Schicht wurde am" in text
    assert "💬 21 Gespräche · 📄 59 Flyer verteilt · 🤝 1 neuer Kontakt" in text
    assert "Themen: Miete, Wohnen" in text
    assert "Speicherst du neu, ersetzt das dieses Ergebnis." in text
    await driver.press(people.anna, anna_prompt, _data(anna_prompt, "✅ Miete"))
    await driver.press(people.anna, anna_prompt, _data(anna_prompt, "−10"))
    await driver.press(people.anna, anna_prompt, _data(anna_prompt, "💾 Speichern"))
    assert await _stored(app, shift_ids[0]) == (Counts(11, 59, 1), {"Wohnen"})
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(ActionResult)) == 1


async def test_a_planner_may_log_and_a_quick_choice_opens_the_full_log(
    app: Application, driver: BotDriver, people: People, shift_ids: list[int]
) -> None:
    message = await _help(driver, people.olga)
    quick = ResultCallback(act=ResultAct.QUICK, shift_id=shift_ids[1], value=5).pack()
    [screen] = await driver.press(people.olga, message, quick) or [message]
    await driver.press(people.olga, screen, _data(screen, "✏️ Flyer, Kontakte, Themen ergänzen"))
    assert "▾ 💬 5 Gespräche" in [label for label, _data in screen.buttons]
    await driver.press(people.olga, screen, _data(screen, "💾 Speichern"))
    assert await _stored(app, shift_ids[1]) == (Counts(5, 0, 0), set())


# --- refusals -------------------------------------------------------------------------------------


async def test_forged_and_stale_presses_get_a_polite_answer(
    app: Application, driver: BotDriver, people: People, shift_ids: list[int]
) -> None:
    first, second = shift_ids
    ahead = await _action(app, TODAY + timedelta(days=3), [people.anna], "Infostand bald")
    old = await _action(app, TODAY - timedelta(days=20), [people.anna], "Infostand alt")
    anna = await _help(driver, people.anna)
    cem = await _help(driver, people.cem)
    gone = "Diese Schicht gibt es nicht mehr."
    cases: list[tuple[FakeUser, SentMessage, str, str]] = [
        (people.cem, cem, f"ar1:open:{first}:0:0:0:0", "Das Ergebnis können nur die Leute"),
        (people.cem, cem, f"ar1:qs:{first}:0:5:0:0", "Das Ergebnis können nur die Leute"),
        (people.anna, anna, f"ar1:open:{second}:0:0:0:0", "Das Ergebnis können nur die Leute"),
        (people.anna, anna, f"ar1:open:{ahead[0]}:0:0:0:0", "Das Ergebnis kannst du eintragen"),
        (people.anna, anna, f"ar1:q:{old[0]}:0:5:0:0", "Ein Ergebnis kann bis 14 Tage nach"),
        (people.anna, anna, "ar1:open:0:0:0:0:0", gone),
        (people.anna, anna, f"ar1:qs:{first}:0:10001:0:0", "Zahlen gehen von 0 bis 10.000."),
        (people.anna, anna, f"ar1:qs:{first}:0:-1:0:0", "Zahlen gehen von 0 bis 10.000."),
        (people.anna, anna, f"ar1:q:{first}:0:99999999999999:0:0", "Zahlen gehen von 0 bis"),
    ]
    for user, message, data, expected in cases:
        assert await driver.press(user, message, data) == [], data
        answer = driver.last_answer()
        assert answer["text"].startswith(expected), (data, answer["text"])
        assert answer["show_alert"] is True
    # Shift ids no row can have (negative, past 2^31) are stale buttons, like non-numbers.
    for data in (
        "ar1:open:-4:0:0:0:0",
        "ar1:save:9223372036854775809:0:0:0:0",
        "ar1:qs:99999999999999999999999:0:5:0:0",
    ):
        assert await driver.press(people.anna, anna, data) == [], data
        assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr.", data
    # Not a number at all: the fallback's "no longer valid".
    await driver.press(people.anna, anna, "ar1:open:abc:0:0:0:0")
    assert driver.last_answer()["text"] == "Dieser Knopf gilt nicht mehr."
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(ActionResult)) == 0

    # On the log screen: a forged topic, a forged field, a huge step.
    await driver.press(people.anna, anna, f"ar1:open:{first}:0:0:0:0")
    [topic] = [data for label, data in anna.buttons if label == "▫️ Miete"]
    rev = ResultCallback.unpack(topic).rev
    for data, expected in (
        (f"ar1:topic:{first}:0:424242:{rev}:0", "Dieses Thema steht nicht mehr in der Liste."),
        (f"ar1:set:{first}:7:5:{rev}:0", "Zahlen gehen von 0 bis 10.000."),
    ):
        await driver.press(people.anna, anna, data)
        assert driver.last_answer()["text"] == expected
    await driver.press(people.anna, anna, f"ar1:add:{first}:0:99999999999:{rev}:0")
    assert "▾ 💬 10 Gespräche" in [label for label, _data in anna.buttons]

    # The date is called off after the screen was opened: saving is refused.
    async with app.session_pool() as session:
        shift = await session.get(Shift, first)
        assert shift is not None
        # Called off "back then" (cancel_date refuses dates that are over).
        await field_actions.cancel_date(
            session, shift.action_date_id, now=shift.starts_at - timedelta(days=1)
        )
        await session.commit()
    await driver.press(people.anna, anna, _data(anna, "💾 Speichern"))
    assert driver.last_answer()["text"] == (
        "Dieser Termin wurde abgesagt, es gibt also kein Ergebnis einzutragen."
    )
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(ActionResult)) == 0


# --- the planners' summary ------------------------------------------------------------------------


async def test_the_date_summary_for_planners_in_both_languages(
    app: Application, people: People, shift_ids: list[int]
) -> None:
    from bot.telegram.views import action_results as views

    async with app.session_pool() as session:
        topic_ids = list(await session.scalars(select(Topic.id).where(Topic.name == "Miete")))
        await action_results.log(
            session, shift_ids[0], people.anna.id, {Role.MEMBER}, Counts(1, 25, 2), topic_ids,
            now=utcnow(),
        )  # fmt: skip
        await session.commit()
        shift = await session.get(Shift, shift_ids[0])
        assert shift is not None
        summary = await action_results.date_summary(session, shift.action_date_id)
    assert summary is not None
    with app.i18n.context(), app.i18n.use_locale("de"):
        german = views.date_summary(summary, ZONE)
    with app.i18n.context(), app.i18n.use_locale("en"):
        english = views.date_summary(summary, ZONE)
    assert german.startswith("📊 <b>Ergebnisse: Infostand</b>\n")
    assert "Marktplatz &lt;Süd&gt;" in german
    assert "Ergebnis eingetragen für 1 von 2 Schichten." in german
    assert "💬 1 Gespräch\n📄 25 Flyer verteilt\n🤝 2 neue Kontakte" in german
    assert german.endswith("Angesprochene Themen:\n• Miete: 1-mal")
    assert "Results logged for 1 of 2 shifts." in english
    assert "💬 1 conversation\n📄 25 leaflets\n🤝 2 new contacts" in english
    assert english.endswith("Topics raised:\n• Miete: 1 time")
    assert "Anna" not in german + english


async def test_log_buttons_say_what_they_set_so_double_and_late_taps_set_the_same(
    app: Application, fake_api: FakeBotAPI, driver: BotDriver, people: People, shift_ids: list[int]
) -> None:
    await _prompt(app, fake_api, shift_ids[0])
    [screen] = fake_api.sent_to(people.ben.id)
    await driver.press(people.ben, screen, _data(screen, "✏️ Log the result"))
    # A double tap of a topic: both presses carry "tick Miete"; the second, from the screen
    # before the first was drawn, ticks it again instead of unticking it.
    miete = _data(screen, "▫️ Miete")
    assert ResultCallback.unpack(miete).act is ResultAct.TOPIC_ON
    for _press in range(2):
        assert await driver.press(people.ben, screen, miete) == []
        assert not driver.last_answer().get("show_alert")
        assert "✅ Miete" in [label for label, _data in screen.buttons]
    # A stepper says the value it leads to: "+10" from 0 pressed twice is 10, not 20.
    plus_ten = _data(screen, "+10")
    assert ResultCallback.unpack(plus_ten).value == 10
    for _press in range(2):
        await driver.press(people.ben, screen, plus_ten)
    assert "▾ 💬 10 conversations" in [label for label, _data in screen.buttons]
    # Unticked from the current screen; a late "tick" from before still ticks.
    await driver.press(people.ben, screen, _data(screen, "✅ Miete"))
    await driver.press(people.ben, screen, miete)
    await driver.press(people.ben, screen, _data(screen, "💾 Save"))
    assert await _stored(app, shift_ids[0]) == (Counts(10, 0, 0), {"Miete"})


async def test_an_old_screens_toggle_acts_only_on_its_own_screen(
    app: Application, fake_api: FakeBotAPI, driver: BotDriver, people: People, shift_ids: list[int]
) -> None:
    await _prompt(app, fake_api, shift_ids[0])
    [screen] = fake_api.sent_to(people.ben.id)
    await driver.press(people.ben, screen, _data(screen, "✏️ Log the result"))
    miete = ResultCallback.unpack(_data(screen, "▫️ Miete"))
    # A button drawn by the code before: "toggle" with the current screen's rev flips once ...
    legacy = ResultCallback(
        act=ResultAct.TOPIC, shift_id=miete.shift_id, value=miete.value, rev=miete.rev
    ).pack()
    await driver.press(people.ben, screen, legacy)
    assert "✅ Miete" in [label for label, _data in screen.buttons]
    # ... and pressed again (its rev is gone) only refreshes the screen.
    await driver.press(people.ben, screen, legacy)
    assert driver.last_answer()["text"] == "This screen was out of date; here is the current one."
    assert "✅ Miete" in [label for label, _data in screen.buttons]
