#!/usr/bin/env bash
# Translation catalogs. Usage:
#   scripts/i18n.sh update        extract messages.pot from the code and merge it into every .po
#   scripts/i18n.sh pot FILE      only extract, into FILE (the catalog test compares it)
#   scripts/i18n.sh compile       build the .mo files (setup.sh does this)
#   scripts/i18n.sh init LOCALE   start a new language (then add it to SUPPORTED_LOCALES)
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel=".venv/bin/pybabel"
[ -x "$pybabel" ] || pybabel="pybabel"

extract() {
    # No line numbers and no date, so the template changes only when a message does.
    "$pybabel" -q extract -F babel.cfg -k '_:1,1t' -k '_:1,2' -k '__' \
        --no-location --sort-output --omit-header --no-wrap -o "$1" .
}

case "${1:-}" in
    pot) extract "$2" ;;
    update)
        extract locales/messages.pot
        "$pybabel" -q update -i locales/messages.pot -d locales -D messages \
            --no-fuzzy-matching --ignore-obsolete --no-wrap
        # The template has no header, so every update would stamp a new creation date into
        # each catalog: a change (and a merge conflict) that says nothing.
        sed -i '/^"POT-Creation-Date: /d' locales/*/LC_MESSAGES/messages.po
        ;;
    compile) "$pybabel" -q compile -d locales -D messages ;;
    init) "$pybabel" -q init -i locales/messages.pot -d locales -D messages -l "$2" ;;
    *) sed -n '2,7p' "$0"; exit 2 ;;
esac
