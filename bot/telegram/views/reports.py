"""/bericht: the period menu, the questions and answers around it, the summary and the CSV.

The charts and the PDF are bot.telegram.views.report_files. Every count of people goes
through `masked` ("< 3" for 1 and 2); counts of things (meetings, dates, shifts, leaflets)
name no one and are shown as they are. Names the summary shows (groups, Stadtteile, topics,
broadcast summaries) come from the KV's setup or an organiser and are escaped all the same.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, tzinfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.services.reports import period as periods
from bot.services.reports.model import Period, Report, masked
from bot.telegram.callbacks import ReportCallback, ReportChoice
from bot.telegram.format import esc, formatting_locale, number
from bot.telegram.views.report_files import stage_label

# The summary names at most this many groups, topics and Stadtteile; the CSV and PDF all.
SUMMARY_ITEMS = 5
CSV_DELIMITER = ";"  # what a German spreadsheet opens without asking
BOM = "\ufeff"  # so Excel reads UTF-8


def choose_period() -> tuple[str, InlineKeyboardMarkup]:
    """The question /bericht asks, with its period buttons."""
    buttons = [
        (_("Last 30 days"), ReportChoice.LAST_30_DAYS),
        (_("This half-year"), ReportChoice.HALF_YEAR),
        (_("Last half-year"), ReportChoice.PREVIOUS_HALF_YEAR),
        (_("Other period …"), ReportChoice.CUSTOM),
    ]
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=ReportCallback(choice=choice).pack())]
            for text, choice in buttons
        ]
    )
    text = _(
        "<b>Report</b>\nWhich period? The report counts people, never names them; "
        "numbers below 3 read “&lt; 3”."
    )
    return text, keyboard


def ask_for_period() -> str:
    """What the organiser is asked after "Other period …"."""
    return _(
        "Type the period as two dates, e.g. <code>1.1.2026-30.6.2026</code> or "
        "<code>2026-01-01 2026-06-30</code>. At most 3 years, ending today at the latest. "
        "/abbrechen stops."
    )


def period_problem(reason: str) -> str:
    """Why a typed period was refused, and that the organiser may try again."""
    problems = {
        periods.END_BEFORE_START: _("The second date lies before the first."),
        periods.IN_FUTURE: _("The period ends in the future; a report counts what happened."),
        periods.TOO_LONG: _("That is longer than 3 years."),
    }
    problem = problems.get(reason, _("I can't read that as a period."))
    return _("{problem} Please try again, e.g. <code>1.1.2026-30.6.2026</code>.").format(
        problem=problem
    )


def span(period: Period) -> str:
    """ "01.01.2026 – 30.06.2026" in the organiser's language."""
    locale = formatting_locale()
    return _("{first} – {last}").format(
        first=format_date(period.first_day, format="medium", locale=locale),
        last=format_date(period.last_day, format="medium", locale=locale),
    )


def preparing(period: Period) -> str:
    """Shown in place of the menu while the report is made."""
    return _("Preparing the report for {span} …").format(span=span(period))


def already_sent() -> str:
    """A second tap on a period button: the first one's report is (being) sent."""
    return _("This report is on its way already.")


def refusal() -> str:
    """/bericht or one of its buttons from someone who is no organiser."""
    return _("Sorry, only organisers can see reports.")


def file_name(report: Report, extension: str) -> str:
    """bericht-2026-H1.pdf / report-2026-H1.csv."""
    return _("report-{label}.{extension}").format(
        label=periods.label(report.period), extension=extension
    )


def _kind_label(kind: str) -> str:
    labels = {
        "infostand": _("Info stands"),
        "door_to_door": _("Door-to-door"),
        "stammtisch": _("Stammtisch"),
        "basisgruppe": _("Basisgruppe"),
        "ag": _("AG"),
    }
    return labels.get(kind, kind)


def _shown(count: int) -> str:
    """A count of people for an HTML message: masked, then escaped ("&lt; 3")."""
    return esc(masked(count))


