#!/usr/bin/env bash
# Make the lock files from pyproject.toml with pip-compile (pip-tools, in the dev extra):
# requirements/app.txt (what the bot runs with) and requirements/dev.txt (that plus the test and
# lint tools). Versions already locked are kept unless pyproject.toml excludes them now;
# `bash scripts/lock.sh --upgrade` takes the newest allowed versions of everything, and
# `--upgrade-package NAME` of one. Then `bash scripts/setup.sh dev` installs the new lock.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/pip-compile ]; then
    echo "pip-compile is missing: run bash scripts/setup.sh dev first" >&2
    exit 1
fi

# No index or find-links lines: the lock names versions, where they come from is the
# installer's business. No hashes: a local wheel of the same version may differ in its hash.
options=(--quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links
         --no-emit-trusted-host --newline=LF)
export CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh"
.venv/bin/pip-compile "${options[@]}" "$@" --output-file=requirements/app.txt pyproject.toml
.venv/bin/pip-compile "${options[@]}" "$@" --extra=dev --output-file=requirements/dev.txt \
    pyproject.toml
