"""How broadcasts look to organisers once they exist: lists, progress, report, the unreachable.

Shared by the /rundschreiben handlers, the broadcast job and the outbox (the button under each
copy); the screens of a draft are in bot.telegram.views.broadcast_draft. Every function renders
in the current i18n locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services.broadcasts import BroadcastError, Progress
from bot.telegram.callbacks import (
    AudienceKind,
    BroadcastAction,
    BroadcastCallback,
    SettingsAction,
    SettingsCallback,
)
from bot.telegram.format import (
    duration,
    esc,
    fitting,
    format_meeting,
    member_label,
    number,
    part_label,
    split_message,
)
from bot.telegram.labels import category_label
from models import Broadcast, BroadcastStatus, Member

BAR_WIDTH = 10


def button(
    text: str, action: BroadcastAction, dim: AudienceKind | None = None, value: int = 0
) -> InlineKeyboardButton:
    """A button of the broadcast screens."""
    data = BroadcastCallback(action=action, dim=dim, value=value)
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def no_permission() -> str:
    """The answer to anyone else who tries /rundschreiben or one of its buttons."""
    return _("Sorry, only organisers can send broadcasts.")


def draft_closed() -> str:
    """A button or message of a draft that was sent, discarded or cancelled meanwhile."""
    return _("This draft is no longer open. /broadcast starts a new one.")


def broadcast_error_text(error: BroadcastError) -> str:
    """Why a button can't act on its broadcast."""
    if error.reason == "ended":
        return _("This broadcast has already ended.")
    return _("I don't know that broadcast.")


def content_label(content_type: str, summary: str) -> str:
    """A broadcast's content in a few words: its first words or its kind."""
    kinds = {
        "photo": _("a photo"),
        "document": _("a document"),
        "video": _("a video"),
        "animation": _("an animation"),
        "audio": _("an audio file"),
        "voice": _("a voice message"),
    }
    if summary:
        # Quotation marks differ by language: “…” in English, „…“ in German.
        label = _("“{text}”").format(text=esc(summary))
        return f"{kinds[content_type]}: {label}" if content_type in kinds else label
    return kinds.get(content_type, _("a message"))


def scheduled_line(broadcast: Broadcast, zone: ZoneInfo) -> str:
    """One line per broadcast in /rundschreiben's list."""
    return _("#{id} {when}: {content}, {category}").format(
        id=broadcast.id,
        when=format_meeting(broadcast.scheduled_at, zone),
        content=content_label(broadcast.content_type, broadcast.summary),
        category=category_label(broadcast.category),
    )


# Broadcasts per message of the overview: a button each, and a keyboard holds 100.
OVERVIEW_PER_MESSAGE = 40
# The failure reasons' share of the final report.
REASONS_BUDGET = 2500


def overview(
    pending: Sequence[Broadcast], finished: Sequence[Broadcast], zone: ZoneInfo
) -> list[tuple[str, InlineKeyboardMarkup]]:
    """/rundschreiben: what is scheduled or running (to stop), what went out (its report), new.

    One message, or several when there are more broadcasts than one holds.
    """
    # Each entry: its line (a heading goes with the first of its kind) and its button.
    entries: list[tuple[str, InlineKeyboardButton]] = []
    for index, item in enumerate(pending):
        line = scheduled_line(item, zone)
        if index == 0:
            line = _("<b>Scheduled and running broadcasts</b>") + "\n" + line
        stop = button(_("Stop #{id}").format(id=item.id), BroadcastAction.STOP, value=item.id)
        entries.append((line, stop))
    for index, item in enumerate(finished):
        line = scheduled_line(item, zone)
        if index == 0:
            line = _("<b>Sent recently</b>") + "\n" + line
        report = button(_("Report #{id}").format(id=item.id), BroadcastAction.REPORT, value=item.id)
        entries.append((line, report))
    parts = split_message("", [line for line, _button in entries], max_items=OVERVIEW_PER_MESSAGE)
    messages = []
    for number_, (text, run) in enumerate(parts, start=1):
        rows = [[entries[index][1]] for index in run]
        if number_ == len(parts):
            rows.append([button(_("New broadcast"), BroadcastAction.NEW)])
        messages.append((text.strip(), InlineKeyboardMarkup(inline_keyboard=rows)))
    return messages


