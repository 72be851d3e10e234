"""Small value types shared by the checks and the server."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "UploadedFile"]


@dataclass(frozen=True)
class Problem:
    """One thing that is wrong with a Bot API request.

    ``message`` is the human-readable violation that ends up in ``FakeBotAPI.violations``.
    ``reject`` is the description Telegram would answer with when it refuses such a request
    (``None`` when Telegram accepts the request anyway, e.g. unknown parameters or a bare
    ``&`` in HTML, which Telegram silently keeps as text).
    """

    message: str
    reject: str | None = None
    status: int = 400


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (what the Bot API calls an ``InputFile``)."""

    name: str
    filename: str
    data: bytes
    content_type: str = "application/octet-stream"
