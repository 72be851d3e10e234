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
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.i18n import create_i18n
from bot.outbox.rendering import Parts
from bot.outbox.sending import attempt
from bot.services import data_export
from bot.services.audit import Shown
from bot.services.broadcasts import Progress
from bot.services.calendar import CalendarDate
from bot.services.directory import ListedGroup
from bot.services.field_actions import DateStaffing, ShiftStaffing
from bot.services.host_notices import MeetingAnswers
from bot.services.kv_setup import SetupInvalidError, load_setup
from bot.services.kv_setup.schema import MAX_ENTRIES
from bot.services.newcomer_digest import PAGE_SIZE as DIGEST_PAGE_SIZE
from bot.services.newcomer_digest import DigestPage, Newcomer
from bot.services.pacing import Outcome, RetryPolicy
from bot.services.rsvp import Attendee, Counts
from bot.services.shift_reminders import EVENING, ShiftReminder
from bot.telegram import format as fmt
from bot.telegram.views import action_planning as planning_views
from bot.telegram.views import actions as action_views
from bot.telegram.views import admin as admin_views
from bot.telegram.views import audit as audit_views
from bot.telegram.views import broadcast as broadcast_views
from bot.telegram.views import calendar as calendar_views
from bot.telegram.views import founding as founding_views
from bot.telegram.views import groups as group_views
from bot.telegram.views import host_notices as host_notice_views
from bot.telegram.views import hosts as host_views
from bot.telegram.views import meeting_posts as post_views
from bot.telegram.views import meetings as meeting_views
from bot.telegram.views import memorials as memorial_views
from bot.telegram.views import privacy as privacy_views
from bot.telegram.views.newcomers import newcomer_digest
from bot.telegram.views.shift_reminders import shift_reminder as shift_reminder_view
from models import (
    ActionDate,
    ActionKind,
    ActionStatus,
    Attendance,
    AuditEntry,
    Broadcast,
    Campaign,
    Category,
    District,
    FieldAction,
    Group,
    GroupType,
    Meeting,
    MeetingStatus,
    Member,
    Memorial,
    MemorialDate,
    Role,
    RsvpAnswer,
    Shift,
)
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


def district(index: int) -> District:
    return District(id=index + 1, key=f"d{index}", name=long_name(index))


def campaign(index: int) -> Campaign:
    return Campaign(id=index + 1, key=f"c{index}", name=long_name(index))


