"""The Bot API client: requests without files travel as one JSON body."""

from __future__ import annotations

import json

from aiogram import Bot
from aiogram.methods import SendDocument, SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import FormData
from aiohttp.payload import BytesPayload

from bot.app import create_bot
from bot.settings import load_settings

TOKEN = "123456789:AAH-fake-token-for-tests-0123456789ab"


def _bot() -> Bot:
    return create_bot(load_settings(bot_token=TOKEN, database_url="sqlite+aiosqlite:///x.db"))


def test_a_request_without_files_is_one_json_body() -> None:
    bot = _bot()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Ja", callback_data="consent:1")]]
    )
    method = SendMessage(chat_id=42, text="Hallo <b>Anna</b> 👋", reply_markup=keyboard)
    payload = bot.session.build_form_data(bot, method)
    assert isinstance(payload, BytesPayload)
    assert payload.content_type == "application/json"
    assert json.loads(payload._value) == {
        "chat_id": 42,
        "text": "Hallo <b>Anna</b> 👋",
        # The bot's defaults, filled in as aiogram's form would.
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "reply_markup": {"inline_keyboard": [[{"text": "Ja", "callback_data": "consent:1"}]]},
    }


def test_a_request_with_a_file_stays_a_form() -> None:
    bot = _bot()
    method = SendDocument(chat_id=42, document=BufferedInputFile(b"%PDF", filename="kv.pdf"))
    assert isinstance(bot.session.build_form_data(bot, method), FormData)
