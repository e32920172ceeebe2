"""Hot reads run on the database driver itself: a SQLAlchemy Core select, compiled once per
shape, whose rows asyncpg fetches directly on the pooled connection (PostgreSQL).

SQLAlchemy's async engine costs more per statement than a short indexed read: its greenlet
hop, its cursor adapter and its result machinery outweigh the query itself. The statements
here are still built with SQLAlchemy (so they name tables and columns as every other
statement does), compiled once per shape with bound parameters, and run on the same
pooled connection and in the same transaction as any statement SQLAlchemy runs on it.
On SQLite they run through SQLAlchemy unchanged.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

Row = Mapping[Any, Any]
# Builds a statement with bound parameters for a dialect ("postgresql", "sqlite").
Build = Callable[[str], Select[Any]]

# The cached adapter of SQLAlchemy's asyncpg connection, in the connection's info.
_ADAPTER = "rma_driver_adapter"


def one_of(dialect: str, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column`` equals one of the list bound as ``name``: ``= ANY($n)`` on PostgreSQL (one
    statement for any number of keys), an expanding ``IN`` elsewhere."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # The bound parameters' names in the order of $1, $2, …
    names: tuple[str, ...]
    keys: tuple[str, ...]
    # (position, result processor) of the columns whose values the driver does not give as
    # the column's Python type (JSON text, for one).
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]


class PreparedRead:
    """One read statement's shape: built and compiled once per dialect, run many times."""

    def __init__(self, build: Build) -> None:
        self._build = build
        self._statements: dict[str, Select[Any]] = {}
        self._compiled: _Compiled | None = None

    def statement(self, dialect: str) -> Select[Any]:
        found = self._statements.get(dialect)
        if found is None:
            found = self._statements[dialect] = self._build(dialect)
        return found

    def _compile(self, conn: AsyncConnection) -> _Compiled:
        dialect = conn.dialect
        statement = self.statement(dialect.name)
        compiled = statement.compile(dialect=dialect)
        processors = []
        for index, column in enumerate(statement.selected_columns):
            processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if processor is not None:
                processors.append((index, processor))
        return _Compiled(
            sql=compiled.string,
            names=tuple(compiled.positiontup or ()),
            keys=tuple(str(column.key) for column in statement.selected_columns),
            processors=tuple(processors),
        )

    async def rows(self, conn: AsyncConnection, **params: Any) -> Sequence[Row]:
        """The rows the statement gives with these parameters, as mappings by column."""
        if conn.dialect.name != "postgresql":
            result = await conn.execute(self.statement(conn.dialect.name), params)
            return list(result.mappings())
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = self._compile(conn)
        return _rows(compiled, await _fetch(conn, compiled.sql, [params[name] for name in compiled.names]))


async def _fetch(conn: AsyncConnection, sql: str, arguments: Sequence[Any]) -> list[Any]:
    """asyncpg's ``fetch`` on the connection SQLAlchemy holds, inside the transaction
    SQLAlchemy tracks for it (begun here when no statement has begun it yet), under the
    adapter's own lock, as SQLAlchemy's cursor does it."""
    sync = conn.sync_connection
    if sync is not None and (sync._has_events or sync.engine._has_events):
        # What listens to SQLAlchemy's statements (counters, loggers) hears these too.
        sync.dispatch.before_cursor_execute(sync, None, sql, arguments, None, False)
    adapter: Any = conn.info.get(_ADAPTER)
    if adapter is None:
        raw = await conn.get_raw_connection()
        adapter = conn.info[_ADAPTER] = raw.dbapi_connection
    async with adapter._execute_mutex:
        if adapter._transaction is None:
            await adapter._start_transaction()
        try:
            return list(await adapter._connection.fetch(sql, *arguments))
        except Exception as error:
            # As SQLAlchemy's cursor does: the adapter forgets a transaction the error ended.
            adapter._handle_exception(error)
            raise


@dataclass(frozen=True)
class _Shape:
    """A compiled statement of one shape, and how a statement of that shape binds: the
    statement's bound parameters, in the order its cache key lists them, by name."""

    compiled: _Compiled
    names_by_position: tuple[str, ...]
    bind_processors: Mapping[str, Callable[[Any], Any]]


# Compiled statements by their SQLAlchemy cache key (the shape, without the values).
_shapes: dict[Any, _Shape | None] = {}
_MAX_SHAPES = 500


def _shape(conn: AsyncConnection, statement: Select[Any], cache_key: Any) -> _Shape | None:
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect)
    if "POSTCOMPILE" in compiled.string:
        return None  # an expanding IN: its SQL depends on its values (SQLAlchemy runs it)
    processors = []
    for index, column in enumerate(statement.selected_columns):
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if processor is not None:
            processors.append((index, processor))
    bind_processors = {}
    for bind in cache_key.bindparams:
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            bind_processors[compiled.bind_names[bind]] = processor
    return _Shape(
        compiled=_Compiled(
            sql=compiled.string,
            names=tuple(compiled.positiontup or ()),
            keys=tuple(str(column.key) for column in statement.selected_columns),
            processors=tuple(processors),
        ),
        names_by_position=tuple(compiled.bind_names[bind] for bind in cache_key.bindparams),
        bind_processors=bind_processors,
    )


async def select_rows(conn: AsyncConnection, statement: Select[Any]) -> Sequence[Row]:
    """The rows of any select, as mappings by column: on PostgreSQL compiled once per shape
    (SQLAlchemy's cache key) and fetched by the driver; through SQLAlchemy otherwise."""
    if conn.dialect.name != "postgresql":
        return list((await conn.execute(statement)).mappings())
    cache_key = statement._generate_cache_key()
    if cache_key is None or any(bind.callable is not None for bind in cache_key.bindparams):
        return list((await conn.execute(statement)).mappings())
    if cache_key.key in _shapes:
        shape = _shapes[cache_key.key]
    else:
        if len(_shapes) >= _MAX_SHAPES:
            _shapes.clear()
        shape = _shapes[cache_key.key] = _shape(conn, statement, cache_key)
    if shape is None:
        return list((await conn.execute(statement)).mappings())
    values = {}
    for name, bind in zip(shape.names_by_position, cache_key.bindparams, strict=True):
        processor = shape.bind_processors.get(name)
        values[name] = bind.value if processor is None else processor(bind.value)
    compiled = shape.compiled
    return _rows(compiled, await _fetch(conn, compiled.sql, [values[name] for name in compiled.names]))


def _rows(compiled: _Compiled, found: list[Any]) -> list[Row]:
    keys, processors = compiled.keys, compiled.processors
    if not processors:
        return [dict(zip(keys, record, strict=True)) for record in found]
    rows: list[Row] = []
    for record in found:
        values = list(record)
        for index, processor in processors:
            values[index] = processor(values[index])
        rows.append(dict(zip(keys, values, strict=True)))
    return rows
