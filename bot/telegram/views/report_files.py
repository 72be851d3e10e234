"""A report as files: PNG charts for the chat and one printable PDF (texts via gettext).

Everything renders in the current i18n context; the handler runs it in a worker thread
(asyncio.to_thread copies the context). The "< 3" rule is applied here, before anything is
drawn: a count of 1 or 2 reaches the chart as a `small` figure of fixed length SMALL_COUNT with
the text "< 3", so neither a bar's length nor a text reveals it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_date, format_interval, format_skeleton, format_time

from bot.services import charts as draw
from bot.services import printable
from bot.services.charts import Bar, Chart, Panel, Row, Series, Value
from bot.services.printable import Section, Table
from bot.services.reports.model import (
    SMALL_COUNT,
    SMALL_LABEL,
    DistrictFigures,
    FunnelStage,
    GroupFigures,
    Report,
    TopicMentions,
    is_small,
)
from bot.telegram.format import formatting_locale, number
from bot.telegram.labels import action_kind_label, group_type_label
from models import ActionKind, GroupType

# Charts stay readable on a phone: the largest few rows, the rest summed into "other".
MAX_ROWS = draw.MAX_BARS
MAX_DISTRICTS = 8
MAX_GROUP_LINES = draw.MAX_SERIES
# Names in the chat's charts are cut here; the PDF's tables cut to their column's width.
LABEL_CHARS = 48


def stage_label(stage: FunnelStage) -> str:
    """A step of the funnel in words, as the charts, the PDF and the summary name it."""
    labels = {
        FunnelStage.JOINED_CHAT: _("Joined a KV group"),
        FunnelStage.OPENED_CHAT: _("Opened the chat with the bot"),
        FunnelStage.CONSENTED: _("Agreed to storing answers"),
        FunnelStage.FINISHED_INTAKE: _("Finished the questions"),
        FunnelStage.JOINED_GROUP: _("Joined a group"),
        FunnelStage.FIRST_MEETING: _("Came to a first meeting"),
    }
    return labels[stage]


def _zone(report: Report) -> ZoneInfo | None:
    """The KV's zone: dates of broadcasts are the KV's dates, and English follows the KV's
    region (en_DE). From `Report.zone`, else from `generated_at` when that carries a ZoneInfo."""
    if report.zone is not None:
        return report.zone
    zone = report.generated_at.tzinfo
    return zone if isinstance(zone, ZoneInfo) else None


def period_text(report: Report) -> str:
    """The period in the current locale: "1. Juli – 31. Dez. 2026" / "1 Jul – 31 Dec 2026"."""
    return format_interval(
        report.period.first_day,
        report.period.last_day,
        skeleton="yMMMd",
        locale=formatting_locale(_zone(report)),
    )


def subtitle(report: Report) -> str:
    """The line under every chart's title: the KV and the period."""
    return _("{kv} · {period}").format(kv=report.kv_name, period=period_text(report))


def count_text(count: int) -> str:
    """A count as every chart and table shows it: "< 3" for 1 and 2, else in the locale."""
    return SMALL_LABEL if is_small(count) else number(count)


def _value(count: int) -> Value:
    if is_small(count):
        return Value(SMALL_COUNT, SMALL_LABEL, small=True)
    return Value(count, number(count))


def _bar(label: str, count: int) -> Bar:
    value = _value(count)
    return Bar(draw.truncate(label, LABEL_CHARS), value.value, value.text, value.small)


def _small_note() -> str:
    return _("< 3: fewer than three, not shown exactly (hatched or hollow)")


def _group_kind(kind: str) -> str:
    try:
        return group_type_label(GroupType(kind))
    except ValueError:
        return kind


def _action_kind(kind: str) -> str:
    try:
        return action_kind_label(ActionKind(kind))
    except ValueError:
        return kind


def _months(report: Report) -> list[date]:
    """The first of every calendar month the period touches."""
    first, last = report.period.first_day, report.period.last_day
    month = first.replace(day=1)
    months = []
    while month <= last:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def _month_label(report: Report, month: date) -> str:
    spans_years = report.period.first_day.year != report.period.last_day.year
    return format_skeleton(
        "MMMyy" if spans_years else "MMM", month, locale=formatting_locale(_zone(report))
    )


