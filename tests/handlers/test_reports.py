"""/bericht as an organiser gets it: the period menu, then a summary, the charts, a CSV and a
PDF; refused politely to others; forged, double-tapped and mistyped input handled."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from bot.app import Application
from bot.telegram.views import report_files
from models import Role
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.members import signed_up

MENU = "<b>Report</b>"
STALE = "This button is no longer valid."
REFUSAL = "Sorry, only organisers can see reports."


async def _organiser(app: Application, fake_api: FakeBotAPI, language: str = "en") -> FakeUser:
    user = fake_api.add_user(first_name="Olga", language_code=language)
    await signed_up(app.session_pool, user, role=Role.ORGANISER)
    return user


async def _menu(driver: BotDriver, user: FakeUser, command: str = "/report") -> SentMessage:
    [menu] = await driver.send(user, command)
    assert (menu.html or "").startswith(MENU), menu.html
    return menu


def _data(menu: SentMessage, label: str) -> str:
    [data] = [data for text, data in menu.buttons if text == label]
    return data


def _file_name(message: SentMessage) -> str:
    return str(message.message["document"]["file_name"])


def _csv_rows(message: SentMessage) -> list[list[str]]:
    assert isinstance(message.document, bytes)
    assert message.document.startswith("\ufeff".encode())
    text = message.document.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def _check_report(sent: list[SentMessage], label: str, *, photos: int = 1) -> list[list[str]]:
    """summary, photo(s), CSV, PDF; returns the CSV's rows."""
    methods = [message.method for message in sent]
    photo_methods = ["sendPhoto"] if photos == 1 else ["sendMediaGroup"] * photos
    assert methods == ["sendMessage", *photo_methods, "sendDocument", "sendDocument"], methods
    summary, *images, table, printable = sent
    assert "From joining to taking part" in (summary.text or "")
    assert all(isinstance(image.photo, bytes) and image.photo[:4] == b"\x89PNG" for image in images)
    assert _file_name(table) == f"report-{label}.csv"
    assert _file_name(printable) == f"report-{label}.pdf"
    assert isinstance(printable.document, bytes)
    assert printable.document.startswith(b"%PDF")
    return _csv_rows(table)


def _previous_half(today: date) -> str:
    if today.month <= 6:
        return f"{today.year - 1}-H2"
    return f"{today.year}-H1"


async def test_an_organiser_gets_summary_charts_csv_and_pdf(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI
) -> None:
    organiser = await _organiser(app, fake_api)
    menu = await _menu(driver, organiser)
    assert [text for text, _data in menu.buttons] == [
        "Last 30 days",
        "This half-year",
        "Last half-year",
        "Other period …",
    ]
    before = len(fake_api.requests)
    sent = await driver.press(organiser, menu, _data(menu, "Last half-year"))
    today = utcnow().astimezone(app.settings.zone).date()
    rows = _check_report(sent, _previous_half(today))
    assert rows[0] == ["section", "item", "month", "measure", "value"]
    # The organiser seeded by the test counts among the funnel's people of no period but
    # their own; every row has five fields and the funnel is there in full.
    assert all(len(row) == 5 for row in rows)
    assert [row[1] for row in rows if row[0] == "Funnel"] == [
        "Joined a KV group",
        "Opened the chat with the bot",
        "Agreed to storing answers",
        "Finished the questions",
        "Joined a group",
        "Came to a first meeting",
    ]
    # The menu says what is being prepared, without buttons; the upload was announced.
    assert "Preparing the report" in (menu.text or "")
    assert not menu.buttons
    actions = [r.params for r in fake_api.requests[before:] if r.method == "sendChatAction"]
    assert [action["action"] for action in actions] == ["upload_document"]

    # A double tap on the same menu: a note, no second report.
    assert await driver.press(organiser, menu, "rep1:phy") == []
    assert driver.last_answer().get("text") == "This report is on its way already."


