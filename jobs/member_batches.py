"""Running batched enqueues (bot.services.member_batches) within a time budget.

Each batch commits on its own and the loop yields between them, so members' updates are
answered meanwhile; after the budget the rest waits for the job's next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import JobContext

Waiting = Callable[[AsyncSession], Awaitable[list[int]]]
Step = Callable[[AsyncSession, int], Awaitable[bool]]


async def run_within(ctx: JobContext, waiting: Waiting, step: Step, *, budget: float) -> int:
    """Run `step` (one batch of the walk `waiting` lists, True while more remain) for each
    walk until done or until `budget` seconds passed; returns how many batches ran."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    async with ctx.session_pool() as session:
        walks = await waiting(session)
    batches = 0
    for walk in walks:
        more = True
        while more and loop.time() < deadline:
            async with ctx.session_pool() as session:
                more = await step(session, walk)
                await session.commit()
            batches += 1
            ctx.wake()
            await asyncio.sleep(0)
    return batches