def _attendance(group: GroupFigures) -> int:
    return sum(month.attendees for month in group.months)


def _meetings(group: GroupFigures) -> int:
    return sum(month.meetings for month in group.months)


def _funnel_chart(report: Report) -> Chart:
    """Always sent: an empty period shows its zeros and says so."""
    notes = [_("People who reached each step in the period.")]
    if not any(step.count for step in report.funnel):
        notes.append(_("No data in this period."))
    return draw.chart_bars(
        _("From joining to taking part"),
        subtitle(report),
        [_bar(stage_label(step.stage), step.count) for step in report.funnel],
        notes=notes,
        small_note=_small_note(),
        empty_text=_("No data in this period."),
    )


def _groups_chart(report: Report) -> Chart | None:
    groups = sorted(
        (group for group in report.groups if _attendance(group) > 0),
        key=lambda group: (-_attendance(group), group.name),
    )
    if not groups:
        return None
    shown, rest = groups[:MAX_GROUP_LINES], groups[MAX_GROUP_LINES:]
    months = _months(report)
    series = []
    for group in shown:
        by_month = {month.month.replace(day=1): month.attendees for month in group.months}
        series.append(
            Series(
                draw.truncate(group.name, LABEL_CHARS),
                [_value(by_month.get(month, 0)) for month in months],
            )
        )
    notes = [_("Attendance: “I come” answers to meetings that took place, guests included.")]
    if rest:
        notes.append(
            ngettext(
                "{count} smaller group is not shown.",
                "{count} smaller groups are not shown.",
                len(rest),
            ).format(count=number(len(rest)))
        )
    return draw.chart_months(
        _("Attendance at group meetings"),
        subtitle(report),
        [_month_label(report, month) for month in months],
        series,
        number_format=number,
        notes=notes,
        small_note=_small_note(),
    )


def _reach_series() -> list[str]:
    return [_("Delivered"), _("Unreachable"), _("Opted out")]


def _broadcast_label(report: Report, sent_at: datetime, summary: str) -> str:
    zone = _zone(report)
    moment = sent_at.astimezone(zone) if zone is not None else sent_at
    day = format_skeleton("dMMM", moment, locale=formatting_locale(zone))
    return f"{day} {summary}"


def _broadcasts_chart(report: Report) -> Chart | None:
    broadcasts = sorted(report.broadcasts, key=lambda item: item.sent_at, reverse=True)
    if not broadcasts:
        return None
    rows = [
        Row(
            draw.truncate(_broadcast_label(report, item.sent_at, item.summary), LABEL_CHARS),
            [_value(item.delivered), _value(item.unreachable), _value(item.opted_out)],
        )
        for item in broadcasts[: MAX_ROWS - 1 if len(broadcasts) > MAX_ROWS else MAX_ROWS]
    ]
    earlier = broadcasts[MAX_ROWS - 1 :] if len(broadcasts) > MAX_ROWS else []
    if earlier:
        rows.append(
            Row(
                ngettext(
                    "{count} earlier broadcast", "{count} earlier broadcasts", len(earlier)
                ).format(count=number(len(earlier))),
                [
                    _value(sum(item.delivered for item in earlier)),
                    _value(sum(item.unreachable for item in earlier)),
                    _value(sum(item.opted_out for item in earlier)),
                ],
            )
        )
    return draw.chart_rows(
        _("Reach of broadcasts"),
        subtitle(report),
        _reach_series(),
        rows,
        stacked=True,
        notes=[_("Newest first. Opted out: members who don't want this kind of message.")],
        small_note=_small_note(),
    )


def _shifts_chart(report: Report) -> Chart | None:
    actions = [kind for kind in report.actions if kind.shifts > 0]
    if not actions:
        return None
    return draw.chart_rows(
        _("Shifts of field actions"),
        subtitle(report),
        [_("Filled"), _("Not filled")],
        [
            Row(
                _action_kind(kind.kind),
                [_value(kind.shifts_filled), _value(kind.shifts - kind.shifts_filled)],
            )
            for kind in actions
        ],
        stacked=True,
        notes=[_("Filled: as many people signed up as the shift needed.")],
        small_note=_small_note(),
    )


