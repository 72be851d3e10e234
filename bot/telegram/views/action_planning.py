"""Planning field actions in the chat (organisers, and hosts they allow): the menu, the staffing
overview, one date to manage, the new action's conversation, and who may plan.

Every screen renders in the current i18n locale; titles, places, labels, notes and names are
what people typed and are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_skeleton, format_time

from bot.services.field_actions import DateStaffing, PlannedShift, ShiftStaffing, When
from bot.services.help_calls import CallStats
from bot.services.recurrence import parse_rule
from bot.telegram.callbacks import PlanAct, PlanCallback
from bot.telegram.format import (
    TEXT_LIMIT,
    describe_rule,
    esc,
    formatting_locale,
    names_within,
    number,
    visible_length,
)
from bot.telegram.labels import action_kind_label
from models import ActionKind, Campaign, District, Member, Shift
from models.field_action import LABEL_LENGTH, MATERIAL_LENGTH, MAX_NEEDED, MAX_SHIFTS, PLACE_LENGTH
from models.kv import NAME_LENGTH

WARN = "⚠️"
FULL = "✅"
# A page of the staffing overview stays well under Telegram's 4096 characters, and its date
# buttons under a size one can scan.
PAGE_CHARS = 3500
PAGE_DATES = 10
BUTTON_TITLE = 32
KINDS = tuple(ActionKind)
MAX_LISTED_HOSTS = 90
# Stadtteile and campaigns offered as buttons (a keyboard holds at most 100); as many
# Stadtteile as a KV may have (bot.services.kv_setup.schema.MAX_ENTRIES).
MAX_CHOICES = 90


def plan_button(
    text: str,
    act: PlanAct,
    *,
    date_id: int = 0,
    shift_id: int = 0,
    member_id: int = 0,
    value: int = 0,
    page: int = 0,
) -> InlineKeyboardButton:
    """A button of the planner's screens."""
    data = PlanCallback(
        act=act, date_id=date_id, shift_id=shift_id, member_id=member_id, value=value, page=page
    )
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _keyboard(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(row) for row in rows if row])


