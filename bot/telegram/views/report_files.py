"""A report as files: PNG charts for the chat and one printable PDF (texts via gettext)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.services.charts import Bar, TablePage, bar_chart, pdf_document
from bot.services.reports.model import FunnelStage, Report, masked


def stage_label(stage: FunnelStage) -> str:
    labels = {
        FunnelStage.JOINED_CHAT: _("Joined a KV group"),
        FunnelStage.OPENED_CHAT: _("Opened the chat with the bot"),
        FunnelStage.CONSENTED: _("Agreed to storing answers"),
        FunnelStage.FINISHED_INTAKE: _("Finished the questions"),
        FunnelStage.JOINED_GROUP: _("Joined a group"),
        FunnelStage.FIRST_MEETING: _("Came to a first meeting"),
    }
    return labels[stage]


def subtitle(report: Report) -> str:
    return _("{kv} · {first} to {last}").format(
        kv=report.kv_name,
        first=report.period.first_day.isoformat(),
        last=report.period.last_day.isoformat(),
    )


def charts(report: Report) -> list[tuple[str, bytes]]:
    """The report's charts as (file name, PNG bytes), in the order they are sent."""
    funnel = bar_chart(
        _("From joining to taking part"),
        subtitle(report),
        [Bar(stage_label(s.stage), float(s.count), masked(s.count)) for s in report.funnel],
    )
    return [("funnel.png", funnel)]


def pdf(report: Report) -> bytes:
    """The printable report: the figures as tables, then the charts, one PDF."""
    funnel = TablePage(
        _("Report of {kv}").format(kv=report.kv_name),
        subtitle(report),
        [_("Step"), _("People")],
        [[stage_label(step.stage), masked(step.count)] for step in report.funnel],
    )
    return pdf_document([funnel], [png for _name, png in charts(report)])
