"""Docker's HEALTHCHECK: exit 0 when the running bot's /readyz answers 200, else 1.

The standard library only, so a check costs a Python start (tens of milliseconds) and one
local request, not the bot's imports or a call to Telegram. The port is WEBHOOK_LISTEN's
(default 8080), as the environment gives it to the container.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Ask /readyz once; print why when it isn't ready (Docker keeps the output)."""
    listen = os.environ.get("WEBHOOK_LISTEN", "0.0.0.0:8080").strip() or "0.0.0.0:8080"
    port = listen.rpartition(":")[2]
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            if response.status == 200:
                return 0
            print(f"{url}: {response.status}")
    except urllib.error.HTTPError as exc:
        print(f"{url}: {exc.code} {exc.read(300).decode('utf-8', 'replace')}".strip())
    except OSError as exc:
        print(f"{url}: {exc}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
