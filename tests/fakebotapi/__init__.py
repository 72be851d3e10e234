"""A local fake Telegram Bot API server plus the checks it runs on every request.

Typical use in a test::

    async with FakeBotAPI() as server:
        bot = Bot(server.token, session=AiohttpSession(
            api=TelegramAPIServer.from_base(server.api_url)))
        anna = server.add_user(first_name="Anna", username="anna")
        await anna.send_message("/start")
        reply = await server.wait_for_message(anna.id)
        server.assert_no_violations()
"""

from tests.fakebotapi.common import Problem, UploadedFile
from tests.fakebotapi.html import check_html, parse_html, utf16_len, visible_text
from tests.fakebotapi.limits import check_limits
from tests.fakebotapi.models import (
    ApiCall,
    ApiError,
    FakeChat,
    FakeUser,
    Fault,
    RecordedRequest,
    Rule,
    SentMessage,
)
from tests.fakebotapi.pacing import (
    FAULT_KINDS,
    SENDING_METHODS,
    SendLimits,
    TimelineEntry,
    find_breaches,
)
from tests.fakebotapi.server import DEFAULT_TOKEN, FakeBotAPI
from tests.fakebotapi.spec import (
    BotApiSpec,
    SpecMissingWarning,
    default_spec_path,
    load_spec,
    reset_spec_cache,
    spec_missing_notice,
    validate_request,
)

__all__ = [
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "SENDING_METHODS",
    "ApiCall",
    "ApiError",
    "BotApiSpec",
    "FakeBotAPI",
    "FakeChat",
    "FakeUser",
    "Fault",
    "Problem",
    "RecordedRequest",
    "Rule",
    "SendLimits",
    "SentMessage",
    "SpecMissingWarning",
    "TimelineEntry",
    "UploadedFile",
    "check_html",
    "check_limits",
    "default_spec_path",
    "find_breaches",
    "load_spec",
    "parse_html",
    "reset_spec_cache",
    "spec_missing_notice",
    "utf16_len",
    "validate_request",
    "visible_text",
]
