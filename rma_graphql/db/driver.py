"""Hot statements run on the database driver itself: a SQLAlchemy Core statement (the hot
reads, every write of an RMA order's change), compiled once per shape, run by asyncpg
directly on the pooled connection (PostgreSQL).

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

import asyncpg
from sqlalchemy import ColumnElement, String, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement, Select

Row = Mapping[Any, Any]
# Builds a statement with bound parameters for a dialect ("postgresql", "sqlite").
Build = Callable[[str], Any]

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
    # The bound parameters whose values the column type turns into what the driver takes
    # (JSON as text, for one), by name.
    bind_processors: Mapping[str, Callable[[Any], Any]]
    # The values of the bound parameters that carry one (a literal in the statement).
    defaults: Mapping[str, Any]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        found = []
        for name in self.names:
            value = params[name] if name in params else self.defaults[name]
            processor = self.bind_processors.get(name)
            found.append(value if processor is None or value is None else processor(value))
        return found


def _compile(dialect: Any, statement: ClauseElement) -> _Compiled:
    return _compile_with_names(dialect, statement)[0]


def _compile_with_names(dialect: Any, statement: ClauseElement) -> tuple[_Compiled, Mapping[Any, str]]:
    """The statement compiled, and the name of each of its bound parameters."""
    compiled: Any = statement.compile(dialect=dialect)  # a SQLCompiler
    columns = list(getattr(statement, "selected_columns", None) or getattr(statement, "_returning", ()) or ())
    processors = []
    for index, column in enumerate(columns):
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if processor is not None:
            processors.append((index, processor))
    bind_processors = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            bind_processors[name] = processor
    found = _Compiled(
        sql=compiled.string,
        names=tuple(compiled.positiontup or ()),
        keys=tuple(str(column.key) for column in columns),
        processors=tuple(processors),
        bind_processors=bind_processors,
        defaults={name: bind.value for name, bind in compiled.binds.items() if not bind.required},
    )
    return found, compiled.bind_names


class Prepared:
    """One statement's shape (a select, or an insert or update, with RETURNING or not): built
    with bound parameters and compiled once per dialect, run many times."""

    def __init__(self, build: Build) -> None:
        self._build = build
        self._statements: dict[str, Any] = {}
        self._compiled: _Compiled | None = None

    def statement(self, dialect: str) -> Any:
        found = self._statements.get(dialect)
        if found is None:
            found = self._statements[dialect] = self._build(dialect)
        return found

    def compiled(self, conn: AsyncConnection) -> _Compiled:
        """The statement as compiled for ``conn``'s dialect: its SQL, its parameters' order."""
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = _compile(conn.dialect, self.statement(conn.dialect.name))
        return compiled

    async def rows(self, conn: AsyncConnection, *, begin: bool = True, **params: Any) -> Sequence[Row]:
        """The rows the statement gives (a select's, or RETURNING's), as mappings by column.
        ``begin=False`` (PostgreSQL): no transaction is begun for it when none is open (a read
        that needs no lock reads the same outside one)."""
        if conn.dialect.name != "postgresql":
            result = await conn.execute(self.statement(conn.dialect.name), params)
            return list(result.mappings())
        compiled = self.compiled(conn)
        return _rows(compiled, await _fetch(conn, compiled.sql, compiled.arguments(params), begin=begin))

    async def records(self, conn: AsyncConnection, *, begin: bool = True, **params: Any) -> Sequence[Row]:
        """The rows, read-only: on PostgreSQL the driver's own records when no column needs
        converting (no dictionary made per row). ``begin=False``: the statement is its
        reader's only one, run without a transaction (one statement is one snapshot) unless
        one is open already."""
        if conn.dialect.name != "postgresql":
            return await self.rows(conn, **params)
        compiled = self.compiled(conn)
        return _records(compiled, await _fetch(conn, compiled.sql, compiled.arguments(params), begin=begin))

    async def execute(self, conn: AsyncConnection, **params: Any) -> None:
        """Run the statement (an insert or update without RETURNING)."""
        if conn.dialect.name != "postgresql":
            await conn.execute(self.statement(conn.dialect.name), params)
            return
        compiled = self.compiled(conn)
        await _fetch(conn, compiled.sql, compiled.arguments(params))

    async def execute_many(self, conn: AsyncConnection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set, in one round trip on PostgreSQL."""
        if not params:
            return
        if conn.dialect.name != "postgresql":
            await conn.execute(self.statement(conn.dialect.name), list(params))
            return
        compiled = self.compiled(conn)
        await _fetch(conn, compiled.sql, [compiled.arguments(one) for one in params], many=True)


async def raw_rows(conn: AsyncConnection, sql: str, *arguments: Any, begin: bool = True) -> list[Any]:
    """The rows of a PostgreSQL statement written as SQL (one SQLAlchemy cannot express),
    with the driver's positional arguments (``begin`` as ``Prepared.rows``)."""
    return await _fetch(conn, sql, arguments, begin=begin)


async def _adapter(conn: AsyncConnection) -> Any:
    """SQLAlchemy's adapter of the asyncpg connection ``conn`` holds (cached in its info)."""
    adapter: Any = conn.info.get(_ADAPTER)
    if adapter is None:
        raw = await conn.get_raw_connection()
        adapter = conn.info[_ADAPTER] = raw.dbapi_connection
    return adapter


