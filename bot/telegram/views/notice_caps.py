"""What a member hears when the bot won't pass the same thing on again so soon, or is being
sent more than it can take at once (bot.services.notice_caps, bot.middlewares.flood)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _


def office_already_told() -> str:
    """ "Talk to the office" pressed again within the hour: the office knows already."""
    return _("We already told the office a short while ago – someone will get in touch with you.")


def proposal_already_sent() -> str:
    """A second Stammtisch proposal within the hour."""
    return _(
        "You proposed a Stammtisch a short while ago; the organisers will get back to you about "
        "it. You can propose another one in an hour."
    )


def slow_down() -> str:
    """Once per flood: the member's messages and presses are handled, only one after another."""
    return _("That's a lot at once! I'll go through it one by one – give me a moment, please.")