def summary(report: Report) -> str:
    """One HTML message: the funnel, then a line or a few per part, and what counts how."""
    lines = [
        _("<b>Report of {kv}</b>").format(kv=esc(report.kv_name)),
        span(report.period),
        "",
        _("<b>From joining to taking part</b>"),
    ]
    lines += [f"• {esc(stage_label(s.stage))}: {_shown(s.count)}" for s in report.funnel]
    lines.append(
        _(
            "<i>Joins are counted in the KV's groups; the other steps follow those whose chat "
            "with me began in the period, up to its end.</i>"
        )
    )
    if report.groups:
        lines += ["", _("<b>Groups</b> (members at the end · new in the period · meetings)")]
        for group in report.groups[:SUMMARY_ITEMS]:
            meetings = sum(month.meetings for month in group.months)
            lines.append(
                f"• {esc(group.name)}: {_shown(group.members)} · {_shown(group.joined)} · "
                f"{number(meetings)}"
            )
        if len(report.groups) > SUMMARY_ITEMS:
            lines.append(
                _("… and {count} more in the CSV file").format(
                    count=number(len(report.groups) - SUMMARY_ITEMS)
                )
            )
    if report.broadcasts:
        delivered = sum(b.delivered for b in report.broadcasts)
        unreachable = sum(b.unreachable for b in report.broadcasts)
        opted_out = sum(b.opted_out for b in report.broadcasts)
        lines += [
            "",
            _("<b>Broadcasts</b>: {count}, delivered {delivered}, unreachable {unreachable}, "
              "opted out {opted_out}").format(
                count=number(len(report.broadcasts)),
                delivered=_shown(delivered),
                unreachable=_shown(unreachable),
                opted_out=_shown(opted_out),
            ),
        ]  # fmt: skip
    if report.actions:
        lines += ["", _("<b>Field actions</b>")]
        for action in report.actions:
            lines.append(
                _(
                    "• {kind}: {dates} dates, {filled} of {shifts} shifts filled, "
                    "{signups} sign-ups, {conversations} conversations"
                ).format(
                    kind=esc(_kind_label(action.kind)),
                    dates=number(action.dates),
                    filled=number(action.shifts_filled),
                    shifts=number(action.shifts),
                    signups=_shown(action.signups),
                    conversations=_shown(action.conversations),
                )
            )
    if report.topics:
        topics = [
            f"{esc(t.topic)} ({_shown(t.door_to_door + t.info_stand)})"
            for t in report.topics[:SUMMARY_ITEMS]
        ]
        lines.append(_("Topics raised: {topics}").format(topics=", ".join(topics)))
    if report.districts:
        lines += ["", _("<b>Stadtteile</b> (members · new · in a group · active)")]
        for district in report.districts[:SUMMARY_ITEMS]:
            lines.append(
                f"• {esc(district.name)}: {_shown(district.members)} · "
                f"{_shown(district.newcomers)} · {_shown(district.in_groups)} · "
                f"{_shown(district.active)}"
            )
        if len(report.districts) > SUMMARY_ITEMS:
            lines.append(
                _("… and {count} more in the CSV file").format(
                    count=number(len(report.districts) - SUMMARY_ITEMS)
                )
            )
    lines += [
        "",
        _(
            "<i>Active: answered a meeting or signed up for a shift in the period. "
            "Counts of people below 3 read “&lt; 3”. All figures are in the CSV and the PDF.</i>"
        ),
    ]
    return "\n".join(lines)


def _rows(report: Report, zone: tzinfo) -> Iterator[tuple[str, str, str, str, str]]:
    """(section, item, month, measure, value) for every figure of the report."""
    funnel = _("Funnel")
    for step in report.funnel:
        yield funnel, stage_label(step.stage), "", _("people"), masked(step.count)
    groups = _("Groups")
    for group in report.groups:
        yield groups, group.name, "", _("members at the end"), masked(group.members)
        yield groups, group.name, "", _("joined in the period"), masked(group.joined)
        for month in group.months:
            when = month.month.strftime("%Y-%m")
            yield groups, group.name, when, _("meetings"), str(month.meetings)
            yield groups, group.name, when, _("attendees incl. guests"), masked(month.attendees)
    broadcasts = _("Broadcasts")
    for b in report.broadcasts:
        item = f"{b.sent_at.astimezone(zone).date().isoformat()} {b.summary}"
        yield broadcasts, item, "", _("audience"), masked(b.total)
        yield broadcasts, item, "", _("delivered"), masked(b.delivered)
        yield broadcasts, item, "", _("unreachable"), masked(b.unreachable)
        yield broadcasts, item, "", _("opted out"), masked(b.opted_out)
    actions = _("Field actions")
    for a in report.actions:
        kind = _kind_label(a.kind)
        yield actions, kind, "", _("dates"), str(a.dates)
        yield actions, kind, "", _("shifts"), str(a.shifts)
        yield actions, kind, "", _("shifts filled"), str(a.shifts_filled)
        yield actions, kind, "", _("sign-ups"), masked(a.signups)
        yield actions, kind, "", _("conversations"), masked(a.conversations)
        yield actions, kind, "", _("leaflets"), str(a.leaflets)
        yield actions, kind, "", _("contacts"), masked(a.contacts)
    topics = _("Topics")
    for t in report.topics:
        yield topics, t.topic, "", _("Door-to-door"), masked(t.door_to_door)
        yield topics, t.topic, "", _("Info stands"), masked(t.info_stand)
    districts = _("Districts")
    for d in report.districts:
        yield districts, d.name, "", _("members"), masked(d.members)
        yield districts, d.name, "", _("newcomers"), masked(d.newcomers)
        yield districts, d.name, "", _("in a group"), masked(d.in_groups)
        yield districts, d.name, "", _("active"), masked(d.active)


def csv_bytes(report: Report, zone: tzinfo = UTC) -> bytes:
    """The report in long format, one figure per row: section;item;month;measure;value.

    UTF-8 with a byte order mark and ';' between fields, so a spreadsheet opens it as it is
    and Python's csv module reads it with delimiter=';' (after decoding as utf-8-sig).
    Broadcasts are dated in `zone` (the KV's).
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow([_("section"), _("item"), _("month"), _("measure"), _("value")])
    writer.writerows(_rows(report, zone))
    return (BOM + out.getvalue()).encode("utf-8")
