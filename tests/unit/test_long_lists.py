"""Every listing with 500 items stays within Telegram's limits and loses nobody.

Each case renders one listing the way the bot sends it (all parts of a split notice, or every
page of a paged screen) and the checks count what Telegram counts: the text after its HTML
entities are parsed, in UTF-16 code units (the fake Bot API server's parser, not the bot's own),
at most 100 buttons a keyboard and 64 bytes of callback data a button. Names are as long as
Telegram allows and cost the most: characters outside the BMP and characters HTML escapes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.i18n import create_i18n
from bot.services.host_notices import MeetingAnswers
from bot.services.rsvp import Attendee, Counts
from bot.telegram import format as fmt
from bot.telegram.views import admin as admin_views
from bot.telegram.views import broadcast as broadcast_views
from bot.telegram.views import host_notices as host_notice_views
from bot.telegram.views import hosts as host_views
from bot.telegram.views.newcomers import newcomer_digest
from models import Group, GroupType, Meeting, MeetingStatus, Member, Role, RsvpAnswer
from tests.fakebotapi import parse_html, utf16_len

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
MANY = 500
# 64 characters, as long as a Telegram first name gets; the item's token goes at the end.
LONG = "Zoë 🌻 <Anna> & Maria-Magdalena 🌻 von und zu Hohenzollern-Sigm"

Message = tuple[str, InlineKeyboardMarkup | None]


def token(index: int) -> str:
    """A marker that names one item and is no part of another's ("#7#" is not in "#77#")."""
    return f"#{index}#"


def long_name(index: int) -> str:
    mark = token(index)
    return LONG[: 64 - len(mark)] + mark


def member(index: int) -> Member:
    return Member(id=10_000_000_000 + index, first_name=long_name(index))


def group(index: int) -> Group:
    return Group(
        id=index + 1,
        key=f"g{index}",
        name=long_name(index),
        type=GroupType.STAMMTISCH,
        place=None,
        rule=None,
    )


def meeting(index: int, the_group: Group | None = None) -> Meeting:
    starts = NOW + timedelta(days=1, minutes=index)
    return Meeting(
        id=index + 1,
        group=the_group or group(index),
        group_id=(the_group or group(index)).id,
        occurrence=starts,
        starts_at=starts,
        status=MeetingStatus.SCHEDULED,
        place=None,
        note=None,
        capacity=None,
    )


def attendee(index: int, answer: RsvpAnswer = RsvpAnswer.YES) -> Attendee:
    return Attendee(
        member_id=index,
        first_name=long_name(index),
        answer=answer,
        guests=index % 3,
        waitlisted=False,
        first_time=index % 2 == 0,
    )


def answers() -> list[Attendee]:
    kinds = [RsvpAnswer.YES, RsvpAnswer.MAYBE]
    return [attendee(index, kinds[index % 2]) for index in range(MANY)]


@dataclass(frozen=True)
class Case:
    """One listing: how to render all its messages or pages, and whether all items show."""

    name: str
    render: Callable[[], Sequence[Message]]
    complete: bool = True


def _one(message: Message | tuple[str, None]) -> list[Message]:
    return [message]


CASES = [
    Case("newcomer digest", lambda: newcomer_digest([member(i) for i in range(MANY)], 14)),
    Case(
        "host daily summary",
        lambda: [
            (text, None)
            for text in host_notice_views.daily_summary(
                [
                    MeetingAnswers(meeting(m), answers()[m * 100 : (m + 1) * 100], Counts())
                    for m in range(5)
                ],
                ZONE,
            )
        ],
    ),
    Case(
        "host list the day before",
        lambda: [
            (text, None)
            for text in host_notice_views.day_list(
                MeetingAnswers(meeting(0), answers(), Counts(yes=250, maybe=250)), ZONE
            )
        ],
    ),
    Case(
        "/rollen",
        lambda: [
            (text, None)
            for text in admin_views.role_list(
                [
                    admin_views.role_line(member(i), {Role.ORGANISER, Role.HOST}, configured=False)
                    for i in range(MANY)
                ]
            )
        ],
    ),
    Case(
        "broadcast: who wasn't reached",
        lambda: [
            (text, None)
            for text in broadcast_views.unreached_text(7, [member(i) for i in range(MANY)])
        ],
    ),
    Case(
        "host meeting screen",
        lambda: host_views.meeting_pages(
            meeting(0, group(0)),
            Counts(yes=250, maybe=250),
            answers(),
            ZONE,
            can_post=True,
            now=NOW,
        ),
    ),
]


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n("de")


def _check(message: Message) -> str:
    text, keyboard = message
    parsed = parse_html(text)
    assert not [problem for problem in parsed.problems if problem.fatal], parsed.problems
    visible = parsed.text.strip()
    assert visible
    assert utf16_len(visible) <= fmt.TEXT_LIMIT
    assert fmt.visible_length(text) == utf16_len(visible)
    if keyboard is not None:
        buttons = [button for row in keyboard.inline_keyboard for button in row]
        assert len(buttons) <= fmt.KEYBOARD_LIMIT
        for button in buttons:
            assert button.text.strip()
            if button.callback_data is not None:
                assert 1 <= len(button.callback_data.encode()) <= fmt.CALLBACK_DATA_LIMIT
    return visible


@pytest.mark.parametrize("locale", ["de", "en"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_listing_of_500_stays_within_telegrams_limits(
    i18n: I18n, case: Case, locale: str
) -> None:
    with i18n.context(), i18n.use_locale(locale):
        messages = list(case.render())
    assert messages
    seen = "\n".join(_check(message) for message in messages)
    if case.complete:
        missing = [index for index in range(MANY) if token(index) not in seen]
        assert missing == [], f"{len(missing)} of {MANY} items missing"


def test_split_message_keeps_items_whole_and_in_order() -> None:
    items = [f"<b>{index}</b> &amp; 🌻" for index in range(1000)]
    parts = fmt.split_message("<i>Head</i>", items, tail="<i>end</i>", limit=200)
    assert all(fmt.visible_length(text) <= 200 for text, _run in parts)
    assert [index for _text, run in parts for index in run] == list(range(1000))
    assert all(text.startswith("<i>Head</i>\n") for text, _run in parts)
    assert parts[-1][0].endswith("\n<i>end</i>")


def test_an_item_longer_than_a_message_is_cut_as_plain_text() -> None:
    [(text, run)] = fmt.split_message("Head", ["<b>" + "&lt;🌻" * 3000 + "</b>"], limit=100)
    assert fmt.visible_length(text) <= 100
    assert not parse_html(text).problems
    assert list(run) == [0]


def test_visible_length_counts_utf16_after_entities() -> None:
    assert fmt.visible_length("<b>a&amp;b</b> 🌻\n") == 6
    assert fmt.visible_length('<a href="https://x.org/?a=1&amp;b=2">x</a>') == 1


@pytest.mark.parametrize("lengths", [[], [5], [100, 1, 1], [10] * 50])
def test_pack_puts_every_item_in_exactly_one_run(lengths: list[int]) -> None:
    runs = fmt.pack(lengths, budget=30, max_items=4)
    assert [index for run in runs for index in run] == list(range(len(lengths)))
    for run in runs:
        assert len(run) <= 4
        assert len(run) == 1 or sum(lengths[i] for i in run) + len(run) - 1 <= 30
