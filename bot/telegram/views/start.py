"""/start: the greeting (for newcomers, and for hosts and organisers), and the consent question.

The consent question is asked by /start, by /profil and by joining a group without consent, so
it lives here and not in one of those handlers.
"""

from __future__ import annotations

from collections.abc import Collection

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.callbacks import ConsentAction, ConsentCallback
from bot.telegram.format import esc
from models import Role

Screen = tuple[str, InlineKeyboardMarkup]


def greeting(name: str, kv: str) -> str:
    """The newcomer's hello; `name` is escaped already."""
    return _(
        "Hello {name}! 👋\n\n"
        "I am the bot of <b>{kv}</b>. I help you find your way in: regulars' tables "
        "(Stammtische), base groups, dates and ways to get involved."
    ).format(name=name, kv=esc(kv))


def came_through(chat_title: str) -> str:
    """Where a member came from: the KV's Telegram group they followed the link in."""
    return _("Nice that you found us through {group}.").format(group=esc(chat_title))


def invited_by(name: str) -> str:
    """Where a member came from: a member's invitation."""
    return _("{name} invited you – welcome!").format(name=esc(name))


def link_gone() -> str:
    """A /start link to a group or meeting that is no longer there (or never was)."""
    return _("The group or meeting in your link is no longer available.")


def carry_on() -> str:
    """/start again in the middle of the intake."""
    return _("Let's carry on where we left off.")


def welcome_back() -> str:
    """/start again after the intake."""
    return _(
        "Good to see you again. /groups shows groups that fit you, /profile your answers, "
        "/kv how our KV works, /help everything else."
    )


def role_greeting(name: str, kv: str, roles: Collection[Role]) -> str:
    """The hello for hosts, organisers and admins: what the bot does for them in their role.

    They know the KV already, so they are not asked the newcomer's questions; /profil is there
    if they want suggestions for themselves too.
    """
    parts = [_("Hello {name}! 👋 I am the bot of <b>{kv}</b>.").format(name=name, kv=esc(kv))]
    if Role.HOST in roles:
        parts.append(
            _(
                "<b>You are a host:</b> when someone joins one of your groups, I tell you "
                "privately, with a button to write to them. /dates shows the next meetings."
            )
        )
    if Role.ORGANISER in roles:
        parts.append(
            _(
                "<b>You are an organiser:</b> /broadcast sends a message to members. Every "
                "week I send you a list of the newcomers who haven't found a group yet, and I "
                "tell you when someone would like to start a group or talk to the office."
            )
        )
    if Role.ADMIN in roles:
        parts.append(
            _(
                "<b>You are an admin:</b> /role gives and takes roles, /roles shows who holds "
                "which. You can also do everything organisers can."
            )
        )
    parts.append(
        _(
            "/help shows everything I can do for you. /profile gets you group suggestions "
            "for yourself too."
        )
    )
    return "\n\n".join(parts)


def consent_question(kv: str) -> Screen:
    """What is stored, why, who sees it, for how long; and the two answers."""
    text = _(
        "Before we start: to suggest groups that fit you, I'd like to remember your first name, "
        "the topics you care about, your Stadtteil, when you have time, how you'd like to take "
        "part and how often you want to hear from us.\n\n"
        "<b>Why:</b> only to suggest groups and dates, and to tell the hosts of a group you "
        "join that you're coming.\n"
        "<b>Who sees it:</b> the organisers of {kv}; the hosts of a group you join see your "
        "name.\n"
        "<b>How long:</b> until you delete it. /privacy shows you everything and deletes it "
        "at the touch of a button.\n\n"
        "Political interests are sensitive data, so I only store them if you agree."
    ).format(kv=esc(kv))
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Agree"),
                    callback_data=ConsentCallback(action=ConsentAction.AGREE).pack(),
                ),
                InlineKeyboardButton(
                    text=_("Not now"),
                    callback_data=ConsentCallback(action=ConsentAction.NOT_NOW).pack(),
                ),
            ]
        ]
    )
    return text, keyboard


def agreed_toast() -> str:
    """The short answer to "Agree"."""
    return _("Thank you!")


def agreed() -> str:
    """The consent question becomes this once agreed; the first question follows."""
    return _("Thank you! A few quick questions – every one can be skipped.")


def not_now() -> str:
    """The consent question becomes this on "Not now": what is open without consent."""
    return _(
        "All right, I won't store anything about you beyond your Telegram id and language. "
        "You can still look around: /groups lists all groups, /dates the next meetings, "
        "/kv explains how our KV works. If you change your mind: /profile."
    )
