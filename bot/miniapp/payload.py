"""The dashboard's JSON: figures already masked and every text already translated.

Called inside the viewer's i18n context. Every count of people leaves here as a Figure: its
text ("< 3" for 1 and 2, bot.services.reports.model) and a bar length that for small counts is
the same whatever the count, so the browser never learns a 1 or a 2.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_skeleton

from bot.services.dashboard import Dashboard, DateStaffing
from bot.services.reports.model import SMALL_COUNT, SMALL_LABEL, Report, is_small
from bot.telegram.format import format_day, format_meeting, formatting_locale, number
from bot.telegram.labels import action_kind_label, category_label
from bot.telegram.views.report_files import stage_label
from models import ActionKind, Category

# The periods the page offers, in its order (bot.miniapp.routes.report_source knows them).
PERIOD_KEYS = ("last_30_days", "half_year", "previous_half_year")


def figure(count: int) -> dict[str, Any]:
    """A count of people as the page gets it: text, bar length, and whether it is masked."""
    if is_small(count):
        return {"text": SMALL_LABEL, "bar": SMALL_COUNT - 1, "small": True}
    return {"text": number(count), "bar": count, "small": False}


def _bar(label: str, count: int) -> dict[str, Any]:
    return {"label": label, **figure(count)}


def labels() -> dict[str, str]:
    """The page's own words, in the viewer's language."""
    return {
        "title": _("Dashboard"),
        "period": _("Period"),
        "funnel": _("From joining to taking part"),
        "districts": _("Members by Stadtteil"),
        "attendance": _("Meeting attendance by month"),
        "staffing": _("Staffing of the next 14 days"),
        "staffing_none": _("No field action dates in the next 14 days."),
        "newcomers": _("Newcomers waiting for contact"),
        "newcomers_none": _("Nobody is waiting."),
        "broadcasts": _("Last broadcasts"),
        "broadcasts_none": _("No broadcast has gone out yet."),
        "total": _("Recipients"),
        "delivered": _("Delivered"),
        "unreachable": _("Unreachable"),
        "opted_out": _("Opted out"),
        "actions": _("Field actions"),
        "dates": _("Dates"),
        "shifts_filled": _("Shifts filled"),
        "no_data": _("Nothing in this period."),
        "report_missing": _("The report figures could not be computed; see the bot's log."),
        "small_note": _("Counts of 1 or 2 are shown as “< 3”."),
    }


def refusal_texts() -> dict[str, str]:
    """What the page says for each refusal code (bot.miniapp.auth.Refusal)."""
    return {
        "missing": _("Please open the dashboard from the bot's menu button in Telegram."),
        "invalid": _("This link could not be verified. Please open it again from Telegram."),
        "expired": _("This session has expired. Please open the dashboard again from Telegram."),
        "forbidden": _("The dashboard is for organisers only."),
    }


def period_labels() -> dict[str, str]:
    """The period switch's options."""
    return {
        "last_30_days": _("Last 30 days"),
        "half_year": _("This half-year"),
        "previous_half_year": _("Previous half-year"),
    }


def _month(first: date, zone: ZoneInfo) -> str:
    return format_skeleton("yMMM", first, locale=formatting_locale(zone))


def report_json(report: Report, zone: ZoneInfo) -> dict[str, Any]:
    """The report's figures: funnel, Stadtteile, attendance per month, field actions."""
    attendance: dict[date, int] = defaultdict(int)
    for group in report.groups:
        for month in group.months:
            attendance[month.month] += month.attendees
    return {
        "kv_name": report.kv_name,
        "first_day": format_day(report.period.first_day, zone),
        "last_day": format_day(report.period.last_day, zone),
        "funnel": [_bar(stage_label(step.stage), step.count) for step in report.funnel],
        "districts": [_bar(item.name, item.members) for item in report.districts],
        "attendance": [
            _bar(_month(month, zone), attendance[month]) for month in sorted(attendance)
        ],
        "actions": [
            {
                "label": action_kind_label(ActionKind(item.kind)),
                "dates": number(item.dates),
                "shifts_filled": _("{signed} of {needed}").format(
                    signed=number(item.shifts_filled), needed=number(item.shifts)
                ),
            }
            for item in report.actions
        ],
    }


def _staffing_figure(item: DateStaffing) -> str:
    """ "5 of 6": who signed up (masked) of those needed."""
    return _("{signed} of {needed}").format(
        signed=figure(item.signed_up)["text"], needed=number(item.needed)
    )


def _shifts_short(item: DateStaffing) -> str:
    """ "1 shift short", or nothing when every shift has its people."""
    if not item.shifts_short:
        return ""
    return ngettext("{count} shift short", "{count} shifts short", item.shifts_short).format(
        count=number(item.shifts_short)
    )


def dashboard_json(dashboard: Dashboard, zone: ZoneInfo) -> dict[str, Any]:
    """Staffing, waiting newcomers and the last broadcasts."""
    newcomers = dashboard.newcomers
    districts = [_bar(name, count) for name, count in newcomers.districts]
    if newcomers.other_districts:
        districts.append(_bar(_("Other Stadtteile"), newcomers.other_districts))
    if newcomers.no_district:
        districts.append(_bar(_("No Stadtteil"), newcomers.no_district))
    return {
        "staffing": [
            {
                "label": f"{item.title} · {format_meeting(item.starts_at, zone)}",
                "kind": action_kind_label(ActionKind(item.kind)),
                "needed": item.needed,
                "shifts": item.shifts,
                "shifts_short": item.shifts_short,
                **figure(item.signed_up),
                "summary": _staffing_figure(item),
                "note": _shifts_short(item),
            }
            for item in dashboard.staffing
        ],
        "newcomers": {"total": figure(newcomers.total), "districts": districts},
        "broadcasts": [
            {
                "summary": item.summary,
                "category": category_label(Category(item.category)),
                "when": format_meeting(item.sent_at, zone),
                "total": figure(item.total)["text"],
                "delivered": figure(item.delivered)["text"],
                "unreachable": figure(item.unreachable)["text"],
                "opted_out": figure(item.opted_out)["text"],
            }
            for item in dashboard.broadcasts
        ],
    }


def generated(now: datetime, zone: ZoneInfo) -> str:
    """When the figures were computed, for the page's footer."""
    return _("As of {moment}").format(moment=format_meeting(now, zone))
