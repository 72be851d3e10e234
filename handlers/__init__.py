"""aiogram routers, one module per feature, included in a fixed order."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, chat_members, errors, fallback, start


def build_router() -> Router:
    """The root router. Order matters: aiogram stops at the first handler whose filters match."""
    root = Router(name="handlers")
    root.include_routers(
        errors.router,  # error events only; no overlap with the rest
        chat_members.router,  # my_chat_member: block/unblock bookkeeping, never a reply
        start.router,  # /start, /hilfe, /sprache, /abbrechen: work in every state
        admin.router,  # roles; has its own conversation states
        fallback.router,  # last: unknown commands, stale buttons, stray text
    )
    return root
