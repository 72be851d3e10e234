"""The dashboard's menu button: set for organisers and admins when the bot is public on https,
reset when the role goes, never set without such an address; Telegram's refusals are logged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.app import Application, sync_command_menus
from bot.i18n import create_i18n
from bot.settings import Settings
from bot.telegram.dashboard_button import dashboard_url, set_dashboard_button
from models import Member, MemberRole, Role
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser


def _buttons(fake_api: FakeBotAPI) -> list[tuple[int, dict[str, Any]]]:
    """(chat id, menu button) of every setChatMenuButton the server answered with success."""
    found = []
    for request in fake_api.requests:
        if request.method.lower() != "setchatmenubutton" or request.status != 200:
            continue
        button = request.params.get("menu_button")
        if isinstance(button, str):
            button = json.loads(button)
        found.append((int(request.params["chat_id"]), button))
    return found


def _public(settings: Settings, url: str | None) -> Settings:
    return settings.model_copy(update={"public_url": url})


@pytest.mark.parametrize(
    ("public_url", "webhook_url", "expected"),
    [
        ("https://bot.example.org", None, "https://bot.example.org/app/"),
        ("https://example.org/kv/", None, "https://example.org/kv/app/"),
        (None, "https://bot.example.org/tg/hook", "https://bot.example.org/app/"),
        ("http://bot.example.org", None, None),  # Telegram opens https only
        (None, None, None),
    ],
)
def test_dashboard_url(public_url: str | None, webhook_url: str | None, expected: str) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        public_url=public_url,
        webhook_url=webhook_url,
    )
    assert dashboard_url(settings) == expected


async def test_set_and_reset(settings: Settings, fake_api: FakeBotAPI, app: Application) -> None:
    i18n = create_i18n("de")
    public = _public(settings, "https://bot.example.org")
    organiser = frozenset({Role.MEMBER, Role.ORGANISER})
    member = frozenset({Role.MEMBER})
    assert await set_dashboard_button(
        app.bot, i18n, public, chat_id=11, roles=organiser, locale="en"
    )
    # A member without the role: nothing, unless after a role change (then the default back).
    assert not await set_dashboard_button(
        app.bot, i18n, public, chat_id=12, roles=member, locale="de"
    )
    assert await set_dashboard_button(
        app.bot, i18n, public, chat_id=13, roles=member, locale="de", reset=True
    )
    # No public https address: nothing at all.
    plain = _public(settings, "http://bot.example.org")
    assert not await set_dashboard_button(
        app.bot, i18n, plain, chat_id=14, roles=organiser, locale="de", reset=True
    )
    assert _buttons(fake_api) == [
        (
            11,
            {
                "type": "web_app",
                "text": "Dashboard",
                "web_app": {"url": "https://bot.example.org/app/"},
            },
        ),
        (13, {"type": "default"}),
    ]


async def test_a_refusal_is_logged_and_left(
    settings: Settings, fake_api: FakeBotAPI, app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.fail("setChatMenuButton", status=400, description="Bad Request: chat not found")
    caplog.set_level("INFO", logger="bot.telegram.dashboard_button")
    done = await set_dashboard_button(
        app.bot,
        create_i18n("de"),
        _public(settings, "https://bot.example.org"),
        chat_id=15,
        roles={Role.ADMIN},
        locale="de",
    )
    assert not done
    assert "no dashboard button for chat=15" in caplog.text


async def test_start_up_sets_it_for_organisers_and_admins(
    settings: Settings, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    async with app.session_pool() as session:
        organiser = Member(id=31, first_name="Olga")
        organiser.roles.append(MemberRole(role=Role.ORGANISER, granted_at=utcnow()))
        host = Member(id=32, first_name="Hugo")
        host.roles.append(MemberRole(role=Role.HOST, granted_at=utcnow()))
        session.add_all([organiser, host])
        await session.commit()
    public = _public(settings, "https://bot.example.org")
    await sync_command_menus(app.bot, app.i18n, app.session_pool, public)
    chats = sorted(chat for chat, button in _buttons(fake_api) if button["type"] == "web_app")
    assert chats == sorted([31, admin_user.id])
    # Without a public https address, start-up sets no button.
    fake_api.requests.clear()
    await sync_command_menus(app.bot, app.i18n, app.session_pool, settings)
    assert _buttons(fake_api) == []


async def test_granting_and_revoking_the_organiser_role(
    settings: Settings, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    app.dispatcher["settings"] = _public(settings, "https://bot.example.org")
    driver = BotDriver(app, fake_api)
    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de")
    [_greeting, consent] = await driver.send(anna, "/start")
    await driver.press(anna, consent, dict(consent.buttons)["Einverstanden"])
    [panel] = await driver.send(admin_user, "/rolle @anna_k")
    [grant] = [data for text, data in panel.buttons if text.endswith("Organisator:in")]
    await driver.press(admin_user, panel, grant)
    assert _buttons(fake_api)[-1] == (
        anna.id,
        {
            "type": "web_app",
            "text": "Übersicht",
            "web_app": {"url": "https://bot.example.org/app/"},
        },
    )
    panel_now = fake_api.sent_to(admin_user.id)[-1]
    [revoke] = [data for text, data in panel_now.buttons if text.endswith("Organisator:in")]
    await driver.press(admin_user, panel_now, revoke)
    assert _buttons(fake_api)[-1] == (anna.id, {"type": "default"})
