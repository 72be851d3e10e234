"""The Docker healthcheck (scripts/healthcheck.py): healthy exactly when /readyz answers 200."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "healthcheck.py"


class Ready(BaseHTTPRequestHandler):
    """Answers /readyz with the server's `status`, anything else with 404."""

    def do_GET(self) -> None:
        status = self.server.status if self.path == "/readyz" else 404  # type: ignore[attr-defined]
        body = b'{"database": "ok"}' if status == 200 else b'{"database": "unreachable"}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _check(listen: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
        env={"WEBHOOK_LISTEN": listen},
        timeout=30,
    )


def test_healthy_only_while_readyz_says_200(server: ThreadingHTTPServer) -> None:
    listen = f"0.0.0.0:{server.server_port}"
    server.status = 200  # type: ignore[attr-defined]
    assert _check(listen).returncode == 0
    server.status = 503  # type: ignore[attr-defined]
    result = _check(listen)
    assert result.returncode == 1
    assert "503" in result.stdout
    assert "unreachable" in result.stdout


def test_no_server_is_unhealthy(server: ThreadingHTTPServer) -> None:
    port = server.server_port
    server.shutdown()
    server.server_close()
    assert _check(f"[::]:{port}").returncode == 1
