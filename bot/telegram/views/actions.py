"""/aktionen for members: the upcoming Infostände and door-to-door rounds, one date's card with
its shifts and the sign-up, cancel and swap buttons, the member's own shifts, and the notices
about field actions (a date called off, a swap, an emptied shift, one's offer taken over).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_skeleton, format_time

from bot.services.field_actions import ActionError, DateStaffing, Nearness, ShiftStaffing
from bot.services.shifts import ShiftError
from bot.telegram.callbacks import ActionAct, ActionCallback, PlanAct, PlanCallback
from bot.telegram.format import TEXT_LIMIT, esc, formatting_locale, pack, visible_length
from bot.telegram.labels import action_kind_label
from models import ActionDate, District, Shift, ShiftSwap

Screen = tuple[str, InlineKeyboardMarkup | None]

# Dates per page of the list.
PAGE_SIZE = 5
MINE, FULL, CANCELLED, SWAP = "✅", "⛔", "❌", "🔄"
# Telegram shows about this much of a button's label.
LABEL_MAX = 60


@dataclass(frozen=True, slots=True)
class CardShift:
    """One shift on a date's card, as the member sees it."""

    staffing: ShiftStaffing
    mine: bool = False
    # The member's own open offer for it, and the oldest open offer by someone else.
    my_offer: ShiftSwap | None = None
    other_offer: ShiftSwap | None = None
    # Not started yet: sign-ups and swaps still possible.
    open: bool = True


# --- pieces -------------------------------------------------------------------------------------


def _clock(moment: datetime, zone: ZoneInfo) -> str:
    return format_time(moment.astimezone(zone), format="short", locale=formatting_locale(zone))


def shift_times(shift: Shift, zone: ZoneInfo) -> str:
    """ "10:00–12:00" in the KV's zone."""
    return f"{_clock(shift.starts_at, zone)}–{_clock(shift.ends_at, zone)}"


def shift_name(shift: Shift, zone: ZoneInfo) -> str:
    """ "Aufbau 09:30–10:00", or the times alone for a shift without a label."""
    times = shift_times(shift, zone)
    return f"{esc(shift.label)} {times}" if shift.label else times


def short_day(day: date, zone: ZoneInfo) -> str:
    """ "Sa., 12. Dez." / "Sat, Dec 12"."""
    return format_skeleton("MMMEd", day, locale=formatting_locale(zone))


def long_day(day: date, zone: ZoneInfo) -> str:
    """ "Samstag, 12. Dezember 2026"."""
    return format_skeleton("yMMMMEEEEd", day, locale=formatting_locale(zone))


def _span(row: ActionDate, zone: ZoneInfo) -> str:
    if not row.shifts:
        return short_day(row.day, zone)
    first, last = row.shifts[0], row.shifts[-1]
    return _("{day}, {start}–{end}").format(
        day=short_day(row.day, zone),
        start=_clock(first.starts_at, zone),
        end=_clock(last.ends_at, zone),
    )


def _place(row: ActionDate) -> str:
    action = row.action
    if action.district is not None:
        return _("{place} ({district})").format(
            place=esc(action.place), district=esc(action.district.name)
        )
    return esc(action.place)


def free_places(free: int) -> str:
    """ "3 places left" or "full"."""
    if free <= 0:
        return _("all shifts are full")
    return ngettext("{n} place left", "{n} places left", free).format(n=free)


def _button(label: str, data: ActionCallback | PlanCallback) -> InlineKeyboardButton:
    if len(label) > LABEL_MAX:
        label = label[: LABEL_MAX - 1] + "…"
    return InlineKeyboardButton(text=label, callback_data=data.pack())


def _free(item: DateStaffing) -> int:
    return sum(shift.missing for shift in item.shifts)


# --- the list -----------------------------------------------------------------------------------


def _heading(nearness: Nearness, district: District) -> str:
    if nearness == Nearness.OWN:
        return _("<b>In {district}</b>").format(district=esc(district.name))
    if nearness == Nearness.NEIGHBOUR:
        return _("<b>Nearby</b>")
    return _("<b>Elsewhere</b>")


