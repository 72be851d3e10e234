"""/rundschreiben: organisers compose a broadcast and follow it until its report."""

from __future__ import annotations

from handlers.broadcast.compose import create_router

__all__ = ["create_router"]
