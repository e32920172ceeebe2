"""Where a process of ours starts: the ``rma-graphql`` command, and the app each process of
``rma-graphql serve`` imports. Their imports make a few hundred thousand objects (the
tables, the schema, the libraries' classes) that live as long as the process; the garbage
collector, run again and again meanwhile, finds nothing to free in them and cost a quarter
of a command's start (2.5 s of CPU to import the command, 1.9 s without it). So the imports
run with the collector paused, and what they made is then frozen out of its sight."""

import contextlib
import gc
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection inside; on the way out, what exists is frozen (moved out of
    the collector's sight, as ``gc.freeze`` does) and the collector is on as before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def main() -> int:
    """The ``rma-graphql`` command."""
    with collector_paused():
        from rma_graphql.cli import main as command
    return command()


def served_app() -> "Starlette":
    """The app as each process of ``rma-graphql serve`` imports and runs it."""
    with collector_paused():
        from rma_graphql.app import create_served_app
    return create_served_app()


if __name__ == "__main__":  # python -m rma_graphql.startup: the command, as the benchmarks run it
    sys.exit(main())
