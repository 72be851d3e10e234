"""The HTTP session the Bot client talks to the Bot API with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import ClientDecodeError, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp.payload import BytesPayload

from bot.telegram.retries import TelegramServerStatusError

if TYPE_CHECKING:
    from aiogram import Bot


class BotApiSession(AiohttpSession):
    """aiogram's HTTP session, with JSON bodies and a quick close over plain HTTP.

    A request without files goes as one JSON body rather than a urlencoded form.

    The Bot API takes both; aiogram's form encodes each parameter on its own (objects as JSON
    strings, then everything percent-encoded), which costs several times one json.dumps on a
    path every reply takes. Requests with files keep aiogram's multipart form.
    """

    def build_form_data(self, bot: Bot, method: TelegramMethod[Any]) -> Any:  # type: ignore[override]
        """A JSON payload for `method`, or aiogram's form when it uploads files."""
        files: dict[str, Any] = {}
        parameters: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is None or prepared == "":  # what the form leaves out, too
                continue
            parameters[key] = prepared
        if files:
            return super().build_form_data(bot, method)
        return BytesPayload(self.json_dumps(parameters).encode(), content_type="application/json")

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        """aiogram's check, with the HTTP status kept on server errors.

        Whether a failed request may be sent again depends on the status (502: it never
        reached the Bot API server; 500: it may have been done, see bot.telegram.retries). A
        5xx page that isn't JSON (a proxy's HTML "Bad Gateway") is a server error too, not a
        decoding error.
        """
        try:
            return super().check_response(bot, method, status_code, content)
        except TelegramServerError as exc:
            raise TelegramServerStatusError(method, exc.message, status_code) from exc
        except ClientDecodeError as exc:
            if status_code < 500:
                raise
            raise TelegramServerStatusError(method, f"HTTP {status_code}", status_code) from exc

    async def close(self) -> None:
        """Close the connections; over plain HTTP without aiogram's 250 ms wait for SSL.

        aiogram always sleeps a quarter second after closing, so that SSL connections can shut
        down gracefully; a local Bot API server (TELEGRAM_API_URL over http) has none to wait for.
        """
        if self.api.base.startswith("https:"):
            await super().close()
        elif self._session is not None and not self._session.closed:
            await self._session.close()