def shift(index: int, needed: int = 2) -> Shift:
    action = FieldAction(
        id=index + 1,
        kind=ActionKind.INFOSTAND,
        title=long_name(index),
        place=LONG * 3,
        material=None,
        district=None,
        campaign=None,
    )
    day = (NOW + timedelta(days=1 + index // 8)).date()
    row = ActionDate(id=index + 1, action=action, day=day, status=ActionStatus.SCHEDULED)
    starts = NOW + timedelta(days=1 + index // 8, hours=index % 8)
    the_shift = Shift(
        id=index + 1,
        action_date_id=row.id,
        action_date=row,
        label=None,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        needed=needed,
    )
    row.shifts = [the_shift]
    return the_shift


def memorial_date(index: int) -> MemorialDate:
    memorial = Memorial(id=index + 1, key=f"m{index}", name=long_name(index), rule="", rrule="")
    return MemorialDate(
        id=index + 1,
        memorial=memorial,
        day=date(2027, 1, 1) + timedelta(days=index),
        event_starts_at=NOW + timedelta(days=index),
        event_place=LONG,
    )


def attendance(answer: RsvpAnswer) -> Attendance:
    return Attendance(answer=answer, guests=0, waitlisted=False)


def my_data() -> list[Message]:
    person = member(0)
    kinds = ["yes", "maybe", "no"]
    data = data_export.MemberData(
        exported_at=NOW,
        account=data_export.Account(
            id=person.id,
            first_name=person.first_name,
            username=None,
            language="de",
            telegram_language=None,
            reachable=True,
            created_at=NOW,
            last_seen_at=NOW,
        ),
        profile=None,
        groups=[data_export.Joined(group=long_name(i), joined_at=NOW) for i in range(MANY)],
        meeting_answers=[
            data_export.MeetingAnswer(
                group=long_name(i),
                starts_at=NOW + timedelta(days=1, minutes=i),
                cancelled=False,
                answer=kinds[i % 3],
                guests=i % 2,
                waitlisted=False,
                answered_at=NOW,
            )
            for i in range(MANY)
        ],
        memorial_answers=[
            data_export.MemorialReply(
                memorial=long_name(i),
                day=date(2027, 1, 1) + timedelta(days=i),
                answer="yes",
                answered_at=NOW,
            )
            for i in range(MANY)
        ],
    )
    return [(text, None) for text in privacy_views.my_data(data, ZONE)]


def date_screen() -> list[Message]:
    # As many shifts and people as a date can have, all with the longest names.
    first = shift(0, needed=50)
    row = first.action_date
    row.action.material = "Flyer & Plakate 🌻 " * 50
    shifts = [first] + [shift(index, needed=50) for index in range(1, 8)]
    for extra in shifts[1:]:
        extra.action_date = row
    row.shifts = shifts
    people = {
        each.id: [member(number * 50 + person) for person in range(50)]
        for number, each in enumerate(shifts)
    }
    item = DateStaffing(row, tuple(ShiftStaffing(each, 50) for each in shifts))
    text, keyboard = planning_views.date_screen(item, people=people, calls={}, zone=ZONE, now=NOW)
    return [(text, keyboard)]


def staffing_pages() -> list[Message]:
    items = []
    for index in range(MANY):
        the_shift = shift(index)
        items.append(DateStaffing(the_shift.action_date, (ShiftStaffing(the_shift, 1),)))
    manageable = frozenset(range(1, MANY + 1))
    pages = planning_views.staffing_pages(items, ZONE)
    return [
        planning_views.staffing(items, page=page, zone=ZONE, manageable=manageable, pages=pages)
        for page in range(len(pages))
    ]


def broadcast(index: int) -> Broadcast:
    return Broadcast(
        id=index + 1,
        content_type="text",
        summary=LONG + LONG[: 120 - len(LONG) - len(token(index))] + token(index),
        category=Category.ANNOUNCEMENTS,
        scheduled_at=NOW + timedelta(hours=index),
        opted_out=0,
    )


def broadcast_report() -> list[Message]:
    progress = Progress(
        total=MANY * 10,
        sent=0,
        blocked=0,
        failed=MANY * 10,
        cancelled=0,
        open=0,
        rate=0,
        remaining=None,
    )
    # Reasons as Telegram words them, each distinct; the report counts every failure.
    reasons = [(f"Bad Request: {LONG} {token(index)}", 10) for index in range(MANY)]
    text = broadcast_views.report_text(broadcast(0), progress, reasons, cancelled=False)
    return [(text, None)]


def shift_reminder() -> list[Message]:
    the_shift = shift(0, needed=50)
    the_shift.action_date.action.material = ("Flyer & Plakate 🌻 " * 60)[:1000]
    others = tuple(member(index) for index in range(49))
    reminder = ShiftReminder(the_shift, EVENING, others, missing=0)
    return [shift_reminder_view(reminder, ZONE, now=NOW)]


def newcomer_digest_page() -> list[Message]:
    """A middle page of the digest, the longest names and Stadtteile, every count shown."""
    newcomers = tuple(
        Newcomer(id=10_000_000_000 + i, first_name=long_name(i), weeks=9)
        for i in range(DIGEST_PAGE_SIZE)
    )
    page = DigestPage(
        total=100_000,
        days=365,
        districts=tuple(((LONG * 2)[:100], 10_000) for _ in range(5)),
        other_districts=10_000,
        no_district=10_000,
        weeks=tuple((weeks, 1_000) for weeks in range(52, 60)),
        newcomers=newcomers,
        page=3,
        pages=10_000,
        clamped=False,
    )
    return [newcomer_digest(page)]


@dataclass(frozen=True)
class Case:
    """One listing: how to render all its messages or pages, and whether all items show."""

    name: str
    render: Callable[[], Sequence[Message]]
    complete: bool = True


def _one(message: Message | tuple[str, None]) -> list[Message]:
    return [message]


CASES = [
    Case("newcomer digest (one page of many)", newcomer_digest_page, complete=False),
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
        "who a broadcast missed, some pruned",
        lambda: [
            (text, None)
            for text in broadcast_views.unreached_text(
                7, [member(i) for i in range(MANY)], pruned=MANY
            )
        ],
    ),
    Case(
        "/protokoll (every entry at once, longest names and subjects)",
        lambda: audit_views.log_page(
            [
                Shown(
                    AuditEntry(
                        action="attendee_list",
                        subject=(LONG * 3)[: 120 - len(token(i))] + token(i),
                        count=10_000,
                        at=datetime(2026, 12, 1, tzinfo=UTC),
                    ),
                    member(i),
                )
                for i in range(MANY)
            ],
            page=0,
            total=MANY,
            zone=ZONE,
        ),
    ),
    Case("privacy: my data", my_data),
    Case("shift reminder: who else is on it", shift_reminder, complete=False),
    Case(
        "/rundschreiben (scheduled and sent broadcasts)",
        lambda: broadcast_views.overview(
            [broadcast(i) for i in range(MANY - 3)],
            [broadcast(i) for i in range(MANY - 3, MANY)],
            ZONE,
        ),
    ),
    Case("broadcast report: failure reasons", broadcast_report, complete=False),
    Case("action planning: one date's people", date_screen, complete=False),
    Case(
        "my groups",
        lambda: group_views.my_group_pages(
            [ListedGroup(group(i), (meeting(i),)) for i in range(MANY)], ZONE
        ),
    ),
    Case(
        "/termine (the next meetings)",
        lambda: [
            meeting_views.dates([meeting(i) for i in range(MANY)], {}, can_answer=True, zone=ZONE)
        ],
        complete=False,
    ),
    Case(
        "/termine in a group chat",
        lambda: [
            post_views.group_dates(
                [meeting(i) for i in range(MANY)],
                ZONE,
                group_name=None,
                private_url="https://t.me/bot",
            )
        ],
        complete=False,
    ),
    Case(
        "/kalender",
        lambda: [
            calendar_views.overview(
                [CalendarDate(meeting(i), None) for i in range(MANY)],
                shown=MANY,
                zone=ZONE,
                can_subscribe=True,
                link=12345,
            )
        ],
        complete=False,
    ),
    Case(
        "/gedenktage",
        lambda: [memorial_views.listing([memorial_date(i) for i in range(MANY)], ZONE)],
        complete=False,
    ),
    Case(
        "founding: which Stadtteil",
        lambda: [founding_views.ask_district([district(i) for i in range(MANY)])],
        complete=False,
    ),
    Case(
        "action planning: which Stadtteil",
        lambda: [planning_views.ask_district([district(i) for i in range(MANY)])],
        complete=False,
    ),
    Case(
        "action planning: which campaign",
        lambda: [planning_views.ask_campaign([campaign(i) for i in range(MANY)])],
        complete=False,
    ),
    Case(
        "action planning: who may plan",
        lambda: [planning_views.planners([(member(i), i % 2 == 0) for i in range(MANY)])],
        complete=False,
    ),
    Case(
        "handover: pick the new host",
        lambda: [host_views.ask_new_host(group(0), [member(i) for i in range(MANY)])],
        complete=False,
    ),
    Case(
        "my shifts",
        lambda: action_views.my_shift_pages([(shift(i), False) for i in range(MANY)], ZONE),
    ),
    Case("staffing overview", staffing_pages),
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


@pytest.mark.parametrize("section", ["districts", "topics", "activity_types"])
def test_a_setup_file_keeps_choices_within_one_keyboard(section: str) -> None:
    # The intake, founding and action planning offer these as buttons, one each.
    def setup(count: int) -> str:
        entries = "\n".join(f"  - Eintrag {index}" for index in range(count))
        return f"name: KV Testhausen\n{section}:\n{entries}\n"

    assert len(getattr(load_setup(setup(MAX_ENTRIES)), section)) == MAX_ENTRIES
    with pytest.raises(SetupInvalidError) as caught:
        load_setup(setup(MAX_ENTRIES + 1))
    [error] = caught.value.errors
    assert f"at most {MAX_ENTRIES} entries" in error.message
    assert MAX_ENTRIES + 3 <= fmt.KEYBOARD_LIMIT


class _Telegram:
    """Takes messages, and answers 429 once at the `busy`-th one."""

    def __init__(self, busy: int) -> None:
        self.busy = busy
        self.calls = 0
        self.sent: list[str] = []

    async def send_message(self, chat_id: int, text: str, **_kwargs: object) -> None:
        self.calls += 1
        if self.calls == self.busy:
            raise TelegramRetryAfter(
                method=SendMessage(chat_id=chat_id, text=text),
                message="Too Many Requests: retry after 3",
                retry_after=3,
            )
        self.sent.append(text)


async def test_parts_resume_after_the_last_sent_part_when_telegram_says_wait() -> None:
    parts = Parts(tuple((f"part {index}", None) for index in range(4)))
    telegram = _Telegram(busy=3)
    first = await attempt(
        telegram,  # type: ignore[arg-type]
        1,
        parts,
        attempts=1,
        paid=False,
        policy=RetryPolicy(),
    )
    assert first.outcome is Outcome.RETRY_AFTER
    assert parts.sent == 2
    second = await attempt(
        telegram,  # type: ignore[arg-type]
        1,
        parts,
        attempts=1,
        paid=False,
        policy=RetryPolicy(),
    )
    assert second.outcome is Outcome.SENT
    # Every part once, in order: the two sent before the 429 were not repeated.
    assert telegram.sent == [f"part {index}" for index in range(4)]
