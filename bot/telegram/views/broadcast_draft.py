"""The screens of a broadcast being composed: the audience panel and its pages, time, confirm.

Every page shows how many members the draft would reach as it stands, so the organiser sees
what each tap does. Texts render in the current i18n locale.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.audience import (
    DIMENSIONS,
    Audience,
    Dimension,
    Option,
    Reach,
    UnknownSegmentError,
)
from bot.services.broadcast_draft import Draft
from bot.services.broadcasts import ScheduleError
from bot.telegram.callbacks import AudienceKind, BroadcastAction
from bot.telegram.format import esc, format_meeting, number, zone_name
from bot.telegram.labels import category_hint, category_label
from bot.telegram.views.broadcast import button, content_label, settings_button_label
from models import Category

DIMENSION_OF: dict[AudienceKind, Dimension] = {
    AudienceKind.DISTRICTS: "districts",
    AudienceKind.TOPICS: "topics",
    AudienceKind.GROUPS: "groups",
    AudienceKind.ACTIVITY_TYPES: "activity_types",
    AudienceKind.MEETINGS: "meetings",
}
KIND_OF = {dimension: kind for kind, dimension in DIMENSION_OF.items()}
# The kinds of message in the order of their page; a button names one by its position here.
# What a broadcast can be; memorial reminders are the bot's own, never an organiser's message.
CATEGORIES: tuple[Category, ...] = (
    Category.ANNOUNCEMENTS,
    Category.REMINDERS,
    Category.CALLS_FOR_HELP,
)
PAGE_SIZE = 20


def ask_for_message() -> str:
    """The first step of a new draft."""
    return _(
        "Send me the message for the members: text with formatting, a photo or a document, "
        "just as they should see it. Then you choose who gets it. /cancel stops."
    )


def unsupported_content() -> str:
    """A sticker, a poll, a location: nothing copyMessage carries well to every member."""
    return _("I can send text, photos, documents, videos and audio. Please send one of those.")


def ask_for_time(zone: ZoneInfo) -> str:
    """Planning for later: the date and time, in the KV's zone."""
    return _(
        "When shall it go out? Write the date and time, e.g. 24.12. 18:00 "
        "(time in {zone}). /cancel stops."
    ).format(zone=zone_name(zone))


def schedule_error_text(error: ScheduleError) -> str:
    """Why a typed time can't be used, and that the draft waits for another one."""
    reasons = {
        "format": _("I didn't understand that. Write it like 24.12. 18:00."),
        "past": _("That time has already passed. Please choose a time in the future."),
        "gap": _(
            "That time doesn't exist on that day: the clocks jump forward. "
            "Please choose another time."
        ),
        "far": _("That is more than a year ahead. Please check the date."),
    }
    return (
        reasons.get(error.reason, reasons["format"]) + "\n" + _("Write the time again, or /cancel.")
    )


def segment_error_text(error: UnknownSegmentError) -> str:
    """A chosen Stadtteil, topic, group or meeting that is gone (or a forged one)."""
    del error  # every reason means the same to the organiser
    return _("That choice is no longer available.")


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
            _(
                "{count} member switched off {category}.",
                "{count} members switched off {category}.",
                reach.opted_out,
            ).format(count=number(reach.opted_out), category=category_label(category))
        )
    if reach.unreachable:
        parts.append(
            _(
                "{count} member can't be reached (blocked the bot).",
                "{count} members can't be reached (blocked the bot).",
                reach.unreachable,
            ).format(count=number(reach.unreachable))
        )
    return " ".join(parts)


def reach_line(reach: Reach) -> str:
    """ "With this you reach 123 members.", under every page of the audience."""
    count = reach.recipients
    return _(
        "With this you reach <b>{count}</b> member.",
        "With this you reach <b>{count}</b> members.",
        count,
    ).format(count=number(count))


def preview_text(
    chosen: dict[Dimension, list[Option]], reach: Reach, draft: Draft, zone: ZoneInfo
) -> str:
    """The preview: what, to whom, how many exactly, who is left out, and how to opt out."""
    lines = [
        _("<b>Preview of your broadcast</b>"),
        _("Message: {content}").format(content=content_label(draft.content_type, draft.summary)),
        _("Kind: {category}").format(category=category_label(draft.category)),
        _("Audience: {audience}").format(audience=audience_text(chosen, zone)),
        "",
        _("Recipients: <b>{count}</b>").format(count=number(reach.recipients)),
    ]
    left_out = left_out_text(reach, draft.category)
    if left_out:
        lines.append(_("Left out: {reasons}").format(reasons=left_out))
    if not reach.recipients:
        lines.append(_("Nobody would receive this. Change the audience."))
    lines += [
        "",
        _(
            "Each copy comes with a button “{button}”, where members can switch off {category} "
            "for themselves."
        ).format(button=settings_button_label(), category=category_label(draft.category)),
    ]
    return "\n".join(lines)