def _results() -> list[tuple[str, str]]:
    return [
        ("conversations", _("Conversations")),
        ("leaflets", _("Leaflets handed out")),
        ("contacts", _("Contacts collected")),
    ]


def _results_chart(report: Report) -> Chart | None:
    panels = []
    for field_name, title in _results():
        bars = [
            _bar(_action_kind(kind.kind), getattr(kind, field_name))
            for kind in report.actions
            if getattr(kind, field_name) > 0
        ]
        panels.append(Panel(title, bars))
    if not any(panel.bars for panel in panels):
        return None
    return draw.chart_panels(
        _("Results of field actions"),
        subtitle(report),
        panels,
        notes=[_("As logged by the teams after their shifts.")],
        small_note=_small_note(),
    )


def _top_rows(
    items: Sequence[TopicMentions], limit: int
) -> tuple[list[TopicMentions], list[TopicMentions]]:
    ranked = sorted(
        (item for item in items if item.door_to_door + item.info_stand > 0),
        key=lambda item: (-(item.door_to_door + item.info_stand), item.topic),
    )
    if len(ranked) <= limit:
        return ranked, []
    return ranked[: limit - 1], ranked[limit - 1 :]


def _topics_chart(report: Report) -> Chart | None:
    shown, rest = _top_rows(report.topics, MAX_ROWS)
    if not shown:
        return None
    rows = [
        Row(
            draw.truncate(item.topic, LABEL_CHARS),
            [_value(item.door_to_door), _value(item.info_stand)],
        )
        for item in shown
    ]
    if rest:
        rows.append(
            Row(
                _("Other topics"),
                [
                    _value(sum(item.door_to_door for item in rest)),
                    _value(sum(item.info_stand for item in rest)),
                ],
            )
        )
    return draw.chart_rows(
        _("Topics people raised"),
        subtitle(report),
        [action_kind_label(ActionKind.DOOR_TO_DOOR), action_kind_label(ActionKind.INFOSTAND)],
        rows,
        stacked=False,
        notes=[_("How often a topic was logged in the results of a shift.")],
        small_note=_small_note(),
    )


def _district_series() -> list[str]:
    return [_("Members"), _("Newcomers"), _("In a group"), _("Active")]


def _district_values(district: DistrictFigures) -> list[int]:
    return [district.members, district.newcomers, district.in_groups, district.active]


def _districts_chart(report: Report) -> Chart | None:
    districts = sorted(
        (district for district in report.districts if district.members > 0),
        key=lambda district: (-district.members, district.name),
    )
    if not districts:
        return None
    if len(districts) > MAX_DISTRICTS:
        shown, rest = districts[: MAX_DISTRICTS - 1], districts[MAX_DISTRICTS - 1 :]
    else:
        shown, rest = districts, []
    rows = [
        Row(
            draw.truncate(district.name, LABEL_CHARS),
            [_value(count) for count in _district_values(district)],
        )
        for district in shown
    ]
    if rest:
        sums = [sum(_district_values(district)[i] for district in rest) for i in range(4)]
        rows.append(
            Row(
                ngettext("{count} other Stadtteil", "{count} other Stadtteile", len(rest)).format(
                    count=number(len(rest))
                ),
                [_value(count) for count in sums],
            )
        )
    return draw.chart_rows(
        _("Stadtteile compared"),
        subtitle(report),
        _district_series(),
        rows,
        stacked=False,
        notes=[_district_definitions()],
        small_note=_small_note(),
    )


def _district_definitions() -> str:
    return _(
        "Members at the end of the period; newcomers joined in it; in a group: in at least "
        "one group; active: an RSVP or a shift in the period."
    )


def report_charts(report: Report) -> list[tuple[str, Chart]]:
    """The report's charts before drawing, with their file names, in the order they are sent.

    The funnel always comes; a chart whose part of the report is empty is left out.
    """
    candidates: list[tuple[str, Chart | None]] = [
        ("funnel.png", _funnel_chart(report)),
        ("groups_attendance.png", _groups_chart(report)),
        ("broadcasts_reach.png", _broadcasts_chart(report)),
        ("field_actions_shifts.png", _shifts_chart(report)),
        ("field_actions_results.png", _results_chart(report)),
        ("topics.png", _topics_chart(report)),
        ("stadtteile.png", _districts_chart(report)),
    ]
    return [(name, chart) for name, chart in candidates if chart is not None]