async def test_german_names_and_the_command(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI
) -> None:
    organiser = await _organiser(app, fake_api, "de")
    [menu] = await driver.send(organiser, "/bericht")
    sent = await driver.press(organiser, menu, "rep1:hy")
    today = utcnow().astimezone(app.settings.zone).date()
    first = date(today.year, 1 if today.month <= 6 else 7, 1)
    assert _file_name(sent[-1]) == f"bericht-{first.isoformat()}_{today.isoformat()}.pdf"
    assert _file_name(sent[-2]).endswith(".csv")


async def test_several_charts_go_as_one_album(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = report_files.charts
    monkeypatch.setattr(report_files, "charts", lambda report: real(report) * 3)
    organiser = await _organiser(app, fake_api)
    menu = await _menu(driver, organiser)
    sent = await driver.press(organiser, menu, "rep1:30d")
    assert [message.method for message in sent] == [
        "sendMessage",
        "sendMediaGroup",
        "sendMediaGroup",
        "sendMediaGroup",
        "sendDocument",
        "sendDocument",
    ]


async def test_others_are_refused_politely(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI
) -> None:
    member = fake_api.add_user(first_name="Mia", language_code="en")
    await signed_up(app.session_pool, member)
    [refusal] = await driver.send(member, "/report")
    assert refusal.text == REFUSAL
    organiser = await _organiser(app, fake_api)
    menu = await _menu(driver, organiser)
    # The member presses a button of the organiser's menu (forwarded, or forged).
    assert await driver.press(member, menu, "rep1:hy") == []
    answer = driver.last_answer()
    assert answer.get("text") == REFUSAL
    assert answer.get("show_alert")


@pytest.mark.parametrize("forged", ["rep1:zz", "rep1:", "rep1:hy:1", "rep1:" + "x" * 50])
async def test_forged_period_buttons_are_refused(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI, forged: str
) -> None:
    organiser = await _organiser(app, fake_api)
    menu = await _menu(driver, organiser)
    assert await driver.press(organiser, menu, forged) == []
    assert driver.last_answer().get("text") == STALE
    # The menu still works.
    assert len(await driver.press(organiser, menu, "rep1:30d")) == 4


async def test_a_typed_period_with_mistakes_and_a_retry(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI
) -> None:
    organiser = await _organiser(app, fake_api)
    menu = await _menu(driver, organiser)
    assert await driver.press(organiser, menu, "rep1:c") == []
    assert "Type the period" in (menu.text or "")
    year = utcnow().astimezone(app.settings.zone).year - 1
    for typed, problem in [
        ("last year", "I can't read that as a period."),
        (f"30.6.{year}-1.1.{year}", "The second date lies before the first."),
        (f"1.1.{year}-1.1.{year + 5}", "The period ends in the future"),
        (f"1.1.{year - 4}-1.1.{year}", "That is longer than 3 years."),
        ("<b>1.1.</b>", "I can't read that as a period."),
    ]:
        [answer] = await driver.send(organiser, typed)
        assert (answer.text or "").startswith(problem), answer.text
        assert "Please try again" in (answer.text or "")
    sent = await driver.send(organiser, f"1.1.{year} – 30.6.{year}")
    assert (sent[0].text or "").startswith("Preparing the report")
    _check_report(sent[1:], f"{year}-H1")
    # The conversation is over: more text is no period.
    assert not any(
        "Preparing" in (m.text or "")
        for m in await driver.send(organiser, f"1.1.{year}-2.1.{year}")
    )


async def test_cancel_ends_the_question(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI
) -> None:
    organiser = await _organiser(app, fake_api)
    menu = await _menu(driver, organiser)
    await driver.press(organiser, menu, "rep1:c")
    await driver.send(organiser, "/cancel")
    year = utcnow().year - 1
    replies = await driver.send(organiser, f"1.1.{year}-30.6.{year}")
    assert not any("Preparing" in (m.text or "") for m in replies)
    assert not any(m.method == "sendDocument" for m in replies)
