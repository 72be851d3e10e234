"""/protokoll: the audit log for admins, newest first, a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_time

from bot.services.audit import Shown
from bot.telegram.callbacks import AuditCallback
from bot.telegram.format import (
    esc,
    format_day,
    formatting_locale,
    member_label,
    number,
    part_label,
    split_message,
)
from models import BOT_ACTIONS, AuditAction

# Entries per page: each line stays well under 300 characters, so a page fits one message
# (split_message splits it anyway should it not).
PAGE_SIZE = 15


def action_label(action: str) -> str:
    """What an entry's action means, in the reader's language (a stored value not known to
    this version is shown as it is)."""
    labels = {
        AuditAction.BROADCAST_SENT: _("broadcast sent"),
        AuditAction.BROADCAST_SCHEDULED: _("broadcast scheduled"),
        AuditAction.BROADCAST_CANCELLED: _("broadcast stopped"),
        AuditAction.UNREACHED_LIST: _("list of members a broadcast missed"),
        AuditAction.DIGEST: _("newcomer digest to organisers"),
        AuditAction.ATTENDEE_LIST: _("list of who comes to a meeting"),
        AuditAction.HOST_LIST: _("list of who comes tomorrow, to a host"),
        AuditAction.HOST_SUMMARY: _("the day's new answers, to a host"),
        AuditAction.STAFFING_LIST: _("list of who holds an action's shifts"),
        AuditAction.HELP_CALL: _("call for help for a shift"),
        AuditAction.ACTION_CANCELLED: _("action date called off, its people told"),
        AuditAction.MEMBER_LOOKUP: _("member looked up to see their roles"),
        AuditAction.ROLE_LIST: _("list of who holds which role"),
        AuditAction.ROLE_CHANGE: _("role changed"),
        AuditAction.NEWCOMER_LIST: _("page of the newcomer digest"),
    }
    try:
        return labels[AuditAction(action)]
    except ValueError:
        return esc(action)


def _actor(shown: Shown) -> str:
    if shown.actor is not None:
        return member_label(shown.actor)
    if shown.entry.action in BOT_ACTIONS:
        return _("the bot")
    return _("an erased member")


def entry_line(shown: Shown, zone: ZoneInfo) -> str:
    """One entry: when (the KV's zone), who, what, about what, how many members."""
    entry = shown.entry
    local = entry.at.astimezone(zone)
    when = "{} {}".format(
        format_day(local, zone), format_time(local, format="short", locale=formatting_locale(zone))
    )
    how_many = ngettext("{count} member", "{count} members", entry.count).format(
        count=number(entry.count)
    )
    parts = [when, _actor(shown), action_label(entry.action)]
    if entry.subject:
        parts.append(esc(entry.subject))
    parts.append(how_many)
    return " · ".join(parts)


def pages(total: int) -> int:
    """How many pages `total` entries fill (at least one, the empty log's)."""
    return max(1, -(-total // PAGE_SIZE))


def log_page(
    entries: Sequence[Shown], *, page: int, total: int, zone: ZoneInfo
) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """Page `page` of the log as messages (usually one), the paging buttons under the last."""
    if not total:
        return [(_("The audit log is empty."), None)]
    count = pages(total)
    title = _("<b>Audit log</b> (page {page} of {pages}, newest first):").format(
        page=page + 1, pages=count
    )
    lines = [entry_line(shown, zone) for shown in entries]
    parts = split_message(lambda part, parts: title + part_label(part, parts), lines)
    texts = [text for text, _run in parts]
    keyboard = _keyboard(page, count)
    return [
        (text, keyboard if index == len(texts) - 1 else None) for index, text in enumerate(texts)
    ]


def _keyboard(page: int, count: int) -> InlineKeyboardMarkup | None:
    row = []
    if page > 0:
        row.append(
            InlineKeyboardButton(
                text=_("« Newer"), callback_data=AuditCallback(page=page - 1).pack()
            )
        )
    if page + 1 < count:
        row.append(
            InlineKeyboardButton(
                text=_("Older »"), callback_data=AuditCallback(page=page + 1).pack()
            )
        )
    return InlineKeyboardMarkup(inline_keyboard=[row]) if row else None


def page_gone() -> str:
    """A page button beyond the log's end (entries pruned meanwhile): the last page instead."""
    return _("The log is shorter now; here is its last page.")
