"""the search index's keys per organization

The 5-grams index (0027) and the trigram index hold every organization's rows under one
key: a search of a small organization beside a large one read the large one's rows holding
its piece and dropped them (``1001`` in an organization of ten thousand beside one of a
million: 772 rows read for 11 kept). ``rma_search_keys`` gives the 3- and 5-character pieces
of each run of ASCII letters and digits of a text, each after its organization's prefix
(the first 8 hex digits of the MD5 of its id; ``db/list_criteria.py`` computes the same):
each list of the GIN index holds one organization's rows. It replaces the 5-grams index; the
trigram index stays for pieces of other letters.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = """
CREATE FUNCTION rma_search_keys(text, text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT left(md5($1), 8) || substr(word, i, size)), '{}')
    FROM regexp_split_to_table($2, '[^a-z0-9]+') AS word,
        (VALUES (3), (5)) AS sizes(size),
        generate_series(1, length(word) - size + 1) AS i
$$
"""

# 0027's, as it was.
GRAMS = """
CREATE FUNCTION rma_search_grams(text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(word, i, 5)), '{}')
    FROM regexp_split_to_table($1, '[^a-z0-9]+') AS word,
        generate_series(1, length(word) - 4) AS i
$$
"""


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgresql():
        return
    op.execute(KEYS)
    op.create_index(
        "ix_rma_order_search_keys",
        "rma_order_search",
        [sa.text("rma_search_keys(organization_id, search_text)")],
        postgresql_using="gin",
    )
    op.drop_index("ix_rma_order_search_grams", table_name="rma_order_search")
    op.execute("DROP FUNCTION rma_search_grams(text)")


def downgrade() -> None:
    if not _postgresql():
        return
    op.execute(GRAMS)
    op.create_index(
        "ix_rma_order_search_grams",
        "rma_order_search",
        [sa.text("rma_search_grams(search_text)")],
        postgresql_using="gin",
    )
    op.drop_index("ix_rma_order_search_keys", table_name="rma_order_search")
    op.execute("DROP FUNCTION rma_search_keys(text, text)")
