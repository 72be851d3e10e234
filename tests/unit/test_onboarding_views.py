"""Onboarding screens: plural forms where a count meets a noun, labels naming their group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram.utils.i18n import I18n

from bot.i18n import create_i18n
from bot.services.directory import GroupPage, ListedGroup, SuggestionPage
from bot.telegram.views import groups as views
from models import Group, GroupType, Meeting, MeetingStatus

ZONE = ZoneInfo("Europe/Berlin")
THURSDAY = datetime(2026, 12, 3, 18, tzinfo=UTC)


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n("de")


def _group(group_id: int, name: str) -> Group:
    return Group(id=group_id, name=name, type=GroupType.STAMMTISCH, place=None)


def _meeting(group: Group, starts_at: datetime, meeting_id: int = 1) -> Meeting:
    return Meeting(
        id=meeting_id,
        group=group,
        occurrence=starts_at,
        starts_at=starts_at,
        status=MeetingStatus.SCHEDULED,
    )


def _page(count: int, remaining: int) -> SuggestionPage:
    groups = []
    for i in range(1, count + 1):
        group = _group(i, f"Stammtisch {i}")
        groups.append(ListedGroup(group, (_meeting(group, THURSDAY, i),)))
    return SuggestionPage(groups, page=0, remaining=remaining)


ENTRY_BUTTONS = {
    "de": ["Alle Gruppen durchsuchen", "Meine Gruppen"],
    "en": ["Browse all groups", "My groups"],
}


def _render(i18n: I18n, locale: str, page: SuggestionPage) -> tuple[str, list[str]]:
    with i18n.context(), i18n.use_locale(locale):
        text, keyboard = views.suggestions(page, ZONE)
    return text, [button.text for row in keyboard.inline_keyboard for button in row]


@pytest.mark.parametrize(
    ("locale", "count", "remaining", "heading", "more"),
    [
        ("de", 1, 1, "Diese Gruppe könnte zu dir passen:", "Noch 1 Gruppe zeigen"),
        ("de", 3, 2, "Diese Gruppen könnten zu dir passen:", "Noch 2 Gruppen zeigen"),
        ("en", 1, 1, "This group could fit you:", "Show 1 more group"),
        ("en", 3, 5, "These groups could fit you:", "Show 5 more groups"),
    ],
)
def test_suggestions_count_in_words(
    i18n: I18n, locale: str, count: int, remaining: int, heading: str, more: str
) -> None:
    text, buttons = _render(i18n, locale, _page(count, remaining))
    assert text.splitlines()[0] == heading
    assert buttons[-3:] == [more, *ENTRY_BUTTONS[locale]]


def test_no_more_button_on_the_last_page(i18n: I18n) -> None:
    _text, buttons = _render(i18n, "de", _page(2, 0))
    assert buttons == [
        "Stammtisch 1 beitreten",
        "Details: Stammtisch 1",
        "Stammtisch 2 beitreten",
        "Details: Stammtisch 2",
        *ENTRY_BUTTONS["de"],
    ]


@pytest.mark.parametrize(
    ("locale", "dates", "line"),
    [
        ("de", 1, "Nächster Termin: Do., 3. Dez., 19:00"),
        (
            "de",
            3,
            "Nächste Termine: Do., 3. Dez., 19:00 · Do., 10. Dez., 19:00 · Do., 17. Dez., 19:00",
        ),
        ("en", 1, "Next date: Thu, 3 Dec, 19:00"),
        ("en", 2, "Next dates: Thu, 3 Dec, 19:00 · Thu, 10 Dec, 19:00"),
    ],
)
def test_details_name_one_date_or_several(i18n: I18n, locale: str, dates: int, line: str) -> None:
    group = _group(1, "Stammtisch Mitte")
    upcoming = [
        _meeting(group, THURSDAY + timedelta(weeks=week), week + 1) for week in range(dates)
    ]
    with i18n.context(), i18n.use_locale(locale):
        text, _keyboard = views.details(group, None, upcoming, ZONE)
    assert line in text.splitlines()


def test_details_show_a_cancelled_date_as_cancelled(i18n: I18n) -> None:
    group = _group(1, "Stammtisch Mitte")
    first, second = (_meeting(group, THURSDAY + timedelta(weeks=week), week + 1) for week in (0, 1))
    first.status = MeetingStatus.CANCELLED
    with i18n.context(), i18n.use_locale("de"):
        text, keyboard = views.details(
            group, None, [first, second], ZONE, share_link="https://t.me/b?start=j1"
        )
        listed = views.directory(GroupPage([ListedGroup(group, (first, second))], 0, 1), ZONE)[0]
    assert "Nächste Termine: <s>Do., 3. Dez., 19:00</s> (abgesagt) · Do., 10. Dez., 19:00" in text
    assert "Link zum Teilen dieser Gruppe: https://t.me/b?start=j1" in text
    # The card's first button opens the next meeting that takes place.
    assert keyboard.inline_keyboard[0][0].text == "Nächstes Treffen: Do., 10. Dez., 19:00"
    assert (
        "❌ <s>Do., 3. Dez., 19:00</s> – abgesagt\nNächstes Treffen: Do., 10. Dez., 19:00" in listed
    )


def test_long_group_names_are_cut_in_buttons_not_in_text(i18n: I18n) -> None:
    name = "Stammtisch Prenzlauer Berg am Wasserturm"
    page = SuggestionPage([ListedGroup(_group(1, name))], page=0, remaining=0)
    text, buttons = _render(i18n, "de", page)
    assert name in text
    assert buttons == [
        "Stammtisch Prenzlauer… beitreten",
        "Details: Stammtisch Prenzlauer…",
        *ENTRY_BUTTONS["de"],
    ]
    assert all(len(button) <= 35 for button in buttons)
