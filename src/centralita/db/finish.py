"""Let a database unit of work finish when the task running it is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """Await ``work`` so that cancelling the caller cannot stop it half-way.

    Cancelling a task inside a session's transaction can leave its connection checked out with
    the transaction open until the garbage collector finds it; on SQLite that connection holds
    the write lock, and every other writer waits for it and then fails with "database is
    locked". A socket's loops are cancelled whenever the peer goes away, so each of their
    units of work runs here: the cancellation waits for the unit to commit or roll back, and is
    then raised as usual.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task
        raise
