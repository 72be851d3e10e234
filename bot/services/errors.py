"""The base of every refusal a service raises.

A service that can't do what was asked (unknown id, no consent, a time in the past) raises a
subclass with a stable `reason` code and changes nothing it has not already been asked to roll
back; the Telegram layer turns the reason into the member's words (bot.telegram.guards).
"""

from __future__ import annotations


class DomainError(Exception):
    """An action the KV's rules refuse; `reason` is a stable code, never shown as it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
