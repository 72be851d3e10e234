"""Newcomers in the KV's groups: the welcome in the group, the private hello to applicants, and
what /willkommen answers. Group messages are rendered in the group's language by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.welcome import MAX_TEXT_LENGTH, Joiner, TextProblem, render_custom
from bot.telegram.format import esc, join_names
from models import ServedChat

# Shown literally in the help texts: the placeholders organisers may write.
PLACEHOLDERS = {"names": "{names}", "kv": "{kv}"}


def _standard(count: int) -> str:
    # One newcomer is "du", several are "ihr": the welcome speaks to all of them at once.
    if count == 1:
        return _(
            "Welcome, {names}! 👋 Nice to have you here.\n\n"
            "I am the bot of <b>{kv}</b>. Say hello to me privately with the button below: "
            "I'll show you our regulars' tables (Stammtische), groups and dates, and how you "
            "can get involved."
        )
    return _(
        "Welcome, {names}! 👋 Nice to have you all here.\n\n"
        "I am the bot of <b>{kv}</b>. Each of you, say hello to me privately with the button "
        "below: I'll show you our regulars' tables (Stammtische), groups and dates, and how "
        "you can get involved."
    )


def welcome_text(chat: ServedChat, joiners: Sequence[Joiner], kv: str) -> str:
    """The group's own welcome text if it has one, else the standard one, naming everyone."""
    names = join_names([joiner.name for joiner in joiners])
    custom = render_custom(chat, names=names, kv=kv)
    if custom is not None:
        return custom
    return _standard(len(joiners)).format(names=esc(names), kv=esc(kv))


def hello_keyboard(url: str, *, in_group: bool) -> InlineKeyboardMarkup:
    """The button that opens the private chat with the bot (from the group, or privately)."""
    label = _("Say hello to me privately") if in_group else _("Say hello to me")
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=label, url=url)]])


def join_request_text(name: str, group: str, kv: str, *, approve: bool) -> str:
    """The private hello to someone who asked to join a group (in the applicant's language)."""
    if approve:
        head = _("Hello {name}! 👋 Welcome to <b>{group}</b>: I'm letting you in right away.")
    else:
        head = _(
            "Hello {name}! 👋 Thank you for your request to join <b>{group}</b>. "
            "The group's admins will decide on it soon."
        )
    body = _(
        "Say hello to me: I am the bot of <b>{kv}</b> and I'll show you our regulars' "
        "tables (Stammtische), groups and dates, and how you can get involved."
    )
    return head.format(name=esc(name), group=esc(group)) + "\n\n" + body.format(kv=esc(kv))


def refusal() -> str:
    """/willkommen from someone who is no organiser."""
    return _("Sorry, only organisers can change the welcome.")


def _usage() -> str:
    return _(
        "Change it with:\n"
        "/welcome off – no welcome in this group\n"
        "/welcome on – welcome newcomers again\n"
        "/welcome text … – your own text; {names} stands for the newcomers' names, "
        "{kv} for the KV's name\n"
        "/welcome default – back to the standard text"
    ).format(**PLACEHOLDERS)


def status(chat: ServedChat) -> str:
    """/willkommen alone: whether newcomers are welcomed here, with which text, how to change."""
    state = (
        _("I welcome newcomers to this group, including those who ask to join.")
        if chat.welcome_enabled
        else _("The welcome for newcomers is switched off in this group.")
    )
    text = (
        _("I use this welcome text:") + "\n\n" + esc(chat.welcome_text)
        if chat.welcome_text
        else _("I use the standard welcome text.")
    )
    return f"{state}\n{text}\n\n{_usage()}"


def switched_off() -> str:
    """After /willkommen aus."""
    return _("Done: I don't welcome newcomers here any more. /welcome on switches it back on.")


def switched_on() -> str:
    """After /willkommen an."""
    return _("Done: I welcome newcomers here again.")


def back_to_standard() -> str:
    """After /willkommen standard."""
    return _("Done: newcomers get the standard welcome again.")


def text_saved(chat: ServedChat, *, example: str, kv: str) -> str:
    """After /willkommen text …: the new welcome as a newcomer named `example` would see it."""
    preview = render_custom(chat, names=example, kv=kv) or ""
    reply = _("Saved. This is how newcomers will be welcomed:") + "\n\n" + preview
    if not chat.welcome_enabled:
        reply += "\n\n" + _(
            "The welcome is switched off here at the moment; /welcome on switches it on."
        )
    return reply


def text_problem(problem: TextProblem) -> str:
    """Why a custom welcome text was not saved."""
    if problem.kind == "empty":
        return _(
            "Write your text after the command, for example:\n"
            "/welcome text Hello {names}, nice to have you at {kv}!"
        ).format(**PLACEHOLDERS)
    if problem.kind == "too_long":
        return _(
            "That text is too long: {length} character, at most {limit} are possible. "
            "Nothing was saved.",
            "That text is too long: {length} characters, at most {limit} are possible. "
            "Nothing was saved.",
            problem.length,
        ).format(length=problem.length, limit=MAX_TEXT_LENGTH)
    if problem.kind == "placeholder":
        return _(
            "I can't fill in {placeholder}: only {names} and {kv} may stand in curly braces. "
            "Nothing was saved."
        ).format(placeholder=esc(problem.detail), **PLACEHOLDERS)
    return _(
        "There is a lone curly brace: only {names} and {kv} may stand in curly braces. "
        "Nothing was saved."
    ).format(**PLACEHOLDERS)