def _short(text: str, limit: int = BUTTON_TITLE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _day(day: date, zone: ZoneInfo) -> str:
    return format_skeleton("MMMEd", day, locale=formatting_locale(zone))


def _clock(value: time, zone: ZoneInfo) -> str:
    return format_time(value, format="short", locale=formatting_locale(zone))


def _span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    return (
        f"{_clock(start.astimezone(zone).time(), zone)}–{_clock(end.astimezone(zone).time(), zone)}"
    )


def _shift_name(shift: Shift, zone: ZoneInfo) -> str:
    span = _span(shift.starts_at, shift.ends_at, zone)
    return f"{span} {esc(shift.label)}" if shift.label else span


def _planned_name(item: PlannedShift, zone: ZoneInfo) -> str:
    span = f"{_clock(item.start, zone)}–{_clock(item.end, zone)}"
    return f"{span} {esc(item.label)}" if item.label else span


def _first_name(member: Member) -> str:
    return member.first_name or _("ID {id}").format(id=member.id)


# --- refusals --------------------------------------------------------------------------------


def not_planner() -> str:
    """Someone without a planner's role pressed or typed a planner's command or button."""
    return _("Sorry, only organisers (and hosts they allow) can plan actions.")


def not_allowed() -> str:
    """A host whom no organiser allowed to plan actions yet."""
    return _(
        "You can't plan info stands and door-to-door rounds yet. An organiser can allow you: "
        "ask them to."
    )


def refusal(reason: str) -> str:
    """Why a planner's press or typed answer was refused."""
    texts = {
        "not_allowed": not_allowed,
        "not_yours": lambda: _("Only organisers and whoever planned this action can change it."),
        "not_organiser": lambda: _("Only organisers can allow hosts to plan actions."),
        "not_host": lambda: _("That person is no host (any more)."),
        "past": lambda: _("That is over already."),
        "cancelled": lambda: _("This date was called off."),
        "needed": lambda: _("Send a number from 1 to {limit}.").format(limit=MAX_NEEDED),
        "too_far": lambda: _("That is too far ahead (at most a year)."),
        "step": step_closed,
    }
    text = texts.get(reason)
    if text is not None:
        return text()
    return _("This action or date is no longer there. /plan_actions shows the current ones.")


def step_closed() -> str:
    """A button of a step that ended meanwhile."""
    return _("This step is over. /plan_actions starts again.")


# --- the menu --------------------------------------------------------------------------------


def menu(*, can_allow: bool) -> tuple[str, InlineKeyboardMarkup]:
    """What a planner can do."""
    rows = [
        [plan_button(_("➕ New action"), PlanAct.NEW)],
        [plan_button(_("📋 Staffing"), PlanAct.STAFFING)],
    ]
    if can_allow:
        rows.append([plan_button(_("👥 Allow hosts"), PlanAct.PLANNERS)])
    text = _(
        "<b>Plan actions</b>\n\nCreate an info stand or a door-to-door round, see how every "
        "upcoming date is staffed, change how many people a shift needs, or call off a date."
    )
    return text, _keyboard(rows)


# --- staffing --------------------------------------------------------------------------------


def _staffing_line(item: ShiftStaffing, zone: ZoneInfo) -> str:
    mark = f" {WARN}" if item.missing else f" {FULL}"
    counts = f"{number(item.filled)}/{number(item.shift.needed)}"
    return f"  {_shift_name(item.shift, zone)}: {counts}{mark}"


def staffing_block(item: DateStaffing, zone: ZoneInfo) -> str:
    """One date of the overview: title, day, and each shift with filled/needed."""
    action = item.action_date.action
    lines = [f"<b>{esc(action.title)}</b> · {_day(item.action_date.day, zone)}"]
    lines += [_staffing_line(shift, zone) for shift in item.shifts]
    return "\n".join(lines)


def staffing_pages(items: Sequence[DateStaffing], zone: ZoneInfo) -> list[list[int]]:
    """The overview split into pages (indexes into `items`), each short enough for one
    message."""
    pages: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, item in enumerate(items):
        length = visible_length(staffing_block(item, zone)) + 2
        if current and (size + length > PAGE_CHARS or len(current) >= PAGE_DATES):
            pages.append(current)
            current, size = [], 0
        current.append(index)
        size += length
    if current:
        pages.append(current)
    return pages


def staffing(
    items: Sequence[DateStaffing],
    *,
    page: int,
    zone: ZoneInfo,
    manageable: frozenset[int],
    pages: list[list[int]] | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """Every upcoming date with the staffing of its shifts, one page; a button per date the
    planner may manage. `pages`: staffing_pages(items), when the caller has them already."""
    back = [plan_button(_("« Plan actions"), PlanAct.MENU)]
    if not items:
        text = _("<b>Staffing</b>\n\nNo info stands or door-to-door rounds in the next 8 weeks.")
        return text, _keyboard([[plan_button(_("➕ New action"), PlanAct.NEW)], back])
    pages = pages or staffing_pages(items, zone)
    page = min(max(page, 0), len(pages) - 1)
    shown = [items[index] for index in pages[page]]
    missing = sum(1 for item in items if any(shift.missing for shift in item.shifts))
    header = ngettext(
        "<b>Staffing</b> of {count} date in the next 8 weeks",
        "<b>Staffing</b> of {count} dates in the next 8 weeks",
        len(items),
    ).format(count=number(len(items)))
    if missing:
        header += "\n" + ngettext(
            "{icon} {count} date still lacks people",
            "{icon} {count} dates still lack people",
            missing,
        ).format(icon=WARN, count=number(missing))
    if len(pages) > 1:
        header += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=len(pages))
    text = header + "\n\n" + "\n\n".join(staffing_block(item, zone) for item in shown)
    rows: list[list[InlineKeyboardButton]] = []
    for item in shown:
        row = item.action_date
        if row.id not in manageable:
            continue
        mark = WARN + " " if any(shift.missing for shift in item.shifts) else ""
        label = f"{mark}{_day(row.day, zone)} {_short(row.action.title)}"
        rows.append([plan_button(label, PlanAct.DATE, date_id=row.id)])
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(plan_button(_("◀ Earlier"), PlanAct.STAFFING, page=page - 1))
    if page + 1 < len(pages):
        nav.append(plan_button(_("Later ▶"), PlanAct.STAFFING, page=page + 1))
    rows.append(nav)
    rows.append(back)
    return text, _keyboard(rows)


# --- one date --------------------------------------------------------------------------------


def _names(members: Sequence[Member], budget: int) -> str:
    return names_within([esc(_first_name(member)) for member in members], budget)


def calls_line(stats: CallStats, budget: int = TEXT_LIMIT // 2) -> str:
    """ "5 asked, of them signed up: Anna, Ben"."""
    asked = ngettext(
        "{count} asked by a call for help", "{count} asked by calls for help", stats.asked
    )
    asked = asked.format(count=number(stats.asked))
    if not stats.answered:
        return "📣 " + _("{asked}, nobody signed up through one yet").format(asked=asked)
    names = _names(stats.answered, budget)
    return "📣 " + _("{asked}, of them signed up: {names}").format(asked=asked, names=names)


def date_screen(
    item: DateStaffing,
    *,
    people: dict[int, list[Member]],
    calls: dict[int, CallStats],
    zone: ZoneInfo,
    now: datetime,
) -> tuple[str, InlineKeyboardMarkup]:
    """One date as its planner manages it: who holds each shift, the calls for help, and the
    buttons to change people needed or to call the date off."""
    row = item.action_date
    action = row.action
    lines = [
        f"<b>{esc(action.title)}</b> ({action_kind_label(action.kind)})",
        f"{_day(row.day, zone)} · {esc(action.place)}",
    ]
    if action.district is not None:
        lines.append(_("Stadtteil: {value}").format(value=esc(action.district.name)))
    if action.material:
        lines.append(_("Material: {notes}").format(notes=esc(action.material)))
    if row.cancelled:
        lines.append("❌ " + _("<b>Called off.</b> Everyone on a shift was told."))
    rows: list[list[InlineKeyboardButton]] = []
    # The names share what the rest leaves of a message, shift by shift (50 people with long
    # names on each of 8 shifts would not fit).
    share = (TEXT_LIMIT - visible_length("\n".join(lines)) - 100 * (len(item.shifts) + 1)) // max(
        len(item.shifts), 1
    )
    for staffed in item.shifts:
        shift = staffed.shift
        mark = WARN if staffed.missing else FULL
        lines.append("")
        counts = f"{number(staffed.filled)}/{number(shift.needed)}"
        lines.append(f"<b>{_shift_name(shift, zone)}</b> · {counts} {mark}")
        holders = people.get(shift.id, [])
        lines.append(_names(holders, share * 2 // 3) if holders else _("nobody yet"))
        if shift.id in calls:
            lines.append(calls_line(calls[shift.id], share // 3))
        if row.cancelled or shift.starts_at <= now:
            continue
        buttons = []
        if shift.needed > 1:
            buttons.append(
                plan_button("➖", PlanAct.NEEDED, shift_id=shift.id, value=shift.needed - 1)
            )
        buttons.append(
            plan_button(
                _("{time}: {needed} needed ✏️").format(
                    time=_span(shift.starts_at, shift.ends_at, zone), needed=shift.needed
                ),
                PlanAct.SHIFT,
                shift_id=shift.id,
            )
        )
        if shift.needed < MAX_NEEDED:
            buttons.append(
                plan_button("➕", PlanAct.NEEDED, shift_id=shift.id, value=shift.needed + 1)
            )
        rows.append(buttons)
    if not row.cancelled and row.shifts and row.shifts[-1].ends_at > now:
        rows.append([plan_button(_("❌ Call off this date"), PlanAct.CANCEL_DATE, date_id=row.id)])
    rows.append([plan_button(_("« Staffing"), PlanAct.STAFFING)])
    return "\n".join(lines), _keyboard(rows)


def cancel_question(
    row_day: date, title: str, told: int, date_id: int, zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    """Ask before calling off a date, saying how many will be told."""
    text = _("Call off <b>{title}</b> on {day}?").format(title=esc(title), day=_day(row_day, zone))
    if told:
        text += "\n" + ngettext(
            "{count} person on its shifts will be told.",
            "{count} people on its shifts will be told.",
            told,
        ).format(count=number(told))
    else:
        text += "\n" + _("Nobody has signed up yet.")
    rows = [
        [plan_button(_("Yes, call it off"), PlanAct.CANCEL_DATE_OK, date_id=date_id)],
        [plan_button(_("No, keep it"), PlanAct.DATE, date_id=date_id)],
    ]
    return text, _keyboard(rows)


def cancelled(told: int) -> str:
    """The answer to calling a date off."""
    return ngettext(
        "Called off. {count} person will be told.", "Called off. {count} people will be told.", told
    ).format(count=number(told))


def ask_needed(shift: Shift, zone: ZoneInfo) -> str:
    """Ask for the number of people a shift needs."""
    return _(
        "How many people does the shift {shift} need? It needs {needed} now. "
        "Send a number from 1 to {limit}."
    ).format(shift=_shift_name(shift, zone), needed=shift.needed, limit=MAX_NEEDED)


def needed_set(shift: Shift, zone: ZoneInfo) -> str:
    """The answer to changing the people needed."""
    return ngettext(
        "{shift} now needs {count} person.", "{shift} now needs {count} people.", shift.needed
    ).format(shift=_shift_name(shift, zone), count=number(shift.needed))


def needed_invalid() -> str:
    """A typed number of people that isn't one."""
    return _("Send a number from 1 to {limit}.").format(limit=MAX_NEEDED)


# --- a new action ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preset:
    """A ready-made shift plan offered as a button."""

    name: str
    shifts: tuple[PlannedShift, ...]


def presets() -> tuple[Preset, ...]:
    """The shift plans offered as buttons, labels in the current locale."""
    setup, teardown = _("Setup"), _("Teardown")
    return (
        Preset(
            _("Info stand 10–16, 3 shifts"),
            (
                PlannedShift(time(9, 30), time(10), 2, setup),
                PlannedShift(time(10), time(12), 3),
                PlannedShift(time(12), time(14), 3),
                PlannedShift(time(14), time(16), 3),
                PlannedShift(time(16), time(16, 30), 2, teardown),
            ),
        ),
        Preset(
            _("Info stand 10–13, 1 shift"),
            (
                PlannedShift(time(9, 30), time(10), 2, setup),
                PlannedShift(time(10), time(13), 3),
                PlannedShift(time(13), time(13, 30), 2, teardown),
            ),
        ),
        Preset(_("Door-to-door round 17–19"), (PlannedShift(time(17), time(19), 4),)),
    )


def ask_kind() -> tuple[str, InlineKeyboardMarkup]:
    """The first step: which kind of action."""
    rows = [
        [plan_button(action_kind_label(kind), PlanAct.KIND, value=index)]
        for index, kind in enumerate(KINDS)
    ]
    text = _("<b>New action</b> (step 1 of 8)\n\nWhat kind of action? (/cancel stops here)")
    return text, _keyboard(rows)


def chosen(what: str, value: str) -> str:
    """A step's message once answered: what was chosen (already escaped)."""
    return f"{what}: <b>{value}</b>"


def kind_word() -> str:
    """The step's name in the answered message."""
    return _("Kind")


def ask_title() -> str:
    """Step 2: the title."""
    return _(
        "<b>New action</b> (step 2 of 8)\n\nWhat is it called? Send a short title, e.g. "
        "“Infostand Marktplatz” or “Haustür-Runde Nordviertel”."
    )


def ask_place() -> str:
    """Step 3: where."""
    return _(
        "<b>New action</b> (step 3 of 8)\n\nWhere? Send the place of the stand or the area of "
        "the round (streets, a quarter)."
    )


def ask_district(districts: Sequence[District]) -> tuple[str, InlineKeyboardMarkup]:
    """Step 4: the Stadtteil, or none."""
    rows = [
        [plan_button(_short(district.name, 40), PlanAct.DISTRICT, value=district.id)]
        for district in districts[:MAX_CHOICES]
    ]
    rows.append([plan_button(_("No Stadtteil"), PlanAct.DISTRICT, value=0)])
    text = _("<b>New action</b> (step 4 of 8)\n\nIn which Stadtteil?")
    return text, _keyboard(rows)


def district_word() -> str:
    """The step's name in the answered message."""
    return _("Stadtteil")


def ask_campaign(campaigns: Sequence[Campaign]) -> tuple[str, InlineKeyboardMarkup]:
    """Step 5: the campaign, or none."""
    rows = [
        [plan_button(_short(campaign.name, 40), PlanAct.CAMPAIGN, value=campaign.id)]
        for campaign in campaigns[:MAX_CHOICES]
    ]
    rows.append([plan_button(_("No campaign"), PlanAct.CAMPAIGN, value=0)])
    text = _(
        "<b>New action</b> (step 5 of 8)\n\nPart of a campaign? Repeating dates stay within the "
        "campaign's period."
    )
    return text, _keyboard(rows)


def campaign_word() -> str:
    """The step's name in the answered message."""
    return _("Campaign")


def shifts_word() -> str:
    """The step's name in the answered message."""
    return _("Shifts")


def use_buttons() -> str:
    """Text typed where a step wants a button."""
    return _("Please choose with the buttons above (or /cancel).")


def none_word() -> str:
    """What was chosen when nothing was."""
    return _("none")


def ask_when() -> str:
    """Step 6: one day or a rule with an optional period."""
    return _(
        "<b>New action</b> (step 6 of 8)\n\nWhen? Send one day, e.g. “Sat 12.12.”, “12.12.2026” "
        "or “tomorrow”, or a rule, e.g. “every Saturday”, optionally with a period: "
        "“every Saturday 1.12.-28.2.”."
    )


def ask_shifts() -> tuple[str, InlineKeyboardMarkup]:
    """Step 7: the shifts, typed or a preset."""
    rows = [
        [plan_button(preset.name, PlanAct.PRESET, value=index)]
        for index, preset in enumerate(presets())
    ]
    text = _(
        "<b>New action</b> (step 7 of 8)\n\nWhich shifts? Send each as start-end, an optional "
        "name, and how many people it needs, separated by commas, e.g.\n"
        "<code>9:30-10 Setup 2, 10-12 3, 12-14 3</code>\n"
        "or pick a plan:"
    )
    return text, _keyboard(rows)


def ask_material() -> tuple[str, InlineKeyboardMarkup]:
    """Step 8: material notes, or skip."""
    text = _(
        "<b>New action</b> (step 8 of 8)\n\nAnything to bring or pick up (material notes)? "
        "Send it, or skip."
    )
    return text, _keyboard([[plan_button(_("Skip"), PlanAct.SKIP)]])


def when_text(when: When, zone: ZoneInfo) -> str:
    """A day or a rule with its period, in words."""
    if when.on_day is not None:
        return _day(when.on_day, zone)
    assert when.rule is not None
    try:
        text = describe_rule(parse_rule(when.rule), zone)
    except ValueError:
        text = esc(when.rule)
    if when.starts_on is not None and when.ends_on is not None:
        text += ", " + _("{start} to {end}").format(
            start=_day(when.starts_on, zone), end=_day(when.ends_on, zone)
        )
    return text


def shifts_text(plan: Sequence[PlannedShift], zone: ZoneInfo) -> str:
    """The shift plan, one line per shift."""
    return "\n".join(
        ngettext("  {shift}: {count} person", "  {shift}: {count} people", item.needed).format(
            shift=_planned_name(item, zone), count=number(item.needed)
        )
        for item in plan
    )


def summary(
    *,
    kind: ActionKind,
    title: str,
    place: str,
    district: str | None,
    campaign: str | None,
    when: When,
    plan: Sequence[PlannedShift],
    material: str | None,
    zone: ZoneInfo,
) -> tuple[str, InlineKeyboardMarkup]:
    """Everything entered, with the button to save it."""
    lines = [
        _("<b>New action: please check</b>"),
        "",
        f"{action_kind_label(kind)}: <b>{esc(title)}</b>",
        _("Where: {place}").format(place=esc(place)),
        _("Stadtteil: {value}").format(value=esc(district) if district else none_word()),
        _("Campaign: {name}").format(name=esc(campaign) if campaign else none_word()),
        _("When: {when}").format(when=when_text(when, zone)),
        _("Shifts:"),
        shifts_text(plan, zone),
    ]
    if material:
        lines.append(_("Material: {notes}").format(notes=esc(material)))
    lines += ["", _("Save it? /cancel throws the draft away.")]
    return "\n".join(lines), _keyboard([[plan_button(_("💾 Save"), PlanAct.SAVE)]])


def saved(
    title: str, items: Sequence[DateStaffing], zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    """The answer to saving: the new action's first dates and their staffing."""
    lines = [_("Saved: <b>{title}</b>.").format(title=esc(title))]
    if items:
        lines.append(
            ngettext("Its first date:", "Its first {count} dates:", len(items)).format(
                count=len(items)
            )
        )
        lines += [staffing_block(item, zone) for item in items]
    else:
        lines.append(_("It has no date in the next 8 weeks yet."))
    rows = [
        [
            plan_button(
                _("Manage {day}").format(day=_day(item.action_date.day, zone)),
                PlanAct.DATE,
                date_id=item.action_date.id,
            )
        ]
        for item in items[:1]
    ]
    rows.append([plan_button(_("« Plan actions"), PlanAct.MENU)])
    return "\n\n".join(lines), _keyboard(rows)


def input_error(reason: str, part: str = "") -> str:
    """Why a typed answer of the new action's conversation can't be used; the step waits."""
    limited = _limit_error(reason, esc(part))
    if limited is not None:
        return limited
    texts = {
        "format": lambda: _(
            "I can't read “{part}”. Write each shift as start-end, an optional name and the "
            "number of people, e.g. <code>10-12 3</code>."
        ),
        "time": lambda: _("“{part}” has a time I can't read. Write e.g. 9:30 or 10."),
        "reversed": lambda: _("The shift “{part}” ends before it starts."),
        "overlap": lambda: _("The shift “{part}” overlaps the one before it."),
        "past": lambda: _("The first shift on that day has already begun. Send a later day."),
        "too_far": lambda: _("That is too far ahead (at most a year). Send an earlier day."),
        "rule": lambda: _("I can't read that rule. Send e.g. “every Saturday”."),
        "period": lambda: _("The period ends before it starts."),
        "rule_time": lambda: _(
            "Leave the time out of the rule (e.g. “every Saturday”): the shifts give the times."
        ),
        "campaign": lambda: _("That day lies outside the campaign's period. Send a day within it."),
        "when": lambda: _("Send one day, or a rule with an optional period."),
        "when_long": lambda: _("That is too long. Send one day or a rule."),
    }
    text = texts.get(reason, lambda: _("That doesn't work. Please try again."))()
    return text.format(part=esc(part))


def _limit_error(reason: str, quoted: str) -> str | None:
    """The refusals that name a limit (in plural forms); `quoted` is the escaped part."""
    if reason == "title":
        text = ngettext(
            "Send a title of 1 to {limit} character.",
            "Send a title of 1 to {limit} characters.",
            NAME_LENGTH,
        )
        return text.format(limit=NAME_LENGTH, part=quoted)
    if reason == "place":
        text = ngettext(
            "Send a place of 1 to {limit} character.",
            "Send a place of 1 to {limit} characters.",
            PLACE_LENGTH,
        )
        return text.format(limit=PLACE_LENGTH, part=quoted)
    if reason == "material":
        text = ngettext(
            "Material notes can be at most {limit} character long.",
            "Material notes can be at most {limit} characters long.",
            MATERIAL_LENGTH,
        )
        return text.format(limit=MATERIAL_LENGTH, part=quoted)
    if reason == "needed":
        text = ngettext(
            "A shift needs 1 to {limit} person (“{part}”).",
            "A shift needs 1 to {limit} people (“{part}”).",
            MAX_NEEDED,
        )
        return text.format(limit=MAX_NEEDED, part=quoted)
    if reason == "label":
        text = ngettext(
            "The name of the shift “{part}” is too long (at most {limit} character).",
            "The name of the shift “{part}” is too long (at most {limit} characters).",
            LABEL_LENGTH,
        )
        return text.format(limit=LABEL_LENGTH, part=quoted)
    if reason in {"shifts", "too_long"}:
        text = ngettext("Send 1 to {limit} shift.", "Send 1 to {limit} shifts.", MAX_SHIFTS)
        return text.format(limit=MAX_SHIFTS, part=quoted)
    return None


def when_error(message: str) -> str:
    """A day, rule or period that can't be read; the parser's message quotes what was typed."""
    return _(
        "{problem}\nPlease try again, e.g. “Sat 12.12.” or “every Saturday 1.12.-28.2.”."
    ).format(problem=esc(message))


# --- who may plan ----------------------------------------------------------------------------


def planners(hosts: Sequence[tuple[Member, bool]]) -> tuple[str, InlineKeyboardMarkup]:
    """The hosts, each with a toggle allowing them to plan actions."""
    back = [plan_button(_("« Plan actions"), PlanAct.MENU)]
    if not hosts:
        return _("<b>Allow hosts</b>\n\nThere are no hosts yet."), _keyboard([back])
    allowed = sum(1 for _member, ok in hosts if ok)
    text = (
        _(
            "<b>Allow hosts</b> to plan info stands and door-to-door rounds: tap a name to allow "
            "or stop it."
        )
        + "\n"
        + ngettext(
            "{count} of {total} host may plan actions.",
            "{count} of {total} hosts may plan actions.",
            len(hosts),
        ).format(count=number(allowed), total=number(len(hosts)))
    )
    rows = [
        [
            plan_button(
                "{mark} {name}".format(
                    mark="✅" if ok else "⬜", name=_short(_first_name(member), 40)
                ),
                PlanAct.PLANNER,
                member_id=member.id,
                value=0 if ok else 1,
            )
        ]
        for member, ok in hosts[:MAX_LISTED_HOSTS]
    ]
    rows.append(back)
    return text, _keyboard(rows)


def planner_changed(member: Member, allowed: bool) -> str:
    """The answer to a toggle."""
    if allowed:
        return _("{name} may plan actions now.").format(name=_first_name(member))
    return _("{name} may no longer plan actions.").format(name=_first_name(member))
