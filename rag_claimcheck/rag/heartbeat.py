"""Heartbeats for long activities: a crashed worker is noticed in seconds, and cancellation arrives.

Without heartbeats the server only learns that a worker died when the attempt's start-to-close
timeout runs out (minutes for ingest). With :func:`heartbeating` around the work and
``heartbeat_timeout=HEARTBEAT_TIMEOUT`` on the activity, a new worker picks the work up within
:data:`HEARTBEAT_TIMEOUT` of a crash, and a cancelled workflow's activity stops as soon as the
next heartbeat brings the cancellation back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from temporalio import activity

T = TypeVar("T")

HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""The server retries an activity on another worker if it has not heartbeated for this long."""
HEARTBEAT_INTERVAL_SECONDS = 2.0
"""How often :func:`heartbeating` heartbeats (the SDK sends at most one per 0.8 x the timeout)."""


async def heartbeating(work: Awaitable[T], *, interval: float = HEARTBEAT_INTERVAL_SECONDS) -> T:
    """Await ``work`` (e.g. ``asyncio.to_thread(...)``), heartbeating every ``interval`` seconds.

    If the activity is cancelled, the ``CancelledError`` the SDK raises here propagates: the
    activity ends cancelled at once (a thread already running finishes in the background and its
    result is dropped). Outside an activity (a direct call, e.g. in a unit test) it just awaits.
    """
    task = asyncio.ensure_future(work)
    if not activity.in_activity():
        return await task
    try:
        while True:
            activity.heartbeat()
            done, _ = await asyncio.wait({task}, timeout=interval)
            if done:
                return task.result()
    finally:
        task.cancel()
