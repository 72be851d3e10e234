#!/usr/bin/env bash
# Set up and run the whole test suite. With TEST_DATABASE_URL set, everything runs on
# PostgreSQL too. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
exec .venv/bin/python -m pytest "$@"