def _bar(done: int, total: int) -> str:
    filled = round(BAR_WIDTH * done / total) if total else BAR_WIDTH
    return "▓" * filled + "░" * (BAR_WIDTH - filled)


def _outcome(progress: Progress) -> str:
    """ "1.428 delivered, 15 unreachable (blocked the bot), 2 failed": what reached an end."""
    parts = [_("{count} delivered").format(count=number(progress.sent))]
    if progress.blocked:
        parts.append(
            _("{count} unreachable (blocked the bot)").format(count=number(progress.blocked))
        )
    if progress.failed:
        parts.append(_("{count} failed").format(count=number(progress.failed)))
    if progress.cancelled:
        parts.append(_("{count} not sent").format(count=number(progress.cancelled)))
    return ", ".join(parts)


def progress_text(broadcast: Broadcast, progress: Progress) -> str:
    """The progress message: while it runs, what is sent of what is to send; then the outcome.

    Members known to have blocked the bot are counted apart from the start: they are in the
    broadcast's rows, but nothing is sent to them.
    """
    if broadcast.status is BroadcastStatus.DONE:
        return "\n".join(
            [
                _("<b>Broadcast #{id} has gone out</b>").format(id=broadcast.id),
                f"{_bar(1, 1)} " + _("Finished: {outcome}").format(outcome=_outcome(progress)),
            ]
        )
    if broadcast.status is BroadcastStatus.CANCELLED:
        return "\n".join(
            [
                _("<b>Broadcast #{id} was stopped.</b>").format(id=broadcast.id),
                _outcome(progress),
            ]
        )
    known = min(broadcast.unreachable, progress.done)
    to_send, done = progress.total - known, progress.done - known
    lines = [
        _("<b>Broadcast #{id} is going out</b>").format(id=broadcast.id),
        f"{_bar(done, to_send)} "
        + _("{done} of {total}").format(done=number(done), total=number(to_send)),
        _("Delivered: {count}").format(count=number(progress.sent)),
    ]
    if progress.blocked:
        lines.append(
            _("Unreachable (blocked the bot): {count}").format(count=number(progress.blocked))
        )
    if progress.rate > 0:
        lines.append(
            _("{rate} per second").format(rate=number(round(progress.rate, 1)))
            + (
                " · " + _("about {time} left").format(time=duration(progress.remaining))
                if progress.remaining is not None and progress.open
                else ""
            )
        )
    return "\n".join(lines)