def board(
    entries: Sequence[tuple[Nearness, DateStaffing]],
    *,
    mine: set[int],
    district: District | None,
    page: int,
    can_sign_up: bool,
    zone: ZoneInfo,
) -> Screen:
    """The upcoming action dates, nearest Stadtteil first, one page; a button per date opens
    its card. `mine`: ids of dates where the member holds a shift."""
    if not entries:
        text = _("No info stands or door-to-door rounds are planned for the next eight weeks.")
        rows = [[_button(_("📋 My shifts"), ActionCallback(act=ActionAct.MINE))]]
        return text, InlineKeyboardMarkup(inline_keyboard=rows) if can_sign_up else None
    pages = (len(entries) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    shown = entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines = [_("<b>Info stands and door-to-door rounds</b>")]
    if pages > 1:
        lines[0] += " " + _("(page {page} of {pages})").format(page=page + 1, pages=pages)
    rows: list[list[InlineKeyboardButton]] = []
    current: Nearness | None = None
    for nearness, item in shown:
        if district is not None and nearness != current:
            lines += ["", _heading(nearness, district)]
            current = nearness
        elif district is None:
            lines.append("")
        row = item.action_date
        action = row.action
        mark = f"{MINE} " if row.id in mine else ""
        head = _("{mark}<b>{kind}</b>: {title}").format(
            mark=mark, kind=action_kind_label(action.kind), title=esc(action.title)
        )
        if action.campaign is not None:
            head += f" · {esc(action.campaign.name)}"
        lines.append(head)
        lines.append(f"🗓 {_span(row, zone)} · 📍 {_place(row)}")
        if row.cancelled:
            lines.append(f"{CANCELLED} " + _("called off"))
            continue
        lines.append(free_places(_free(item)))
        label = f"{mark}{short_day(row.day, zone)} · {action.title}"
        rows.append([_button(label, ActionCallback(act=ActionAct.DATE, date_id=row.id))])
    nav = []
    if page > 0:
        nav.append(_button(_("◀ Back"), ActionCallback(act=ActionAct.LIST, page=page - 1)))
    if page < pages - 1:
        nav.append(_button(_("More ▶"), ActionCallback(act=ActionAct.LIST, page=page + 1)))
    if nav:
        rows.append(nav)
    lines.append("")
    if can_sign_up:
        lines.append(_("Tap a date to see its shifts and sign up."))
        rows.append([_button(_("📋 My shifts"), ActionCallback(act=ActionAct.MINE))])
    else:
        lines.append(
            _("Tap a date to see its shifts. Once you have agreed in /start, you can sign up.")
        )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


# --- one date's card ----------------------------------------------------------------------------


def _shift_line(item: CardShift, zone: ZoneInfo) -> str:
    staffing = item.staffing
    shift = staffing.shift
    parts = [f"{MINE if item.mine else '•'} {shift_name(shift, zone)}"]
    parts.append(f"{staffing.filled}/{shift.needed}")
    if staffing.missing == 0:
        parts.append(_("full"))
    if not item.open:
        parts.append(_("started"))
    if item.my_offer is not None:
        parts.append(f"{SWAP} " + _("you offered it for a swap"))
    elif item.other_offer is not None:
        parts.append(f"{SWAP} " + _("offered for a swap"))
    return " · ".join(parts)


def _shift_buttons(entry: CardShift, zone: ZoneInfo) -> list[InlineKeyboardButton]:
    """A shift's buttons: give up and offer / withdraw for one's own; sign up while there is
    room, take over while someone offers theirs; none once it started."""
    if not entry.open:
        return []
    shift = entry.staffing.shift
    times = shift_times(shift, zone)
    buttons: list[InlineKeyboardButton] = []
    if entry.mine:
        buttons.append(
            _button(
                _("Give up {time}").format(time=times),
                ActionCallback(act=ActionAct.CANCEL, shift_id=shift.id),
            )
        )
        if entry.my_offer is not None:
            buttons.append(
                _button(
                    _("Withdraw offer"),
                    ActionCallback(act=ActionAct.SWAP_WITHDRAW, swap_id=entry.my_offer.id),
                )
            )
        else:
            buttons.append(
                _button(_("Offer a swap"), ActionCallback(act=ActionAct.SWAP, shift_id=shift.id))
            )
        return buttons
    if entry.staffing.missing > 0:
        buttons.append(
            _button(
                _("Sign up {time}").format(time=times),
                ActionCallback(act=ActionAct.SIGN_UP, shift_id=shift.id),
            )
        )
    if entry.other_offer is not None:
        buttons.append(
            _button(
                _("Take over {time}").format(time=times),
                ActionCallback(act=ActionAct.SWAP_TAKE, swap_id=entry.other_offer.id),
            )
        )
    return buttons


def date_card(
    item: DateStaffing,
    shifts: Sequence[CardShift],
    *,
    can_sign_up: bool,
    planner: bool,
    zone: ZoneInfo,
) -> Screen:
    """A date's card: what, when, where, material, each shift with filled/needed and the
    member's own marked; the buttons to sign up, give up, offer, withdraw or take a swap.
    A called-off date has no buttons."""
    row = item.action_date
    action = row.action
    lines = [f"<b>{esc(action.title)}</b>"]
    what = action_kind_label(action.kind)
    if action.campaign is not None:
        what += " · " + _("Campaign: {name}").format(name=esc(action.campaign.name))
    lines.append(what)
    lines.append(f"🗓 {long_day(row.day, zone)}")
    lines.append(f"📍 {esc(action.place)}")
    if action.district is not None:
        lines.append(_("Stadtteil: {value}").format(value=esc(action.district.name)))
    if row.cancelled:
        lines.append("")
        lines.append(f"{CANCELLED} <b>" + _("This date was called off.") + "</b>")
        return "\n".join(lines), None
    if action.material:
        lines.append("📦 " + _("Material: {notes}").format(notes=esc(action.material)))
    lines += ["", _("<b>Shifts</b>")]
    lines += [_shift_line(entry, zone) for entry in shifts]
    if any(entry.mine for entry in shifts):
        lines += ["", _("{mark} = your shift").format(mark=MINE)]
    if not can_sign_up:
        lines += ["", _("To sign up for a shift, agree in /start first.")]
    rows = [buttons for entry in shifts if (buttons := _shift_buttons(entry, zone))]
    bottom = [_button(_("◀ All actions"), ActionCallback(act=ActionAct.LIST))]
    if can_sign_up:
        bottom.append(_button(_("📋 My shifts"), ActionCallback(act=ActionAct.MINE)))
    rows.append(bottom)
    if planner:
        rows.append([_button(_("🛠 Plan actions"), PlanCallback(act=PlanAct.MENU))])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def confirm_cancel(shift: Shift, zone: ZoneInfo) -> Screen:
    """Ask before giving up a shift."""
    row = shift.action_date
    text = _("Really give up your shift {shift} on {day} ({title})?").format(
        shift=shift_name(shift, zone), day=short_day(row.day, zone), title=esc(row.action.title)
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(
                    _("Yes, give it up"),
                    ActionCallback(act=ActionAct.CANCEL_OK, shift_id=shift.id),
                ),
                _button(_("No, keep it"), ActionCallback(act=ActionAct.DATE, date_id=row.id)),
            ]
        ]
    )
    return text, keyboard


