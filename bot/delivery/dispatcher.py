"""The outbox dispatcher: lease rows, render, send, record — and decide on every failure.

At-least-once with a narrow window: a row is marked sent in its own transaction right
after the platform accepted it, so only a crash between those two steps can send it twice.
A lease that runs out (the process died mid-send) is claimed again by any replica.
Messages to one chat go in order; different chats go concurrently, each channel keeping
its platform's rate limits.

The database going away is not a crash: every write about a row we hold is retried with
backoff (``record_patience``), above all the record of a send the platform accepted, so a
database outage in the middle of a fan-out sends nothing twice. A message split into
several parts records its progress before each further part (``Parts``), so a part that
fails is retried without sending the earlier ones again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.clock import Clock
from bot.core.pipeline import Vocabulary
from bot.core.replies import split_sections
from bot.delivery.channel import (
    Channel,
    ChatGone,
    ChatMoved,
    DeliveryError,
    Parts,
    Rejected,
    RetryAfter,
    Transient,
)
from bot.delivery.compose import Obsolete, compose
from storage.repos.outbox import QueuedMessage
from storage.store import Store, Unit

log = logging.getLogger("signpost.dispatch")
T = TypeVar("T")
# What "the database is away" looks like: a dropped or refused connection, a full pool.
DATABASE_DOWN = (DBAPIError, PoolTimeout, OSError)

Observer = Callable[[str, str, str], None]  # (platform, outcome, reason) for metrics


def worker_id() -> str:
    return f"{socket.gethostname()[:24]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Dispatcher:
    """Sends what the outbox holds through the configured channels."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        channels: dict[str, Channel],
        vocabulary: Vocabulary,
        *,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 6,
        batch: int = 100,
        concurrency: int = 32,
        on_dead: Callable[[QueuedMessage, str], Awaitable[None]] | None = None,
        observe: Observer | None = None,
        record_patience: float = 600.0,
        record_backoff: tuple[float, float] = (0.25, 5.0),
    ) -> None:
        self.store = store
        self.clock = clock
        self.channels = channels
        self.vocabulary = vocabulary
        self.owner = worker_id()
        self.lease = lease
        self.max_attempts = max_attempts
        self.batch = batch
        self.concurrency = concurrency
        self.on_dead = on_dead
        self.observe = observe or (lambda platform, outcome, reason: None)
        # How long (seconds) a write about a held row is retried while the database is away,
        # and the first and longest wait between tries.
        self.record_patience = record_patience
        self.record_backoff = record_backoff
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after new rows are committed, so they go out without waiting a tick."""
        self._wake.set()

    async def run_forever(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("dispatcher cycle failed; retrying shortly")
                sent = 0
            if sent == 0:
                self._wake.clear()
                waiters = [
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()),
                ]
                await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()

    async def run_once(self) -> int:
        """Claim one batch and process it; returns how many rows were handled."""
        if not self.channels:
            return 0
        async with self.store.unit() as unit:
            rows = await unit.outbox.claim(
                owner=self.owner,
                now=self.clock.now(),
                lease=self.lease,
                limit=self.batch,
                platforms=list(self.channels),
            )
        if not rows:
            return 0
        by_chat: dict[int, list[QueuedMessage]] = defaultdict(list)
        for row in rows:
            by_chat[row.chat_id].append(row)
        limit = asyncio.Semaphore(self.concurrency)

        async def one_chat(chat_rows: list[QueuedMessage]) -> None:
            async with limit:
                for index, row in enumerate(chat_rows):
                    try:
                        more = await self.process(row)
                    except Exception:
                        # The loop boundary (one delivery): the row and the chat's later rows
                        # stay leased and are claimed again when the lease runs out.
                        log.exception("outbox row %s could not be processed", row.id)
                        break
                    if not more:
                        # The chat paused, moved or must wait: its later rows go back with
                        # the stopped one, not left leased (and charged an attempt) for the
                        # whole lease.
                        await self._return(chat_rows[index + 1 :], row.id)
                        break

        await asyncio.gather(*(one_chat(chat_rows) for chat_rows in by_chat.values()))
        return len(rows)

    async def _return(self, rows: list[QueuedMessage], stopped_id: int) -> None:
        if not rows:
            return
        async with self.store.unit() as unit:
            stopped = await unit.outbox.get(stopped_id)
            at = stopped.next_attempt_at if stopped is not None else self.clock.now()
            for row in rows:
                await unit.outbox.retry_later(
                    row.id,
                    self.owner,
                    at=at,
                    error="after an earlier message to this chat",
                    count_attempt=False,
                )

    async def _stored(self, what: str, row_id: int, step: Callable[[Unit], Awaitable[T]]) -> T:
        """Run ``step`` in a unit of work, tried again with backoff while the database is
        away: before a send, waiting beats leaving the row leased until its lease runs out;
        after one, the send is done and only its bookkeeping is late."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.record_patience
        delay, longest = self.record_backoff
        while True:
            try:
                async with self.store.unit() as unit:
                    return await step(unit)
            except DATABASE_DOWN as error:
                if loop.time() + delay > deadline:
                    raise
                log.warning(
                    "could not %s outbox row %s (%s: %s); trying again in %.2f s",
                    what,
                    row_id,
                    type(error).__name__,
                    str(error).splitlines()[0][:200] if str(error) else "",
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, longest)

    async def process(self, row: QueuedMessage) -> bool:
        """Send one row; return False when the chat can take nothing more right now."""
        now = self.clock.now()

        async def prepare(unit: Unit):
            if not await unit.outbox.renew(row.id, self.owner, until=now + self.lease):
                log.info("outbox row %s was taken over by another worker; not sending", row.id)
                return True
            chat = await unit.chats.get(row.chat_id)
            if chat is None or not chat.active:
                await unit.outbox.retry_later(
                    row.id, self.owner, at=now, error="chat paused", count_attempt=False
                )
                return False
            try:
                return chat, await compose(unit, row, chat, self.vocabulary, now)
            except Obsolete as why:
                await unit.outbox.cancel(row.id, self.owner, why=str(why))
                return True

        prepared = await self._stored("prepare", row.id, prepare)
        if isinstance(prepared, bool):
            return prepared
        chat, reply = prepared
        channel = self.channels[chat.platform]
        chunks = split_sections(
            reply, limit=channel.limits.max_chars, measure=getattr(channel, "measure", _plain_size)
        )

        async def record_parts(ids: list[str]) -> None:
            await self._stored(
                "record the parts sent of",
                row.id,
                lambda unit: unit.outbox.record_parts(row.id, self.owner, ids),
            )

        parts = Parts(row.sent_parts, record_parts)
        try:
            for chunk in chunks:
                await _send_chunk(channel, chat, chunk, parts)
        except DeliveryError as error:
            return await self._failed(row, chat, error, parts)
        except Exception as error:
            log.exception("unexpected error sending outbox row %s", row.id)
            failure = Transient(f"{type(error).__name__}: {error}")
            return await self._failed(row, chat, failure, parts)
        ids = [part for part in parts.ids if part]
        recorded = await self._stored(
            "record the send of",
            row.id,
            lambda unit: unit.outbox.mark_sent(
                row.id,
                self.owner,
                now=self.clock.now(),
                message_id=ids[0] if ids else None,
                parts=ids if len(parts.ids) > 1 else (),
            ),
        )
        if not recorded:
            log.warning("outbox row %s was sent after its lease passed to another worker", row.id)
        self.observe(chat.platform, "sent", row.reason)
        return True

    async def _failed(
        self, row: QueuedMessage, chat, error: DeliveryError, parts: Parts | None = None
    ) -> bool:
        if parts is not None and parts.new:
            # Whatever happens to the row next, the parts that went out stay out.
            ids = list(parts.ids)
            await self._stored(
                "record the parts sent of",
                row.id,
                lambda unit: unit.outbox.record_parts(row.id, self.owner, ids),
            )
        outcome = await self._stored(
            "record the failure of", row.id, lambda unit: self._decide(unit, row, chat, error)
        )
        platform = chat.platform
        self.observe(platform, outcome, row.reason)
        if outcome == "chat_gone":
            log.info("paused %s chat %s: %s", platform, chat.platform_chat_id, error)
        if outcome in ("rate_limited", "moved", "chat_gone"):
            return False
        dead = outcome == "dead"
        log.warning(
            "sending outbox row %s to %s failed (%s): %s",
            row.id,
            platform,
            "dead-lettered" if dead else f"attempt {row.attempts}",
            error,
        )
        if dead and self.on_dead is not None:
            await self.on_dead(row, str(error))
        return True

    async def _decide(self, unit: Unit, row: QueuedMessage, chat, error: DeliveryError) -> str:
        """Record what a failed send means for the row and the chat; returns the outcome.
        Safe to run again (each write holds only while the row is still leased to us)."""
        now = self.clock.now()
        if isinstance(error, RetryAfter):
            await unit.outbox.retry_later(
                row.id,
                self.owner,
                at=now + timedelta(seconds=error.seconds),
                error=str(error),
                count_attempt=False,
            )
            return "rate_limited"
        if isinstance(error, ChatMoved):
            await unit.chats.migrate(chat.platform, chat.platform_chat_id, error.new_chat_id, now)
            await unit.outbox.retry_later(
                row.id, self.owner, at=now, error=str(error), count_attempt=False
            )
            return "moved"
        if isinstance(error, ChatGone):
            await unit.chats.pause(chat.id, str(error), now)
            await unit.outbox.retry_later(
                row.id, self.owner, at=now, error=str(error), count_attempt=False
            )
            return "chat_gone"
        if isinstance(error, Rejected) or row.attempts >= self.max_attempts:
            await unit.outbox.mark_dead(row.id, self.owner, error=str(error))
            return "dead"
        backoff = timedelta(seconds=min(3600, 15 * 2 ** (row.attempts - 1)))
        await unit.outbox.retry_later(row.id, self.owner, at=now + backoff, error=str(error))
        return "failed"


async def _send_chunk(channel: Channel, chat, chunk, parts: Parts) -> None:
    """Hand one chunk to the channel: a channel that splits replies itself resumes part by
    part; for any other, the chunk is one part."""
    if getattr(channel, "resumes_parts", False):
        await channel.send(chat, chunk, parts=parts)  # type: ignore[call-arg]
        return
    if await parts.next():
        ids = await channel.send(chat, chunk)
        parts.sent(ids[0] if ids else "")


def _plain_size(section) -> int:
    return len(section.heading) + len(section.url or "") + sum(len(x) + 1 for x in section.lines)