def panel(
    chosen: dict[Dimension, list[Option]], reach: Reach, draft: Draft, zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    """The audience panel: the preview, and buttons to change the audience or kind, or send."""
    kinds = []
    for dimension in DIMENSIONS:
        count = len(draft.audience.values(dimension))
        label = dimension_label(dimension) + (f" ({count})" if count else "")
        kinds.append(button(label, BroadcastAction.PAGE, KIND_OF[dimension]))
    rows = [kinds[:2], kinds[2:4], kinds[4:]]
    if not draft.audience.is_everyone:
        rows.append([button(_("Everyone who signed up"), BroadcastAction.EVERYONE)])
    kind = _("Kind: {category} (change)").format(category=category_label(draft.category))
    rows.append([button(kind, BroadcastAction.KINDS)])
    if reach.recipients:
        rows.append(
            [
                button(_("Send now"), BroadcastAction.NOW),
                button(_("Schedule…"), BroadcastAction.LATER),
            ]
        )
    rows.append([button(_("Discard"), BroadcastAction.DISCARD)])
    text = preview_text(chosen, reach, draft, zone)
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def page_of(options: list[Option], option_id: int) -> int:
    """The page of `options` that shows `option_id` (the first if it isn't there)."""
    for index, option in enumerate(options):
        if option.id == option_id:
            return index // PAGE_SIZE
    return 0


def dimension_page(
    dimension: Dimension,
    options: list[Option],
    audience: Audience,
    reach: Reach,
    page: int,
    zone: ZoneInfo,
) -> tuple[str, InlineKeyboardMarkup]:
    """One kind's values with a tick for each chosen one, PAGE_SIZE at a time, and the reach."""
    chosen = audience.values(dimension)
    pages = max(1, -(-len(options) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    kind = KIND_OF[dimension]
    if not options:
        text = _("The KV's setup has nothing to choose here yet.")
    else:
        text = _("<b>{kind}</b>: tap to choose; any of the chosen ones matches.").format(
            kind=dimension_label(dimension)
        )
    buttons = [
        button(
            f"✅ {option_label(option, zone)}",
            BroadcastAction.REMOVE,
            kind,
            option.id,
        )
        if option.id in chosen
        else button(option_label(option, zone), BroadcastAction.ADD, kind, option.id)
        for option in options[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    ]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    if pages > 1:
        rows.append(
            [
                button("‹", BroadcastAction.PAGE, kind, (page - 1) % pages),
                button(f"{page + 1}/{pages}", BroadcastAction.PAGE, kind, page),
                button("›", BroadcastAction.PAGE, kind, (page + 1) % pages),
            ]
        )
    footer = [button(_("« Back"), BroadcastAction.HOME)]
    if chosen:
        footer.append(button(_("Clear"), BroadcastAction.CLEAR, kind))
    rows.append(footer)
    return f"{text}\n\n{reach_line(reach)}", InlineKeyboardMarkup(inline_keyboard=rows)


def category_page(category: Category, reach: Reach) -> tuple[str, InlineKeyboardMarkup]:
    """The kinds of message, the chosen one ticked, and the reach as the draft stands."""
    lines = [
        _(
            "<b>Kind of message</b>: members can switch each kind off for themselves, so the "
            "kind affects who gets it."
        ),
        "",
    ]
    lines += [
        f"{'✅ ' if choice is category else ''}{category_label(choice)}: {category_hint(choice)}"
        for choice in CATEGORIES
    ]
    lines += ["", reach_line(reach)]
    rows = [
        [
            button(
                f"{'✅ ' if choice is category else ''}{category_label(choice)}",
                BroadcastAction.KIND,
                value=position,
            )
        ]
        for position, choice in enumerate(CATEGORIES)
    ]
    rows.append([button(_("« Back"), BroadcastAction.HOME)])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def confirm(count: int, draft: Draft, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    """Send to `count` members now (the draft has no time) or at the draft's time?"""
    content = content_label(draft.content_type, draft.summary)
    if draft.at is None:
        text = _(
            "Send {content} to <b>{count}</b> member now?",
            "Send {content} to <b>{count}</b> members now?",
            count,
        ).format(content=content, count=number(count))
    else:
        text = _(
            "Send {content} to <b>{count}</b> member on {when}?",
            "Send {content} to <b>{count}</b> members on {when}?",
            count,
        ).format(content=content, count=number(count), when=format_meeting(draft.at, zone))
        text += "\n" + _("Whoever fits the audience then will receive it.")
    text += "\n" + _("Please don't delete your message until it has gone out: I send copies of it.")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Yes, send it"), BroadcastAction.SEND, value=0 if draft.at is None else 1)],
            [button(_("« Back"), BroadcastAction.HOME)],
        ]
    )
    return text, keyboard


def discarded() -> str:
    """The draft's panel after "Discard"."""
    return _("Discarded. Nothing was sent.")


def confirm_again() -> str:
    """A "Send" from a confirmation that no longer stands: the current one is shown instead."""
    return _("The draft has changed since: please check it and confirm again.")


def choose_time_again() -> str:
    """A confirmation for a time that the draft no longer has (it was changed since)."""
    return _("Please choose the time again.")