def progress_keyboard(broadcast_id: int) -> InlineKeyboardMarkup:
    """The stop button under a progress message or a scheduled broadcast."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Stop this broadcast"), BroadcastAction.STOP, value=broadcast_id)]
        ]
    )


def scheduled_text(broadcast: Broadcast, zone: ZoneInfo) -> str:
    """The confirmation of a broadcast planned for later."""
    return _(
        "Scheduled as #{id} for {when}. /broadcast lists it, and you can stop it there."
    ).format(id=broadcast.id, when=format_meeting(broadcast.scheduled_at, zone))


def stop_question(broadcast_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """Stop for real? Yes or no."""
    text = _("Stop broadcast #{id}? Messages already sent stay sent.").format(id=broadcast_id)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("Yes, stop it"), BroadcastAction.STOP_CONFIRMED, value=broadcast_id),
                button(_("No, go on"), BroadcastAction.KEEP, value=broadcast_id),
            ]
        ]
    )
    return text, keyboard


def stopped() -> str:
    """The short note when a broadcast was stopped."""
    return _("Stopped.")


def goes_on() -> str:
    """The short note when the organiser decided not to stop it."""
    return _("It goes on.")


def stopped_before_start(broadcast_id: int) -> str:
    """A scheduled broadcast stopped before its time."""
    return _("Broadcast #{id} was stopped before it went out. Nothing was sent.").format(
        id=broadcast_id
    )


def report_text(
    broadcast: Broadcast, progress: Progress, reasons: list[tuple[str, int]], *, cancelled: bool
) -> str:
    """The final report: delivered, blocked, failed with reasons, and who was left out."""
    if cancelled:
        title = _("<b>Broadcast #{id} was stopped.</b>").format(id=broadcast.id)
    else:
        title = _("<b>Broadcast #{id} is done.</b>").format(id=broadcast.id)
    lines = [
        title,
        _("Delivered: {count} of {total}").format(
            count=number(progress.sent), total=number(progress.total)
        ),
    ]
    if progress.blocked:
        lines.append(
            _("Unreachable (blocked the bot): {count}").format(count=number(progress.blocked))
        )
    if progress.failed:
        lines.append(_("Failed: {count}").format(count=number(progress.failed)))
        why = [
            _("  {count} × {reason}").format(count=number(count), reason=esc(reason))
            for reason, count in reasons
        ]
        # Most frequent first; the rarest are counted when they don't all fit one message.
        shown = fitting(why, budget=REASONS_BUDGET)
        lines += why[:shown]
        if shown < len(why):
            rest = sum(count for _reason, count in reasons[shown:])
            lines.append(
                ngettext(
                    "  {count} more message failed for other reasons",
                    "  {count} more messages failed for other reasons",
                    rest,
                ).format(count=number(rest))
            )
    if progress.cancelled:
        lines.append(_("Not sent: {count}").format(count=number(progress.cancelled)))
    if broadcast.opted_out:
        lines.append(
            _("Left out because they switched off {category}: {count}").format(
                category=category_label(broadcast.category), count=number(broadcast.opted_out)
            )
        )
    if broadcast.started_at and broadcast.finished_at:
        lines.append(
            _("Took {time}.").format(time=duration(broadcast.finished_at - broadcast.started_at))
        )
    return "\n".join(lines)


def report_keyboard(broadcast_id: int) -> InlineKeyboardMarkup:
    """The button that lists who could not be reached."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Who could not be reached?"), BroadcastAction.WHO, value=broadcast_id)]
        ]
    )


def unreached_text(broadcast_id: int, members: list[Member], *, pruned: int = 0) -> list[str]:
    """Names (and ids) of the members a broadcast missed, for a call: every one of them, in
    as many messages as it takes. `pruned`: how many more were missed whose names went with
    the outbox rows deleted after the retention period."""
    if pruned:
        gone = ngettext(
            "{count} member it missed is no longer listed: who got which message is deleted "
            "after a while, only the counts remain.",
            "{count} members it missed are no longer listed: who got which message is deleted "
            "after a while, only the counts remain.",
            pruned,
        ).format(count=number(pruned))
        if not members:
            return [gone]
        return [*unreached_text(broadcast_id, members), gone]
    if not members:
        return [_("Broadcast #{id} reached everyone it was sent to.").format(id=broadcast_id)]
    title = _("<b>Not reached by broadcast #{id}</b> ({count}):").format(
        id=broadcast_id, count=number(len(members))
    )
    lines = [f"• {member_label(member)}" for member in members]
    parts = split_message(lambda part, parts: title + part_label(part, parts), lines)
    return [text for text, _run in parts]


def settings_button_label() -> str:
    """The label of the button under every copy (the preview names it too)."""
    return _("Which messages I get")


def settings_button() -> InlineKeyboardMarkup:
    """Under every broadcast copy: where to switch such messages off."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=settings_button_label(),
                    callback_data=SettingsCallback(action=SettingsAction.OPEN).pack(),
                )
            ]
        ]
    )