def charts(report: Report) -> list[tuple[str, bytes]]:
    """The report's charts as (file name, PNG bytes), in the order they are sent."""
    return [(name, draw.png(chart)) for name, chart in report_charts(report)]


# --- The printable report ----------------------------------------------------------------


def _generated(report: Report) -> str:
    zone = _zone(report)
    locale = formatting_locale(zone)
    moment = report.generated_at.astimezone(zone) if zone is not None else report.generated_at
    return _("{date}, {time}").format(
        date=format_date(moment, format="medium", locale=locale),
        time=format_time(moment, format="short", locale=locale),
    )


def _key_figures(report: Report) -> Table:
    funnel = {step.stage: step.count for step in report.funnel}
    rows = [
        [stage_label(stage), count_text(funnel.get(stage, 0))]
        for stage in (
            FunnelStage.JOINED_CHAT,
            FunnelStage.FINISHED_INTAKE,
            FunnelStage.JOINED_GROUP,
            FunnelStage.FIRST_MEETING,
        )
    ]
    rows += [
        [_("Meetings of groups"), count_text(sum(_meetings(group) for group in report.groups))],
        [_("Broadcasts sent"), count_text(len(report.broadcasts))],
        [_("Messages delivered"), count_text(sum(item.delivered for item in report.broadcasts))],
        [_("Dates of field actions"), count_text(sum(kind.dates for kind in report.actions))],
        [
            _("Shifts filled"),
            _("{filled} of {shifts}").format(
                filled=count_text(sum(kind.shifts_filled for kind in report.actions)),
                shifts=count_text(sum(kind.shifts for kind in report.actions)),
            ),
        ],
        [_("Conversations"), count_text(sum(kind.conversations for kind in report.actions))],
    ]
    return Table([_("Key figure"), _("Number")], rows, weights=[3.0, 1.0])


def _how_to_read(report: Report) -> Section:
    return Section(
        _("How to read this report"),
        [
            _(
                "Every figure counts people or events in the period, in the whole KV. "
                "No table and no chart names a member."
            ),
            _(
                "“< 3” stands for one or two: so small a number could point to a person, so it "
                "is not shown exactly. In charts such a bar is pale and hatched and always "
                "drawn the same length; in lines it is a hollow dot."
            ),
            _("The steps from joining to taking part:"),
            "• " + _("Joined a KV group: joined one of the KV's Telegram groups."),
            "• " + _("Opened the chat with the bot: started the private chat with this bot."),
            "• " + _("Agreed to storing answers: gave consent to storing their interests."),
            "• " + _("Finished the questions: answered the questions about interests and time."),
            "• " + _("Joined a group: joined a Stammtisch, a Basisgruppe or an AG."),
            "• " + _("Came to a first meeting: said “I come” to a meeting that then took place."),
        ],
        new_page=False,
    )


def _nothing(title: str) -> Section:
    return Section(title, [_("Nothing in this period.")], new_page=False)


def _funnel_section(report: Report) -> Section:
    table = Table(
        [_("Step"), _("People")],
        [[stage_label(step.stage), count_text(step.count)] for step in report.funnel],
        weights=[3.0, 1.0],
    )
    return Section(_("From joining to taking part"), table=table, charts=[_funnel_chart(report)])


def _groups_section(report: Report) -> Section:
    title = _("Groups")
    if not report.groups:
        return _nothing(title)
    groups = sorted(report.groups, key=lambda group: (group.kind, group.name))
    table = Table(
        [_("Group"), _("Kind"), _("Members"), _("Joined"), _("Meetings"), _("Attendance")],
        [
            [
                group.name,
                _group_kind(group.kind),
                count_text(group.members),
                count_text(group.joined),
                count_text(_meetings(group)),
                count_text(_attendance(group)),
            ]
            for group in groups
        ],
        weights=[2.6, 1.5, 1.2, 1.25, 1.0, 1.25],
        text_columns=2,
    )
    chart = _groups_chart(report)
    return Section(
        title,
        [_("Members at the end of the period; joined: in the period.")],
        table=table,
        charts=[chart] if chart is not None else [],
    )


