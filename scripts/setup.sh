#!/usr/bin/env bash
# Prepare a checkout: virtualenv in .venv, the locked dependencies (with the dev tools when
# asked), the package, compiled translations. Idempotent: a second run only does what changed.
# Used by start.sh, test.sh, CI and the Dockerfile's steps.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-}"   # "dev" installs the test and lint tools too
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Mitmachbot needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi

# The exact versions of the lock file (requirements/, made by pip-compile from pyproject.toml),
# then the package itself without resolving anything again.
lock="requirements/app.txt"
[ "$extras" = "dev" ] && lock="requirements/dev.txt"
# Reinstall only when the lock or the package's metadata changed since the last setup.
stamp=".venv/.mitmachbot-installed-$extras"
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$lock"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
    touch "$stamp"
fi

bash scripts/i18n.sh compile
