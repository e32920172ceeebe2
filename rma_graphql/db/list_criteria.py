"""An RMA order list's criteria as SQL: their values by name, and the conditions that bind
them (with the values, or as parameters of a statement prepared once per shape)."""

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, Text, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from rma_graphql.db import tables as t
from rma_graphql.domain.access import Caller
from rma_graphql.domain.criteria import RmaOrderFilter
from rma_graphql.domain.statuses import ProcessingStatus

_LISTED = (
    "processing_status",
    "delivery_status",
    "financial_status",
    "fulfillment_status",
    "expected_resolution",
    "custom_state",
)


# Runs of digits and runs of letters: a search's pieces (each inside one of the text's words,
# where pg_trgm takes its trigrams).
_PIECES = re.compile(r"\d+|[^\W\d_]+")
# The keys index (migration 0030's rma_search_keys): the 3- and 5-character pieces of each run
# of these characters of the search text, each after its organization's prefix.
GRAM = 5
TRIGRAM = 3
_GRAMMED = re.compile(r"[a-z0-9]+")
# The prefix's length: the first hex digits of the organization id's MD5 (as rma_search_keys).
PREFIX = 8


class _Position(FunctionElement[int]):
    """Where a text starts in another (1-based; 0 when it is not there): ``instr`` on
    SQLite, ``strpos`` on PostgreSQL. A plain substring test: no wildcard, no escape."""

    type = Integer()
    inherit_cache = True


@compiles(_Position)
def _instr(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_Position, "postgresql")
def _strpos(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


def _like_anywhere(text: str) -> str:
    """A LIKE pattern (escape character ``/``) matching ``text`` anywhere."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def search_piece(text: str) -> str:
    """What of a (case-folded) search the search text's indexes are asked for (its keys in
    the organization, ``search_keys``, else its trigrams): its longest run of digits, else
    its longest run of letters (3 characters at least, a trigram's length), else the whole
    search. The search itself is then matched on the rows the piece finds.

    An index answers a pattern by intersecting the lists of its grams, and its cost is set
    by the longest lists, not by the rows found: ``rma-334333`` at a million RMA orders
    walked the lists of ``rma`` and ``ma-``, held by every row (13 ms), where ``334333``
    alone finds 35 rows in 0.5 ms. Digits are what tells one return from another (numbers,
    references, postcodes), the letters of a reference's prefix or an email's domain what
    they share."""
    pieces: list[str] = [piece for piece in _PIECES.findall(text) if len(piece) >= 3]
    if not pieces:
        return text
    digits = [piece for piece in pieces if piece.isdigit()]
    return max(digits or pieces, key=len)


def organization_prefix(organization_id: str) -> str:
    """What the search keys of an organization's RMA orders start with: two organizations
    rarely share it, and when they do, the rows found are still checked for the caller's."""
    return hashlib.md5(organization_id.encode(), usedforsecurity=False).hexdigest()[:PREFIX]


def search_keys(organization_id: str, piece: str) -> list[str] | None:
    """The keys of a search's piece in its organization: its 5-grams from 5 characters on,
    else its trigrams, each after the organization's prefix. Every text of the organization
    holding the piece holds them (the piece is inside one of its runs of ASCII letters and
    digits), and no other organization's text does: the index's lists hold one
    organization's rows, so a search of a small organization beside a large one reads its
    own few. None for a piece of other characters (asked of the trigram index)."""
    if len(piece) < TRIGRAM or not _GRAMMED.fullmatch(piece):
        return None
    size = GRAM if len(piece) >= GRAM else TRIGRAM
    prefix = organization_prefix(organization_id)
    return sorted({prefix + piece[i : i + size] for i in range(len(piece) - size + 1)})


def rma_order_filter_values(caller: Caller, f: RmaOrderFilter) -> dict[str, Any]:
    """The values of a caller's criteria, by the names ``rma_order_conditions`` binds them to
    (which names there are is the statement's shape)."""
    values: dict[str, Any] = {"organization": caller.organization_id}
    if caller.customer_id is not None:
        values["customer"] = caller.customer_id
    for name in _LISTED:
        if getattr(f, name):
            values[name] = list(getattr(f, name))
    shows_deleted = f.include_deleted or (
        f.processing_status is not None and ProcessingStatus.DELETED.value in f.processing_status
    )
    if not shows_deleted:
        values["deleted"] = ProcessingStatus.DELETED.value
    if f.location_id is not None:
        values["location_id"] = f.location_id
    if f.created_after is not None:
        values["created_after"] = f.created_after
    if f.created_before is not None:
        values["created_before"] = f.created_before
    if f.search:
        values["search"] = f.search.casefold()
        piece = search_piece(values["search"])
        values["search_piece"] = _like_anywhere(piece)
        keys = search_keys(caller.organization_id, piece)
        if keys is not None:
            values["search_keys"] = keys
    return values


def filter_conditions(values: Mapping[str, Any], dialect: str, *, bound: bool) -> list[ColumnElement[bool]]:
    """The conditions of ``rma_order_filter_values``: with their values, or (``bound``) with
    parameters of those names only, for a statement prepared once per shape (``= ANY`` of an
    array for a list of values on PostgreSQL: one shape however many values)."""
    c = t.rma_order.c

    def value(name: str, type_: Any = None, *, expanding: bool = False) -> Any:
        return bindparam(name, None if bound else values[name], type_=type_, expanding=expanding)

    conditions: list[ColumnElement[bool]] = [c.organization_id == value("organization")]
    if "customer" in values:
        conditions.append(c.customer_id == value("customer"))
    for name in _LISTED:
        if name in values and dialect == "postgresql":
            conditions.append(c[name] == any_(value(name, ARRAY(String))))
        elif name in values:
            conditions.append(c[name].in_(value(name, expanding=True)))
    if "deleted" in values:
        conditions.append(c.processing_status != value("deleted"))
    if "location_id" in values:
        conditions.append(c.location_id == value("location_id"))
    if "created_after" in values:
        conditions.append(c.created_at >= value("created_after", c.created_at.type))
    if "created_before" in values:
        conditions.append(c.created_at < value("created_before", c.created_at.type))
    if "search" in values:
        # The search text is kept in a table of its own (one row per RMA order). Its index
        # is asked for the search's piece: its keys in the caller's organization (PostgreSQL,
        # a piece of 3 ASCII letters or digits at least), else its trigrams (LIKE; on SQLite
        # a scan). The whole search is then a substring of the rows found (strpos, instr: no
        # index takes it), of the caller's organization (checked on them too: two
        # organizations may share a prefix; keyed by the organization as a column of its own,
        # the trigram index read all of its organization's entries, 5 ms at a million).
        s = t.rma_order_search.c
        if "search_keys" in values and dialect == "postgresql":
            keys = func.rma_search_keys(s.organization_id, s.search_text, type_=ARRAY(Text))
            piece = keys.contains(value("search_keys", ARRAY(Text)))
        else:
            piece = s.search_text.like(value("search_piece"), escape="/")
        found = select(s.rma_order_id).where(
            piece,
            _Position(s.search_text, value("search")) > 0,
            s.organization_id == value("organization"),
        )
        conditions.append(c.id.in_(found))
    return conditions