# --- my shifts ----------------------------------------------------------------------------------


# Shifts on a page of "My shifts": at most a button each, within Telegram's 100 a keyboard.
MY_SHIFTS_PER_PAGE = 40


def _my_shift_line(shift: Shift, offered: bool, zone: ZoneInfo) -> str:
    row = shift.action_date
    action = row.action
    line = _("{mark} {day}, {shift} · {kind}: {title} · 📍 {place}").format(
        mark=CANCELLED if row.cancelled else MINE,
        day=short_day(row.day, zone),
        shift=shift_name(shift, zone),
        kind=action_kind_label(action.kind),
        title=esc(action.title),
        place=esc(action.place),
    )
    if row.cancelled:
        line += " · " + _("called off")
    elif offered:
        line += f" · {SWAP} " + _("offered for a swap")
    return line


def _my_shift_pages(lines: Sequence[str]) -> list[range]:
    return pack(
        [visible_length(line) for line in lines],
        budget=TEXT_LIMIT - 200,
        max_items=MY_SHIFTS_PER_PAGE,
    )


def my_shift_pages(held: Sequence[tuple[Shift, bool]], zone: ZoneInfo) -> list[Screen]:
    """Every page of "My shifts", as « and » go through them."""
    if not held:
        return [my_shifts(held, zone)]
    lines = [_my_shift_line(shift, offered, zone) for shift, offered in held]
    pages = _my_shift_pages(lines)
    return [_my_shifts_page(held, lines, pages, page, zone) for page in range(len(pages))]


