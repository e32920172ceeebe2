"""Notices that are not events, told to every listening server process (PostgreSQL's NOTIFY),
and kept as last told for the processes that were not listening then."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# Where a bulk action's progress is told.
BULK_PROGRESS_CHANNEL = "rma_bulk_progress"
# How long a run's progress is kept once it stops changing (pruned when a run starts).
KEEP_PROGRESS = "1 day"

# One statement: the progress kept (never over a newer one: notices may come late), older
# runs pruned when a run starts, and the notice sent, all when it commits.
_TELL_PROGRESS = text(
    f"""
    WITH kept AS (
        INSERT INTO bulk_action_progress (id, organization_id, done, progress, updated_at)
        VALUES (:run_id, :organization_id, :done, :payload, now())
        ON CONFLICT (organization_id, id) DO UPDATE
            SET done = excluded.done, progress = excluded.progress, updated_at = excluded.updated_at
            WHERE bulk_action_progress.done <= excluded.done
    ), pruned AS (
        DELETE FROM bulk_action_progress
        WHERE CAST(:done AS integer) = 0 AND updated_at < now() - interval '{KEEP_PROGRESS}'
    )
    SELECT pg_notify('{BULK_PROGRESS_CHANNEL}', :payload)
    """
)

_TOLD_PROGRESS = text(
    "SELECT progress FROM bulk_action_progress WHERE organization_id = :organization_id AND id = :run_id"
)


async def notify(engine: AsyncEngine, channel: str, payload: str) -> None:
    """Tell every listening process ``payload`` on ``channel`` (its own transaction)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
        )


async def tell_progress(
    engine: AsyncEngine, run_id: str, organization_id: str, done: int, payload: str
) -> None:
    """Keep a run's progress and tell it to every listening process (its own transaction)."""
    async with engine.begin() as conn:
        await conn.execute(
            _TELL_PROGRESS,
            {"run_id": run_id, "organization_id": organization_id, "done": done, "payload": payload},
        )


async def told_progress(engine: AsyncEngine, run_id: str, organization_id: str) -> str | None:
    """A run's progress as last told (None: the organization has no such run kept)."""
    async with engine.connect() as conn:
        found = await conn.execute(_TOLD_PROGRESS, {"run_id": run_id, "organization_id": organization_id})
        return found.scalar_one_or_none()
