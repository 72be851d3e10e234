"""The bot's commands: names per language, who may use them, and the menus Telegram shows."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from bot.services.roles import allows
from bot.settings import SUPPORTED_LOCALES
from models import Role


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command: its name in each language (both always work), a description, who may use it."""

    names: dict[str, str]
    description: LazyProxy
    roles: frozenset[Role] = frozenset()

    def name(self, locale: str) -> str:
        """The command's name in the menu of `locale` (German for unknown locales)."""
        return self.names.get(locale, self.names["de"])

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every spelling the command filter accepts."""
        return tuple(dict.fromkeys(self.names.values()))


START = CommandSpec({"de": "start", "en": "start"}, __("Start and welcome"))
HELP = CommandSpec({"de": "hilfe", "en": "help"}, __("What I can do for you"))
LANGUAGE = CommandSpec({"de": "sprache", "en": "language"}, __("Change language"))
ROLE = CommandSpec(
    {"de": "rolle", "en": "role"},
    __("Give or take a role"),
    frozenset({Role.ADMIN}),
)
ROLES = CommandSpec(
    {"de": "rollen", "en": "roles"},
    __("Who holds which role"),
    frozenset({Role.ADMIN}),
)
AUDIT_LOG = CommandSpec(
    {"de": "protokoll", "en": "auditlog"},
    __("Who read member lists or wrote to members"),
    frozenset({Role.ADMIN}),
)
CANCEL = CommandSpec({"de": "abbrechen", "en": "cancel"}, __("Cancel the current step"))
PROFILE = CommandSpec({"de": "profil", "en": "profile"}, __("Your interests and answers"))
GROUPS = CommandSpec({"de": "gruppen", "en": "groups"}, __("Groups that fit you"))
DATES = CommandSpec({"de": "termine", "en": "dates"}, __("The next meetings"))
CALENDAR = CommandSpec({"de": "kalender", "en": "calendar"}, __("Your dates for your calendar"))
INVITE = CommandSpec({"de": "einladen", "en": "invite"}, __("Your link to invite others"))
ACTIONS = CommandSpec(
    {"de": "aktionen", "en": "actions"}, __("Info stands and door-to-door rounds: sign up")
)
PLAN_ACTIONS = CommandSpec(
    {"de": "aktionen_planen", "en": "plan_actions"},
    __("Plan info stands and door-to-door rounds, see their staffing"),
    frozenset({Role.HOST, Role.ORGANISER, Role.ADMIN}),
)
MEMORIALS = CommandSpec(
    {"de": "gedenktage", "en": "memorials"}, __("Gedenktage and the KV's events on them")
)
GUIDE = CommandSpec({"de": "kv", "en": "kv"}, __("How our KV works"))
SETTINGS = CommandSpec(
    {"de": "einstellungen", "en": "settings"}, __("Which messages you get from me")
)
MY_GROUPS = CommandSpec(
    {"de": "meine_gruppen", "en": "my_groups"},
    __("Your groups as host: dates, who is coming"),
    frozenset({Role.HOST, Role.ORGANISER}),
)
BROADCAST = CommandSpec(
    {"de": "rundschreiben", "en": "broadcast"},
    __("Send a message to members"),
    frozenset({Role.ORGANISER, Role.ADMIN}),
)
SURVEY = CommandSpec(
    {"de": "umfrage", "en": "survey"},
    __("Ask members in a survey; see the results"),
    frozenset({Role.ORGANISER, Role.ADMIN}),
)
PRIVACY = CommandSpec(
    {"de": "datenschutz", "en": "privacy"}, __("What I store about you: see it, delete it")
)
REPORT = CommandSpec(
    {"de": "bericht", "en": "report"},
    __("Report: figures and charts over a period"),
    frozenset({Role.ORGANISER, Role.ADMIN}),
)
# Group chats only: in no private menu and not in /hilfe (hence not in ALL_COMMANDS).
WELCOME = CommandSpec(
    {"de": "willkommen", "en": "welcome"},
    __("Set up the welcome for newcomers in this group"),
    frozenset({Role.ORGANISER}),
)
# The organisers' list of quiet members who agreed to be called (handlers/reengagement.py).
QUIET = CommandSpec(
    {"de": "ruhige", "en": "quiet"},
    __("Quiet members who'd welcome a call"),
    frozenset({Role.ORGANISER}),
)

# The order here is the order of /hilfe and of Telegram's command menu.
ALL_COMMANDS: tuple[CommandSpec, ...] = (
    START,
    HELP,
    PROFILE,
    GROUPS,
    DATES,
    ACTIONS,
    PLAN_ACTIONS,
    MEMORIALS,
    CALENDAR,
    INVITE,
    GUIDE,
    PRIVACY,
    SETTINGS,
    LANGUAGE,
    CANCEL,
    MY_GROUPS,
    BROADCAST,
    SURVEY,
    REPORT,
    QUIET,
    ROLE,
    ROLES,
    AUDIT_LOG,
)

# What the bot answers in group chats (handlers.meeting_posts): their menu shows only these,
# instead of the private chat's commands, which do nothing there.
GROUP_CHAT_COMMANDS: tuple[CommandSpec, ...] = (DATES,)


def commands_for(roles: Collection[Role]) -> list[CommandSpec]:
    """The commands someone with `roles` may use, in menu order."""
    return [spec for spec in ALL_COMMANDS if allows(roles, spec.roles)]


def bot_commands(i18n: I18n, roles: Collection[Role], locale: str) -> list[BotCommand]:
    """Telegram's menu entries for `roles` in `locale`."""
    with i18n.context(), i18n.use_locale(locale):
        return [
            BotCommand(command=spec.name(locale), description=str(spec.description))
            for spec in commands_for(roles)
        ]


