"""Parsing away from the event loop: worker processes, a time budget, the page's item cap.

A 100,000-event calendar costs seconds of CPU and millions of objects. In a thread of the
bot's own process it still stalled the loop for 300-700 ms at a time (the GIL, and the cyclic
garbage collector walking all those objects), so pages are parsed in a small pool of worker
processes (bench/parse_lag.py measures the loop's lag). Commands, the dispatcher and
``/healthz`` keep their loop; the worker's memory is its own, given back when it is replaced
(every ``_TASKS_PER_WORKER`` parses).

- Past ``PARSE_BUDGET`` seconds a parse is a ``ParseError`` and the pool is replaced, which
  ends the runaway worker (a thread could not be stopped).
- The page's item cap (``max_items_per_page``) is applied in the worker, so that 100,000
  items are never sent back to be unpickled on the loop; the count found is returned.
- A source that cannot be pickled (a test's local class) is parsed in a thread instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from bot.core.model import Opportunity
from sources.base import ParseError, ParseResult, Source

__all__ = ["PARSE_BUDGET", "ParseLimitError", "parse_detail", "parse_page", "shutdown"]

logger = logging.getLogger(__name__)

PARSE_BUDGET = 60.0  # seconds for one page; 10 MB of the worst markup seen fits in it
PARSE_WORKERS = 2  # the machine's cores: parsing is CPU-bound
_TASKS_PER_WORKER = 50
_NICENESS = 10
_PRELOAD = ("bs4", "lxml.html", "feedparser", "icalendar", "sources.registry", "sources.ukri")
T = TypeVar("T")


class ParseLimitError(ParseError):
    """The parse was stopped (time budget, worker lost): the page's size or shape, not a
    sign that its markup changed."""


_processes: ProcessPoolExecutor | None = None
_threads: ThreadPoolExecutor | None = None


def _page(source: Source, body: bytes, url: str) -> tuple[ParseResult, int]:
    """In the worker: parse, then keep the page's share of the items."""
    parsed = source.parse(body, url)
    found = len(parsed.items)
    del parsed.items[source.config.max_items_per_page :]
    return parsed, found


async def parse_page(source: Source, body: bytes, url: str) -> tuple[ParseResult, int]:
    """``source.parse`` off the loop: the result (capped) and how many items the page had."""
    return await _run(source, _page, source, body, url)


async def parse_detail(source: Source, body: bytes, url: str, item: Opportunity):
    """``source.detail_items`` off the loop."""
    return await _run(source, source.detail_items, body, url, item)


def _background() -> None:
    """In each worker: a lower CPU priority, so that on a busy machine the bot's own event
    loop is scheduled ahead of the parse it is waiting for."""
    with contextlib.suppress(OSError):
        os.nice(_NICENESS)


def _executor(source: Source) -> Executor:
    global _processes, _threads
    try:
        pickle.dumps(source)
    except Exception:  # a class no worker can import: parse in a thread rather than fail
        if _threads is None:
            _threads = ThreadPoolExecutor(PARSE_WORKERS, thread_name_prefix="signpost-parse")
        return _threads
    if _processes is None:
        # A fork server, not fork (never fork a process running an event loop and threads)
        # nor spawn (whose fork of this whole process, each time a worker is replaced, holds
        # the GIL and so the loop): workers are forked from a small server that has the
        # parsing libraries loaded already.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(_PRELOAD))
        _processes = ProcessPoolExecutor(
            PARSE_WORKERS,
            mp_context=context,
            initializer=_background,
            max_tasks_per_child=_TASKS_PER_WORKER,
        )
    return _processes


async def _run(source: Source, work: Callable[..., T], *args) -> T:
    executor = _executor(source)
    # Submitted from a thread: a process pool starts (spawns) its workers inside ``submit``,
    # which would otherwise hold the loop for the tens of milliseconds that takes.
    submitted = await asyncio.to_thread(executor.submit, work, *args)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(submitted), PARSE_BUDGET)
    except TimeoutError:
        if executor is _processes:
            _replace_processes()
        raise ParseLimitError(f"parsing took longer than {PARSE_BUDGET:g} s") from None
    except BrokenProcessPool:
        _replace_processes()
        raise ParseLimitError("the parse worker died (out of memory?)") from None


def _replace_processes() -> None:
    """End the pool's workers (a runaway parse among them); the next parse starts a new one."""
    global _processes
    pool, _processes = _processes, None
    if pool is None:
        return
    workers = list(getattr(pool, "_processes", {}).values())  # no public way to stop them
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()


def shutdown() -> None:
    """Stop the workers (at exit; tests)."""
    global _threads
    _replace_processes()
    if _threads is not None:
        _threads.shutdown(wait=False, cancel_futures=True)
        _threads = None
