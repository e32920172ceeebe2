"""Column helpers of the tables: ids, UTC times, money in minor units, JSON; and partial indexes."""

import functools
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, text
from sqlmodel import Field

from rma_graphql.db.types import UTCDateTime, json_type

ID_LENGTH = 36


def id_field(primary_key: bool = False, foreign: str | None = None, **kwargs: Any) -> Any:
    args: list[Any] = [String(ID_LENGTH)]
    if foreign:
        args.append(ForeignKey(foreign, ondelete="CASCADE"))
    return Field(sa_column=Column(*args, primary_key=primary_key, nullable=False, **kwargs))


def time_field(nullable: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable))


def money_field(default: int | None = None, nullable: bool = False) -> Any:
    """An amount in minor units: 64 bits, as a total of many lines can pass 2^31."""
    column = Column(BigInteger, nullable=nullable)
    if default is None and not nullable:
        return Field(sa_column=column)  # required
    return Field(default=default, sa_column=column)


def json_field(nullable: bool = True) -> Any:
    return Field(sa_column=Column(json_type(), nullable=nullable))


@functools.cache
def column_names(table: Table) -> tuple[str, ...]:
    """The table's column names, in order (read once: a table's column collection costs more
    to walk than a tuple, on paths that walk it per row)."""
    return tuple(column.name for column in table.columns)


def partial_index(name: str, *columns: str, having: str) -> Index:
    """An index of the rows that have a value in ``having`` (a query by its value reads no
    others): a status change, which writes a new entry in every index of its row, writes none
    there for the rows without one (most RMA orders have no custom state, a guest's return no
    customer account)."""
    where = text(f"{having} IS NOT NULL")
    return Index(name, *columns, postgresql_where=where, sqlite_where=where)
