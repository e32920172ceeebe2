"""An SMTP server for tests: aiosmtpd's SMTP protocol served on a loopback port in the
test's event loop, keeping every mail it accepts and refusing as the test says."""

import asyncio
import contextlib
import email
import email.policy
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Mail:
    recipients: list[str]
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None, "no plain-text body"
        return str(part.get_content())  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None, "no HTML body"
        return str(part.get_content())  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SmtpServer:
    port: int = 0
    # How many of the next mails to each address to refuse with a temporary failure (451):
    # only the test's own, whatever else a sender on the shared database delivers meanwhile.
    refuse_next: dict[str, int] = field(default_factory=dict)
    mails: list[Mail] = field(default_factory=list)
    # The refusals made, per address.
    refused: dict[str, int] = field(default_factory=dict)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _server: Any = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        async with self._changed:
            refusing = [str(r) for r in envelope.rcpt_tos if self.refuse_next.get(str(r), 0) > 0]
            if refusing:
                for address in refusing:
                    self.refuse_next[address] -= 1
                    self.refused[address] = self.refused.get(address, 0) + 1
                self._changed.notify_all()
                return "451 4.3.0 Try again later"
            raw = (envelope.original_content or b"").replace(b"\r\n", b"\n")
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.mails.append(Mail([str(r) for r in envelope.rcpt_tos], parsed))
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    async def wait_for(self, done: Callable[[list[Mail]], bool], within: float = 30) -> list[Mail]:
        """The mails accepted, once ``done`` says they are all there."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: done(self.mails))
        return list(self.mails)

    def to(self, address: str) -> list[Mail]:
        return [mail for mail in self.mails if address in mail.recipients]

    async def __aenter__(self) -> "SmtpServer":
        self.port = self.port or free_port()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="localhost", loop=loop), "127.0.0.1", self.port
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)
