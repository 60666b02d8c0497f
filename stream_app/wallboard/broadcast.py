"""Pushes the wallboard's state to every open page (Server-Sent Events), within a second.

One loop builds the board for all viewers, so fifty TVs cost what one does. It rebuilds as soon
as this worker applied an event (checked every ``poll_s``), and at least every ``refresh_s``
anyway: other workers' events and the growing "longest wait" change the board without any
local event. A board equal to the last one is not sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from stream_app.wallboard.model import board_signature

log = logging.getLogger(__name__)

Board = dict[str, Any]


class Broadcaster:
    """Builds the board when something changed and hands it to every subscriber's queue."""

    def __init__(
        self,
        build: Callable[[], Awaitable[Board]],
        version: Callable[[], int],
        *,
        poll_s: float = 0.1,
        refresh_s: float = 1.0,
    ) -> None:
        self._build = build
        self._version = version
        self.poll_s = poll_s
        self.refresh_s = refresh_s
        self._subscribers: set[asyncio.Queue[bytes]] = set()
        self._task: asyncio.Task[None] | None = None
        self.latest: bytes | None = None
        self._signature: tuple[Any, ...] | None = None
        self.pushes = 0

    def subscribe(self) -> asyncio.Queue[bytes]:
        """A queue of serialized boards; the latest board is in it at once."""
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=2)
        if self.latest is not None:
            queue.put_nowait(self.latest)
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return queue

    def unsubscribe(self, queue: asyncio.Queue[bytes]) -> None:
        self._subscribers.discard(queue)

    @property
    def viewers(self) -> int:
        return len(self._subscribers)

    async def _run(self) -> None:
        """Runs while anyone watches; a failing build is logged and retried, never fatal."""
        seen_version = -1
        built_at = 0.0
        while self._subscribers:
            version = self._version()
            if version != seen_version or time.monotonic() - built_at >= self.refresh_s:
                seen_version = version
                built_at = time.monotonic()
                try:
                    board = await self._build()
                except Exception as exc:  # a peer down must not stop the TVs
                    log.warning("wallboard: could not build the board: %s", exc)
                else:
                    self._publish(board)
            await asyncio.sleep(self.poll_s)

    def _publish(self, board: Board) -> None:
        signature = board_signature(board)
        if signature == self._signature:
            return
        self._signature = signature
        self.latest = orjson.dumps(board)
        self.pushes += 1
        for queue in list(self._subscribers):
            if queue.full():  # a slow viewer gets the newest board, not a backlog
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(self.latest)

    async def stop(self) -> None:
        """Ends every stream (an empty message) so the web server can stop at once."""
        for queue in list(self._subscribers):
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(b"")
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