def my_shifts(held: Sequence[tuple[Shift, bool]], zone: ZoneInfo, *, page: int = 0) -> Screen:
    """The member's upcoming shifts (`True`: offered for a swap), each date opening its card;
    a page of them when there are more than fit (« and »)."""
    if not held:
        back = [_button(_("◀ All actions"), ActionCallback(act=ActionAct.LIST))]
        text = _("You haven't signed up for any shift yet. Tap “All actions” to find one.")
        return text, InlineKeyboardMarkup(inline_keyboard=[back])
    lines = [_my_shift_line(shift, offered, zone) for shift, offered in held]
    return _my_shifts_page(held, lines, _my_shift_pages(lines), page, zone)


def _my_shifts_page(
    held: Sequence[tuple[Shift, bool]],
    all_lines: Sequence[str],
    pages: Sequence[range],
    page: int,
    zone: ZoneInfo,
) -> Screen:
    back = [_button(_("◀ All actions"), ActionCallback(act=ActionAct.LIST))]
    page = min(max(page, 0), len(pages) - 1)
    lines = [_("<b>Your shifts</b>")]
    rows: list[list[InlineKeyboardButton]] = []
    seen: set[int] = set()
    for index in pages[page]:
        shift, _offered = held[index]
        row = shift.action_date
        lines.append(all_lines[index])
        if row.id not in seen and not row.cancelled:
            seen.add(row.id)
            label = f"{short_day(row.day, zone)} · {row.action.title}"
            rows.append([_button(label, ActionCallback(act=ActionAct.DATE, date_id=row.id))])
    if len(pages) > 1:
        pager = []
        if page > 0:
            pager.append(_button("«", ActionCallback(act=ActionAct.MINE, page=page - 1)))
        pager.append(
            _button(f"{page + 1}/{len(pages)}", ActionCallback(act=ActionAct.MINE, page=page))
        )
        if page + 1 < len(pages):
            pager.append(_button("»", ActionCallback(act=ActionAct.MINE, page=page + 1)))
        rows.append(pager)
    rows.append(back)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def signed_up(shift: Shift, zone: ZoneInfo, *, already: bool) -> str:
    """After "Sign up"."""
    if already:
        return _("You are already signed up for this shift.")
    return _("Thank you! You are signed up: {day}, {shift}.").format(
        day=short_day(shift.action_date.day, zone), shift=shift_name(shift, zone)
    )


def gave_up(*, held: bool) -> str:
    """After "Yes, give it up"."""
    if held:
        return _("You are no longer on this shift.")
    return _("You weren't on this shift (any more).")


def offered() -> str:
    """After "Offer a swap"."""
    return _("Your shift is offered for a swap. You stay on it until someone takes it over.")


def offer_withdrawn() -> str:
    """After "Withdraw offer"."""
    return _("Offer withdrawn: you keep your shift.")


def took_over() -> str:
    """After "Take over"."""
    return _("Thank you! The shift is yours now.")


def no_consent() -> str:
    """A sign-up or swap pressed before agreeing."""
    return _("To sign up for shifts, agree in /start first.")


def gone() -> str:
    """A forged or stale button."""
    return _("This button is no longer valid. /actions shows the current dates.")


