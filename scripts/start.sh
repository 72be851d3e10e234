#!/usr/bin/env bash
# Set up and run the bot: SQLite under ./data, long polling. Needs BOT_TOKEN (environment or .env).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/mitmachbot run "$@"
