"""The Mini App's gate: Telegram's initData signature, its age, and the organiser role."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from aiogram.utils.web_app import check_webapp_signature
from sqlalchemy import delete

from bot.db.session import SessionPool
from bot.miniapp.auth import (
    AuthError,
    Refusal,
    dashboard_viewer,
    init_data_from_header,
    verify_init_data,
)
from models import MemberRole, Role
from tests.miniapp import (
    ADMIN_ID,
    MEMBER_ID,
    NOW,
    ORGANISER_ID,
    TOKEN,
    init_data_for,
    seed,
    sign_init_data,
    telegram_user,
)

MAX_AGE = timedelta(days=1)
OTHER_TOKEN = "987654321:ZZZ0abcdefghijklmnopqrstuvwxyz0123456"


def _replace(init_data: str, **fields: str) -> str:
    """The same initData with some fields changed and the old hash kept."""
    pairs = dict(parse_qsl(init_data))
    pairs.update(fields)
    return urlencode(pairs, quote_via=quote)


def _tampered_user(init_data: str) -> str:
    user = json.loads(dict(parse_qsl(init_data))["user"])
    user["id"] = ORGANISER_ID + 1000
    return _replace(init_data, user=json.dumps(user, separators=(",", ":")))


VALID = init_data_for(ORGANISER_ID)

# (case, initData, the refusal or None for accepted)
CASES: list[tuple[str, Callable[[], str | None], Refusal | None]] = [
    ("valid", lambda: VALID, None),
    ("valid, signed just now", lambda: init_data_for(ORGANISER_ID, age=timedelta(0)), None),
    ("valid, nearly a day old", lambda: init_data_for(ORGANISER_ID, age=MAX_AGE), None),
    ("missing", lambda: None, Refusal.MISSING),
    ("empty", lambda: "", Refusal.MISSING),
    ("forged hash", lambda: _replace(VALID, hash="0" * 64), Refusal.INVALID),
    ("no hash", lambda: VALID.split("&hash=")[0], Refusal.INVALID),
    (
        "signed with another token",
        lambda: sign_init_data(OTHER_TOKEN, user=telegram_user(ORGANISER_ID), auth_date=NOW),
        Refusal.INVALID,
    ),
    ("tampered user", lambda: _tampered_user(VALID), Refusal.INVALID),
    (
        "tampered auth_date",
        lambda: _replace(VALID, auth_date=str(int(NOW.timestamp()))),
        Refusal.INVALID,
    ),
    (
        "expired auth_date",
        lambda: init_data_for(ORGANISER_ID, age=MAX_AGE + timedelta(seconds=1)),
        Refusal.EXPIRED,
    ),
    (
        "auth_date far in the future",
        lambda: init_data_for(ORGANISER_ID, age=-timedelta(hours=1)),
        Refusal.EXPIRED,
    ),
    ("malformed: not a query string", lambda: "%%%&&&===", Refusal.INVALID),
    ("malformed: just text", lambda: "hello", Refusal.INVALID),
    ("too long", lambda: VALID + "&x=" + "a" * 5000, Refusal.INVALID),
    (
        "signed, but the user is not JSON",
        lambda: _signed({"user": "{not json}"}),
        Refusal.INVALID,
    ),
    (
        "signed, but without a user",
        lambda: sign_init_data(TOKEN, user=None, auth_date=NOW),
        Refusal.INVALID,
    ),
    (
        "signed, but auth_date is no number",
        lambda: _signed({"auth_date": "yesterday", "user": json.dumps(telegram_user(1))}),
        Refusal.INVALID,
    ),
]


def _signed(fields: dict[str, str]) -> str:
    """Fields signed with TOKEN as they are (for shapes sign_init_data wouldn't make)."""
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    signed = {**fields, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()}
    return urlencode(signed, quote_via=quote)


def test_the_test_signer_signs_as_telegram_does() -> None:
    """aiogram's own check accepts what the tests sign, and only with the same token."""
    assert check_webapp_signature(TOKEN, VALID)
    assert not check_webapp_signature(OTHER_TOKEN, VALID)


@pytest.mark.parametrize(("case", "make", "refusal"), CASES, ids=[case[0] for case in CASES])
def test_init_data(case: str, make: Callable[[], str | None], refusal: Refusal | None) -> None:
    init_data = make()
    if refusal is None:
        user = verify_init_data(init_data, token=TOKEN, now=NOW, max_age=MAX_AGE)
        assert user.id == ORGANISER_ID, case
        return
    with pytest.raises(AuthError) as caught:
        verify_init_data(init_data, token=TOKEN, now=NOW, max_age=MAX_AGE)
    assert caught.value.reason is refusal, case
    assert caught.value.reason.status == 401


def test_an_expired_refusal_knows_the_user_for_its_language() -> None:
    old = init_data_for(ORGANISER_ID, age=timedelta(days=2), language_code="en")
    with pytest.raises(AuthError) as caught:
        verify_init_data(old, token=TOKEN, now=NOW, max_age=MAX_AGE)
    assert caught.value.user is not None
    assert caught.value.user.language_code == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("tma", None),
        ("tma   ", None),
        ("Bearer abc", None),
        ("tma abc=1&hash=2", "abc=1&hash=2"),
        ("TMA abc", "abc"),
    ],
)
def test_authorization_header(header: str | None, expected: str | None) -> None:
    assert init_data_from_header(header) == expected


# (case, Telegram user id, allowed)
ROLE_CASES = [
    ("organiser", ORGANISER_ID, True),
    ("admin via ADMIN_IDS, never met", ADMIN_ID, True),
    ("member without a role", MEMBER_ID, False),
    ("someone the bot never met", 999_999, False),
]


@pytest.mark.parametrize(
    ("case", "user_id", "allowed"), ROLE_CASES, ids=[case[0] for case in ROLE_CASES]
)
async def test_role(session_pool: SessionPool, case: str, user_id: int, allowed: bool) -> None:
    await seed(session_pool)
    async with session_pool() as session:
        if allowed:
            await dashboard_viewer(session, user_id, admin_ids={ADMIN_ID})
            return
        with pytest.raises(AuthError) as caught:
            await dashboard_viewer(session, user_id, admin_ids={ADMIN_ID})
    assert caught.value.reason is Refusal.FORBIDDEN, case
    assert caught.value.reason.status == 403


async def test_a_stored_admin_may_and_a_revoked_organiser_may_not(
    session_pool: SessionPool,
) -> None:
    """The role is read from the database on every request."""
    await seed(session_pool)
    async with session_pool() as session:
        session.add(MemberRole(member_id=MEMBER_ID, role=Role.ADMIN, granted_at=NOW))
        await session.execute(delete(MemberRole).where(MemberRole.member_id == ORGANISER_ID))
        await session.commit()
    async with session_pool() as session:
        assert await dashboard_viewer(session, MEMBER_ID, admin_ids=()) is not None
        with pytest.raises(AuthError):
            await dashboard_viewer(session, ORGANISER_ID, admin_ids=())
