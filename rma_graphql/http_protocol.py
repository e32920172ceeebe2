"""The HTTP/1.1 protocol the server runs: uvicorn's (httptools), with each answer's head
and body leaving in one write.

uvicorn writes a response's head when the application sends ``http.response.start`` and its
body when it sends ``http.response.body``: two writes, so two system calls and two TCP
segments for every answer, and a client that wakes for the head, then again for the body.
Here a response's first write (its head) is held until the next one (its body, sent in the
same turn of the event loop by every non-streamed response) and both go in one write. A
head with no body in that turn (a stream) leaves when the turn ends; every later write of
the response goes straight out, so writes keep their order.
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class HeadWithBody(asyncio.Transport):
    """One response's view of its connection (what a response cycle calls: ``write``,
    ``close``, ``is_closing``): its first write is held until its second, or until the turn
    of the event loop ends. The connection's protocol keeps the transport itself."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._first = True
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held + data)
        elif self._first and data:
            self._first = False
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, each response's head written with its body."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.transport = HeadWithBody(cycle.transport, self.loop)
        super()._start_asgi_task(cycle, app)