def error_text(error: ShiftError | ActionError, zone: ZoneInfo | None = None) -> str:
    """Why a sign-up, cancellation or swap was refused."""
    reason = error.reason
    if reason == "consent":
        return no_consent()
    if reason in ("started", "past"):
        return _("This shift has already started or is over.")
    if reason == "cancelled":
        return _("This date was called off.")
    if reason == "full":
        return _("This shift is full already. Maybe another one fits?")
    if reason == "overlap":
        clash = error.clash if isinstance(error, ShiftError) else None
        if clash is not None and zone is not None:
            times = shift_times(clash, zone)
            return _("You already hold a shift at that time: {shift} on {day} ({title}).").format(
                shift=f"{clash.label} {times}" if clash.label else times,
                day=short_day(clash.action_date.day, zone),
                title=clash.action_date.action.title,
            )
        return _("You already hold a shift at that time.")
    if reason == "not_held":
        return _("You aren't on this shift.")
    if reason == "own":
        return _("That is your own offer.")
    if reason == "taken":
        return _("Someone else took this offer already, or it was withdrawn.")
    if reason == "holder":
        return _("You are already on this shift.")
    return gone()


# --- notices through the outbox -----------------------------------------------------------------


def _open_card(row: ActionDate) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("Show the action"), ActionCallback(act=ActionAct.DATE, date_id=row.id))]
        ]
    )


def _manage(row: ActionDate) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("Manage this date"), PlanCallback(act=PlanAct.DATE, date_id=row.id))]
        ]
    )


def action_cancelled(row: ActionDate, held: Sequence[Shift], zone: ZoneInfo) -> Screen:
    """To the people on a date that was called off."""
    action = row.action
    names = ", ".join(shift_name(shift, zone) for shift in held)
    text = _(
        "{icon} <b>Called off:</b> {kind} “{title}” on {day}, {place}.\n"
        "You were signed up for: {shifts}.\n\n"
        "Thank you for wanting to help! /actions shows where else you can lend a hand."
    ).format(
        icon=CANCELLED,
        kind=action_kind_label(action.kind),
        title=esc(action.title),
        day=long_day(row.day, zone),
        place=esc(action.place),
        shifts=names,
    )
    return text, None


def shift_swapped(swap: ShiftSwap, shift: Shift, giver: str, taker: str, zone: ZoneInfo) -> Screen:
    """To whoever plans the action: a shift changed hands."""
    del swap
    row = shift.action_date
    text = _(
        "{icon} <b>Shift swapped</b>: {taker} took over from {giver} the shift {shift} of "
        "“{title}” on {day}."
    ).format(
        icon=SWAP,
        taker=esc(taker),
        giver=esc(giver),
        shift=shift_name(shift, zone),
        title=esc(row.action.title),
        day=short_day(row.day, zone),
    )
    return text, _manage(row)


def shift_emptied(shift: Shift, zone: ZoneInfo) -> Screen:
    """To whoever plans the action: nobody holds a shift close to its start any more."""
    row = shift.action_date
    text = _(
        "⚠️ <b>Nobody is on this shift any more</b>: {shift} of “{title}” on {day}, {place}."
    ).format(
        shift=shift_name(shift, zone),
        title=esc(row.action.title),
        day=short_day(row.day, zone),
        place=esc(row.action.place),
    )
    text += "\n" + ngettext("It needs {n} person.", "It needs {n} people.", shift.needed).format(
        n=shift.needed
    )
    return text, _manage(row)


def swap_taken(shift: Shift, taker: str, zone: ZoneInfo) -> Screen:
    """To the member whose offered shift someone took over."""
    row = shift.action_date
    text = _(
        "{icon} {taker} took over your shift {shift} of “{title}” on {day}. You are no longer "
        "on it. Thank you for finding someone!"
    ).format(
        icon=SWAP,
        taker=esc(taker),
        shift=shift_name(shift, zone),
        title=esc(row.action.title),
        day=short_day(row.day, zone),
    )
    return text, _open_card(row)


def someone() -> str:
    """A member whose name the bot doesn't keep."""
    return _("someone")
