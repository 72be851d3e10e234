#!/usr/bin/env bash
# Set up and run the whole test suite. With TEST_DATABASE_URL set, everything runs on
# PostgreSQL too. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev

# The Mini App's browser test (tests/e2e/test_miniapp_browser.py) drives the OS's Chromium.
# As root on a Debian-like machine (CI) it is installed when missing; anywhere else, or when
# that fails, the browser test skips and says why.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Chromium for the Mini App's browser test..." >&2
        if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                chromium >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 \
                && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                    --no-install-recommends chromium >/dev/null 2>&1; }; }; then
            echo "Could not install Chromium; the browser test will skip." >&2
        fi
    fi
fi

exec .venv/bin/python -m pytest "$@"
