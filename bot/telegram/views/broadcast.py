"""How broadcasts look to organisers: audience, preview, progress, report, the unreachable.

Shared by the /rundschreiben handlers and the broadcast job; every function renders in the
current i18n locale.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.audience import Dimension, Option, Reach
from bot.services.broadcasts import Progress
from bot.telegram.callbacks import BroadcastCallback, SettingsCallback
from bot.telegram.format import duration, esc, format_meeting, member_label, number
from bot.telegram.labels import category_label
from models import Broadcast, Category, Member

# Telegram's limit is 4096 characters; names beyond this many go into "and N more".
MAX_LISTED = 150
BAR_WIDTH = 10


def dimension_label(dimension: Dimension) -> str:
    """A kind of criterion in words."""
    labels: dict[Dimension, str] = {
        "districts": _("Stadtteil"),
        "topics": _("Topic"),
        "groups": _("Group members"),
        "activity_types": _("Activity"),
        "meetings": _("Meeting attendees"),
    }
    return labels[dimension]


def option_label(option: Option, zone: ZoneInfo) -> str:
    """A choosable value as a button or list item (escaped for HTML by the caller if needed)."""
    if option.starts_at is None:
        return option.name
    label = f"{format_meeting(option.starts_at, zone)} · {option.name}"
    return f"{label} ({option.attendees})" if option.attendees is not None else label


def audience_text(chosen: dict[Dimension, list[Option]], zone: ZoneInfo) -> str:
    """The criteria in words: "everyone" or one line per kind (any of the values)."""
    if not chosen:
        return _("everyone who signed up")
    lines = [
        _("{kind}: {values}").format(
            kind=dimension_label(dimension),
            values=_(" or ").join(esc(option_label(value, zone)) for value in values),
        )
        for dimension, values in chosen.items()
    ]
    if len(lines) == 1:
        return lines[0]
    return "\n".join(["", *(f"• {line}" for line in lines), _("(members who fit all of these)")])


def left_out_text(reach: Reach, category: Category) -> str:
    """Who an audience leaves out and why, or an empty string."""
    parts = []
    if reach.opted_out:
        parts.append(
            _("{count} switched off {category}.").format(
                count=number(reach.opted_out), category=category_label(category)
            )
        )
    if reach.unreachable:
        parts.append(
            _("{count} can't be reached: they blocked the bot.").format(
                count=number(reach.unreachable)
            )
        )
    return " ".join(parts)


def preview_text(
    chosen: dict[Dimension, list[Option]],
    reach: Reach,
    category: Category,
    content: str,
    zone: ZoneInfo,
) -> str:
    """The preview: what, to whom, how many exactly, and who is left out."""
    lines = [
        _("<b>Preview of your broadcast</b>"),
        _("Message: {content}").format(content=content),
        _("Kind: {category}").format(category=category_label(category)),
        _("Audience: {audience}").format(audience=audience_text(chosen, zone)),
        "",
        _("Recipients: <b>{count}</b>").format(count=number(len(reach.recipient_ids))),
    ]
    left_out = left_out_text(reach, category)
    if left_out:
        lines.append(_("Left out: {reasons}").format(reasons=left_out))
    if not reach.recipient_ids:
        lines.append(_("Nobody would receive this. Change the audience."))
    return "\n".join(lines)


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
        label = f"“{esc(summary)}”"
        return f"{kinds[content_type]}: {label}" if content_type in kinds else label
    return kinds.get(content_type, _("a message"))


def scheduled_line(broadcast: Broadcast, zone: ZoneInfo) -> str:
    """One line per open broadcast in /rundschreiben's list."""
    return _("#{id} {when}: {content}, {category}").format(
        id=broadcast.id,
        when=format_meeting(broadcast.scheduled_at, zone),
        content=content_label(broadcast.content_type, broadcast.summary),
        category=category_label(broadcast.category),
    )


def _bar(done: int, total: int) -> str:
    filled = round(BAR_WIDTH * done / total) if total else BAR_WIDTH
    return "▓" * filled + "░" * (BAR_WIDTH - filled)


def progress_text(broadcast: Broadcast, progress: Progress) -> str:
    """The running broadcast: sent of total, rate and time left."""
    lines = [
        _("<b>Broadcast #{id} is going out</b>").format(id=broadcast.id),
        f"{_bar(progress.done, progress.total)} "
        + _("{done} of {total}").format(done=number(progress.done), total=number(progress.total)),
        _("Delivered: {count}").format(count=number(progress.sent)),
    ]
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
            [
                InlineKeyboardButton(
                    text=_("Stop this broadcast"),
                    callback_data=BroadcastCallback(action="stop", value=broadcast_id).pack(),
                )
            ]
        ]
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
        lines.extend(
            _("  {count} × {reason}").format(count=number(count), reason=esc(reason))
            for reason, count in reasons
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
            [
                InlineKeyboardButton(
                    text=_("Who could not be reached?"),
                    callback_data=BroadcastCallback(action="who", value=broadcast_id).pack(),
                )
            ]
        ]
    )


def unreached_text(broadcast_id: int, members: list[Member]) -> str:
    """Names (and ids) of the members a broadcast missed, for a call."""
    if not members:
        return _("Broadcast #{id} reached everyone it was sent to.").format(id=broadcast_id)
    lines = [
        _("<b>Not reached by broadcast #{id}</b> ({count}):").format(
            id=broadcast_id, count=number(len(members))
        )
    ]
    lines.extend(f"• {member_label(member)}" for member in members[:MAX_LISTED])
    if len(members) > MAX_LISTED:
        lines.append(_("… and {count} more").format(count=number(len(members) - MAX_LISTED)))
    return "\n".join(lines)


def settings_button() -> InlineKeyboardMarkup:
    """Under every broadcast copy: where to switch such messages off."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Which messages I get"),
                    callback_data=SettingsCallback(action="open").pack(),
                )
            ]
        ]
    )