def _broadcasts_section(report: Report) -> Section:
    title = _("Broadcasts")
    if not report.broadcasts:
        return _nothing(title)
    zone = _zone(report)
    locale = formatting_locale(zone)
    broadcasts = sorted(report.broadcasts, key=lambda item: item.sent_at)
    table = Table(
        # No "sent to" column: the total minus two shown figures would give away a masked third.
        [_("Date"), _("Broadcast"), *_reach_series()],
        [
            [
                format_date(
                    item.sent_at.astimezone(zone) if zone else item.sent_at,
                    format="short",
                    locale=locale,
                ),
                item.summary,
                count_text(item.delivered),
                count_text(item.unreachable),
                count_text(item.opted_out),
            ]
            for item in broadcasts
        ],
        weights=[1.2, 3.4, 1.3, 1.4, 1.3],
        text_columns=2,
    )
    chart = _broadcasts_chart(report)
    return Section(title, table=table, charts=[chart] if chart is not None else [])


def _actions_section(report: Report) -> Section:
    title = _("Field actions")
    if not report.actions:
        return _nothing(title)
    table = Table(
        [
            _("Kind"),
            _("Dates"),
            _("Shifts"),
            _("Filled"),
            _("Sign-ups"),
            _("Conversations"),
            _("Leaflets"),
            _("Contacts"),
        ],
        [
            [
                _action_kind(kind.kind),
                count_text(kind.dates),
                count_text(kind.shifts),
                count_text(kind.shifts_filled),
                count_text(kind.signups),
                count_text(kind.conversations),
                count_text(kind.leaflets),
                count_text(kind.contacts),
            ]
            for kind in report.actions
        ],
        weights=[1.8, 1, 1.1, 1, 1.35, 1.3, 1, 1.1],
    )
    drawn = [chart for chart in (_shifts_chart(report), _results_chart(report)) if chart]
    return Section(title, table=table, charts=drawn)


def _topics_section(report: Report) -> Section:
    title = _("Topics people raised")
    topics = [item for item in report.topics if item.door_to_door + item.info_stand > 0]
    if not topics:
        return _nothing(title)
    ranked, rest = _top_rows(topics, len(topics))
    table = Table(
        [
            _("Topic"),
            action_kind_label(ActionKind.DOOR_TO_DOOR),
            action_kind_label(ActionKind.INFOSTAND),
        ],
        [
            [item.topic, count_text(item.door_to_door), count_text(item.info_stand)]
            for item in [*ranked, *rest]
        ],
        weights=[2.6, 1.4, 1.2],
    )
    chart = _topics_chart(report)
    return Section(title, table=table, charts=[chart] if chart is not None else [])


def _districts_section(report: Report) -> Section:
    title = _("Stadtteile compared")
    if not report.districts:
        return _nothing(title)
    districts = sorted(report.districts, key=lambda district: (-district.members, district.name))
    table = Table(
        [_("Stadtteil"), *_district_series()],
        [
            [district.name, *(count_text(count) for count in _district_values(district))]
            for district in districts
        ],
        weights=[2.6, 1.2, 1.3, 1.2, 1.1],
    )
    chart = _districts_chart(report)
    return Section(
        title,
        [_district_definitions()],
        table=table,
        charts=[chart] if chart is not None else [],
    )


def document(report: Report) -> printable.Document:
    """The printable report before drawing: cover with key figures, then one section a part."""
    cover = Section(
        _("Key figures"),
        [_("Generated on {date}.").format(date=_generated(report))],
        table=_key_figures(report),
        new_page=False,
    )
    return printable.Document(
        title=_("Report of {kv}").format(kv=report.kv_name),
        subtitle=period_text(report),
        footer=subtitle(report),
        page_label=_("Page {page} of {pages}"),
        sections=[
            cover,
            _how_to_read(report),
            _funnel_section(report),
            _groups_section(report),
            _broadcasts_section(report),
            _actions_section(report),
            _topics_section(report),
            _districts_section(report),
        ],
    )


def pdf(report: Report) -> bytes:
    """The printable half-year report for the members' assembly as A4 PDF bytes."""
    return printable.printable(document(report))
