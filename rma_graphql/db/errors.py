"""Database errors in the words the services decide on."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError


class DuplicateRowError(Exception):
    """A write broke a unique constraint: a concurrent writer inserted the same key first.

    The transaction it happened in is rolled back; ``detail`` is the database's message,
    which names the constraint (PostgreSQL) or its columns (SQLite).
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def names(self, *constraints: str) -> bool:
        return any(name in self.detail for name in constraints)


@asynccontextmanager
async def duplicates_named() -> AsyncIterator[None]:
    """Raise a broken unique constraint in the block as ``DuplicateRowError``."""
    try:
        yield
    except IntegrityError as error:
        raise DuplicateRowError(str(error.orig)) from error
