"""Column helpers of the tables: ids, UTC times, money in minor units, JSON."""

import functools
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table
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