async def transaction_open(conn: AsyncConnection) -> bool:
    """Whether the database has a transaction open on ``conn`` (PostgreSQL: SQLAlchemy's
    ``begin()`` opens one only at the first statement that needs it)."""
    return (await _adapter(conn))._transaction is not None


def reusable(conn: AsyncConnection) -> bool:
    """Whether ``conn`` is open and in no transaction, as far as SQLAlchemy and this driver
    know without a round trip (a connection the server closed is seen closed once a
    statement has failed on it)."""
    if conn.closed or conn.invalidated or conn.in_transaction():
        return False
    adapter = conn.info.get(_ADAPTER)
    return adapter is None or (adapter._transaction is None and not adapter._connection.is_closed())


async def end_transaction(conn: AsyncConnection, *, commit: bool) -> None:
    """Commit (or roll back) what the statements on ``conn`` began: the transaction
    SQLAlchemy began at its first statement, or the one this driver began (PostgreSQL,
    ``begin=True``); nothing when none was. A commit the database refuses raises as
    SQLAlchemy's does (IntegrityError for a deferred constraint)."""
    if conn.in_transaction():
        await (conn.commit() if commit else conn.rollback())
        return
    adapter: Any = conn.info.get(_ADAPTER)
    transaction = adapter._transaction if adapter is not None else None
    if transaction is None:
        return
    async with adapter._execute_mutex:
        try:
            await adapter._call_and_discard(transaction.commit if commit else transaction.rollback)
        except Exception as error:
            _raise_translated(adapter, "COMMIT" if commit else "ROLLBACK", (), error)


def _raise_translated(adapter: Any, sql: str, arguments: Sequence[Any], error: Exception) -> None:
    """Raise ``error`` as SQLAlchemy's cursor and engine would have: the adapter forgets a
    transaction the error ended, and the error becomes SQLAlchemy's own (IntegrityError, …)."""
    try:
        adapter._handle_exception(error)
    except adapter.dbapi.Error as translated:
        raise DBAPIError.instance(sql, arguments, translated, adapter.dbapi.Error) from error
    raise error


def refused_by_database(error: BaseException) -> bool:
    """Whether ``error`` is the database refusing a statement (a broken constraint, a value
    it does not take): outside a transaction nothing of it was written, and the connection
    is still good. A connection that failed is not that."""
    return isinstance(error, DBAPIError) and isinstance(error.__cause__, asyncpg.PostgresError)


async def _fetch(
    conn: AsyncConnection, sql: str, arguments: Sequence[Any], *, many: bool = False, begin: bool = True
) -> list[Any]:
    """asyncpg's ``fetch`` on the connection SQLAlchemy holds, inside the transaction
    SQLAlchemy tracks for it (begun here when no statement has begun it yet), under the
    adapter's own lock, as SQLAlchemy's cursor does it."""
    sync = conn.sync_connection
    if sync is not None and (sync._has_events or sync.engine._has_events):
        # What listens to SQLAlchemy's statements (counters, loggers) hears these too.
        sync.dispatch.before_cursor_execute(sync, None, sql, arguments, None, many)
    adapter = await _adapter(conn)
    async with adapter._execute_mutex:
        if adapter._transaction is None and begin:
            await adapter._start_transaction()
        try:
            if many:
                await adapter._connection.executemany(sql, arguments)
                return []
            return list(await adapter._connection.fetch(sql, *arguments))
        except Exception as error:
            _raise_translated(adapter, sql, arguments, error)
            raise


@dataclass(frozen=True)
class _Shape:
    """A compiled statement of one shape, and the names of a statement's bound parameters
    of that shape, in the order its cache key lists them."""

    compiled: _Compiled
    names_by_position: tuple[str, ...]


# Compiled statements by their SQLAlchemy cache key (the shape, without the values).
_shapes: dict[Any, _Shape | None] = {}
_MAX_SHAPES = 500


def _shape(conn: AsyncConnection, statement: Select[Any], cache_key: Any) -> _Shape | None:
    compiled, bind_names = _compile_with_names(conn.dialect, statement)
    if "POSTCOMPILE" in compiled.sql:
        return None  # an expanding IN: its SQL depends on its values (SQLAlchemy runs it)
    return _Shape(compiled, tuple(bind_names[bind] for bind in cache_key.bindparams))


async def select_rows(
    conn: AsyncConnection, statement: Select[Any], *, begin: bool = True, read_only: bool = False
) -> Sequence[Row]:
    """The rows of any select, as mappings by column: on PostgreSQL compiled once per shape
    (SQLAlchemy's cache key) and fetched by the driver; through SQLAlchemy otherwise.
    ``begin=False``: the statement is its reader's only one, run without a transaction
    (unless one is open already) on PostgreSQL; ``read_only``: rows as ``Prepared.records``."""
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
    values = {
        name: bind.value for name, bind in zip(shape.names_by_position, cache_key.bindparams, strict=True)
    }
    compiled = shape.compiled
    found = await _fetch(conn, compiled.sql, compiled.arguments(values), begin=begin)
    return _records(compiled, found) if read_only else _rows(compiled, found)


def _records(compiled: _Compiled, found: list[Any]) -> Sequence[Row]:
    return found if not compiled.processors else _rows(compiled, found)


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
