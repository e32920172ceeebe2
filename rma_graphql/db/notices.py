"""Notices that are not events, told to every server process (PostgreSQL's NOTIFY)."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# Where a bulk action's progress is told.
BULK_PROGRESS_CHANNEL = "rma_bulk_progress"


async def notify(engine: AsyncEngine, channel: str, payload: str) -> None:
    """Tell every listening process ``payload`` on ``channel`` (its own transaction)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
        )