def is_privileged(roles: Collection[Role]) -> bool:
    """Whether these roles see more commands than every member does."""
    return any(role is not Role.MEMBER for role in roles)


async def set_default_menus(bot: Bot, i18n: I18n, default_locale: str) -> None:
    """Every member's menu: one per supported language, the default one for all the rest; and
    the group chats' own, shorter menu."""
    member_roles = frozenset({Role.MEMBER})
    await bot.set_my_commands(
        bot_commands(i18n, member_roles, default_locale), scope=BotCommandScopeDefault()
    )
    for locale in SUPPORTED_LOCALES:
        await bot.set_my_commands(
            bot_commands(i18n, member_roles, locale),
            scope=BotCommandScopeDefault(),
            language_code=locale,
        )
    await set_group_menus(bot, i18n, default_locale)


async def set_group_menus(bot: Bot, i18n: I18n, default_locale: str) -> None:
    """The menu in every group chat, per supported language and a default one."""
    scope = BotCommandScopeAllGroupChats()
    for locale in (None, *SUPPORTED_LOCALES):
        shown = locale or default_locale
        with i18n.context(), i18n.use_locale(shown):
            commands = [
                BotCommand(command=spec.name(shown), description=str(spec.description))
                for spec in GROUP_CHAT_COMMANDS
            ]
        await bot.set_my_commands(commands, scope=scope, language_code=locale)


async def set_member_menu(
    bot: Bot,
    i18n: I18n,
    *,
    chat_id: int,
    roles: Collection[Role],
    locale: str,
    chose_language: bool,
) -> None:
    """A personal menu for members who see more commands or chose a language Telegram can't know.

    Everyone else falls back to the per-language default menus, so their personal one is removed.
    """
    scope = BotCommandScopeChat(chat_id=chat_id)
    if is_privileged(roles) or chose_language:
        await bot.set_my_commands(bot_commands(i18n, roles, locale), scope=scope)
    else:
        await bot.delete_my_commands(scope=scope)
