"""What a running bot leaves unimported until something needs it: every such library costs
idle memory in every instance (bench.scale prints the idle RSS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# What only an export (ruamel), a report (matplotlib and what it pulls in), a calendar file
# (icalendar) or several instances (redis) need.
LAZY = ("ruamel", "matplotlib", "numpy", "PIL", "icalendar", "redis")


def test_a_running_bot_leaves_optional_libraries_unimported(tmp_path: Path) -> None:
    # In a process of its own: the test process has imported all of them.
    script = (
        "import asyncio, sys\n"
        "from bot.app import build_application\n"
        "from bot.settings import Settings\n"
        "import bot.cli, handlers, jobs\n"
        "async def main():\n"
        f"    url = 'sqlite+aiosqlite:///{tmp_path}/bot.db'\n"
        "    settings = Settings(_env_file=None, bot_token='123456789:' + 'A' * 35,\n"
        "                        database_url=url, webhook_listen='')\n"
        "    app = await build_application(settings)\n"
        "    await app.close()\n"
        f"    print(sorted({{m.split('.')[0] for m in sys.modules}} & set({LAZY!r})))\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
