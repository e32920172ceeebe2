"""Wake-ups of a background sender (webhooks, notifications): a commit or a request wakes
it, a timeout does too, and a stop ends its loop at the next step."""

import asyncio
import contextlib
from typing import Any


class Wakeups:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.stopping = False

    def wake(self, *_: Any) -> None:
        self._event.set()

    def stop(self) -> None:
        """End the loop at its next wake-up (a flag as well as any cancellation: on 3.11 a
        library's wait_for can swallow a cancellation that lands as its own wait ends)."""
        self.stopping = True
        self._event.set()

    async def next(self, wait: float, batch: float) -> bool:
        """Wait for a wake-up or ``wait`` seconds, then ``batch`` seconds more so that commits
        close together make one round; False once stopping."""
        # asyncio.timeout, not wait_for (which on 3.11 can swallow a cancellation).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._event.wait()
        self._event.clear()
        if not self.stopping:
            await asyncio.sleep(batch)
        return not self.stopping
