"""A served process's log lines are written together, at most a moment after they were
logged; warnings at once with the lines before them; every line as logged outside an event
loop (rma_graphql/logs.py BufferedLines)."""

import asyncio
import logging
import threading
from collections.abc import Iterator

import pytest

from rma_graphql.logs import BUFFER_BYTES, BufferedLines


class Stream:
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.written = asyncio.Event()

    def write(self, text: str) -> None:
        self.writes.append(text)
        self.written.set()

    def flush(self) -> None:
        pass

    @property
    def lines(self) -> list[str]:
        return "".join(self.writes).splitlines()


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, Stream, BufferedLines]]:
    stream = Stream()
    handler = BufferedLines(stream, 0.05)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("rma_graphql.test_log_buffer")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(handler)
    try:
        yield logger, stream, handler
    finally:
        logger.removeHandler(handler)


async def _written(stream: Stream, count: int) -> None:
    async with asyncio.timeout(10):
        while len(stream.lines) < count:
            stream.written.clear()
            await stream.written.wait()


async def test_lines_logged_in_a_loop_are_written_together_a_moment_later(
    logged: tuple[logging.Logger, Stream, BufferedLines],
) -> None:
    logger, stream, _ = logged
    for number in range(3):
        logger.info("line %d", number)
    waiting = list(stream.writes)

    await _written(stream, 3)

    assert waiting == []
    assert stream.writes == ["INFO line 0\nINFO line 1\nINFO line 2\n"]


async def test_a_warning_is_written_at_once_after_the_lines_before_it(
    logged: tuple[logging.Logger, Stream, BufferedLines],
) -> None:
    logger, stream, _ = logged
    logger.info("first")
    logger.warning("careful")
    at_once = list(stream.writes)
    logger.info("after")

    await _written(stream, 3)

    assert at_once == ["INFO first\nWARNING careful\n"]
    assert stream.lines == ["INFO first", "WARNING careful", "INFO after"]


async def test_a_full_buffer_is_written_without_waiting(
    logged: tuple[logging.Logger, Stream, BufferedLines],
) -> None:
    logger, stream, _ = logged
    long = "x" * 1000
    count = BUFFER_BYTES // 1000 + 1
    for _ in range(count):
        logger.info(long)

    assert len(stream.writes) == 1
    assert len(stream.lines) == count


async def test_zero_seconds_writes_every_line_as_it_is_logged(
    logged: tuple[logging.Logger, Stream, BufferedLines],
) -> None:
    logger, stream, handler = logged
    handler.seconds = 0
    logger.info("one")
    logger.info("two")

    assert stream.writes == ["INFO one\n", "INFO two\n"]


def test_outside_an_event_loop_every_line_is_written_as_it_is_logged(
    logged: tuple[logging.Logger, Stream, BufferedLines],
) -> None:
    logger, stream, _ = logged
    logger.info("one")
    logger.info("two")

    assert stream.writes == ["INFO one\n", "INFO two\n"]


async def test_flush_writes_what_waits_at_once_and_the_next_line_waits_again(
    logged: tuple[logging.Logger, Stream, BufferedLines],
) -> None:
    logger, stream, handler = logged
    logger.info("waiting")
    handler.flush()
    flushed = list(stream.writes)
    logger.info("next")
    after = list(stream.writes)

    await _written(stream, 2)

    assert flushed == after == ["INFO waiting\n"]
    assert stream.writes == ["INFO waiting\n", "INFO next\n"]


async def test_a_line_from_another_thread_is_written_with_those_waiting(
    logged: tuple[logging.Logger, Stream, BufferedLines],
) -> None:
    logger, stream, _ = logged
    logger.info("in the loop")
    thread = threading.Thread(target=logger.info, args=("from a thread",))
    thread.start()
    thread.join()

    assert stream.writes == ["INFO in the loop\nINFO from a thread\n"]


async def test_a_stream_that_fails_loses_the_lines_not_the_logger(
    logged: tuple[logging.Logger, Stream, BufferedLines], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, stream, handler = logged
    reported: list[str] = []
    monkeypatch.setattr(handler, "handleError", lambda record: reported.append(record.getMessage()))

    def broken(text: str) -> None:
        raise OSError("the disk is full")

    monkeypatch.setattr(stream, "write", broken)
    logger.info("lost")
    logger.error("also lost")  # written at once: the failure is reported, not raised
    monkeypatch.undo()
    logger.error("written")

    assert reported == ["log lines could not be written"]
    assert stream.lines == ["ERROR written"]
