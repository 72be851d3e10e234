"""aiogram routers, one module per feature, included in a fixed order."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    admin,
    broadcast,
    chat_members,
    errors,
    fallback,
    greeting,
    guide,
    onboarding,
    preferences,
    start,
)


def build_router() -> Router:
    """The root router. Order matters: aiogram stops at the first handler whose filters match."""
    root = Router(name="handlers")
    root.include_routers(
        errors.create_router(),  # error events only; no overlap with the rest
        chat_members.create_router(),  # my_chat_member: block/unblock bookkeeping, never a reply
        greeting.create_router(),  # groups only: welcomes, join requests, /willkommen
        start.create_router(),  # /hilfe, /sprache, /abbrechen: work in every state
        onboarding.create_router(),  # /start, consent, intake, /profil, /gruppen, joining
        guide.create_router(),  # /kv, /termine, /datenschutz
        preferences.create_router(),  # /einstellungen
        broadcast.create_router(),  # /rundschreiben; its states take only non-command messages
        admin.create_router(),  # roles; has its own conversation states
        fallback.create_router(),  # last: unknown commands, stale buttons, stray text
    )
    return root
