"""Invitation links: a member's link carries a random token that maps to them, never their
Telegram id, so nobody learns from a guessed id whether someone is a member or their name."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Invitation, Member

# 16 random bytes, 22 characters of base64url: fits Telegram's 64-character start payload.
TOKEN_BYTES = 16


class InvitationError(Exception):
    """Raised for a member without consent: only members who agreed have an invitation link."""


async def invite_token(session: AsyncSession, member: Member, *, now: datetime) -> str:
    """The member's token, made on first use; the caller commits. InvitationError without
    consent (the token lives with the profile and goes when it is erased)."""
    if not member.consented:
        raise InvitationError
    invitation = await session.get(Invitation, member.id)
    if invitation is None:
        invitation = Invitation(
            member_id=member.id, token=secrets.token_urlsafe(TOKEN_BYTES), created_at=now
        )
        session.add(invitation)
        await session.flush()
    return invitation.token


async def inviter(session: AsyncSession, token: str) -> Member | None:
    """The member whose token this is, or None for an unknown, forged or withdrawn one."""
    return await session.scalar(
        select(Member)
        .join(Invitation, Invitation.member_id == Member.id)
        .where(Invitation.token == token)
    )
