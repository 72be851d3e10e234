"""Fixtures for the fake Bot API's own tests: a started server and a real aiogram Bot."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from tests.fakebotapi import BotApiSpec, FakeBotAPI, load_spec, spec_missing_notice

WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
def spec() -> BotApiSpec:
    """The Bot API spec; a test that needs it skips, saying where it was looked for."""
    loaded = load_spec()
    if loaded is None:
        pytest.skip(spec_missing_notice())
    return loaded


@pytest.fixture
async def server() -> AsyncIterator[FakeBotAPI]:
    """A started fake server; tests that provoke violations must clear them."""
    async with FakeBotAPI() as fake:
        # Fast retries keep the webhook tests quick without changing what they prove.
        fake.webhook_retry_delays = [0.01, 0.02]
        yield fake
        fake.assert_no_violations()


@pytest.fixture
async def bot(server: FakeBotAPI) -> AsyncIterator[Bot]:
    """The real aiogram Bot, talking HTTP to the fake server."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.api_url))
    instance = Bot(server.token, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield instance
    await instance.session.close()


class Receiver:
    """A tiny aiohttp app standing in for the bot's webhook endpoint."""

    def __init__(self, handler: WebHandler) -> None:
        self.handler = handler
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((dict(request.headers), await request.read()))
        return await self.handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver_factory() -> AsyncIterator[Callable[[WebHandler], Awaitable[Receiver]]]:
    """Start webhook receivers with a given handler; all are stopped after the test."""
    started: list[Receiver] = []

    async def start(handler: WebHandler) -> Receiver:
        receiver = Receiver(handler)
        await receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        await receiver.stop()
