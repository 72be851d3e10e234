"""`python -m bot` does what the `mitmachbot` command does."""

import sys

from bot.cli import main

sys.exit(main())
