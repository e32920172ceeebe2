"""no planner statistics for the columns no query filters, joins or sorts on

ANALYZE gathers statistics for every column of a table from a sample of 30,000 rows, and
autovacuum runs it on the busiest tables about once a minute under a write load, a core's
work for up to a second each time. The JSON documents (contacts, meta, an event's changes, a
webhook's body) and the free texts (comments, a mail's bodies) are only ever read whole: no
plan uses their statistics, and gathering them was most of that work (ANALYZE of rma_order
about 650 ms with them and 450 without, rma_order_event 400 and 160, notification_delivery
440 and 260, on tables of 50,000 to 130,000 rows). A target of 0 skips them; the columns the
queries use keep theirs.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFILTERED: dict[str, tuple[str, ...]] = {
    "rma_order": (
        "delivery_contact",
        "sender",
        "owner",
        "billing_contact",
        "comment",
        "meta",
        "policy",
        "refund_terms",
    ),
    "rma_order_line": ("comment", "pictures", "received_serial_numbers"),
    "rma_order_event": ("changes", "actor", "comment", "data"),
    "rma_order_comment": ("text", "author"),
    "notification_delivery": ("subject", "text_body", "html_body", "last_error"),
    "webhook_delivery": ("body",),
    "webhook_attempt": ("response_body",),
}


def _set_targets(target: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in UNFILTERED.items():
        changes = ", ".join(f"ALTER COLUMN {column} SET STATISTICS {target}" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _set_targets(0)


def downgrade() -> None:
    _set_targets(-1)
