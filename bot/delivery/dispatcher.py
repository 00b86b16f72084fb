"""The outbox dispatcher: lease rows, render, send, record — and decide on every failure.

At-least-once with a narrow window: a row is marked sent in its own transaction right
after the platform accepted it, so only a crash between those two steps can send it twice.
A lease that runs out (the process died mid-send) is claimed again by any replica.
Messages to one chat go in order; different chats go concurrently, each channel keeping
its platform's rate limits.
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

from bot.clock import Clock
from bot.core.pipeline import Vocabulary
from bot.core.replies import split_sections
from bot.delivery.channel import (
    Channel,
    ChatGone,
    ChatMoved,
    DeliveryError,
    Rejected,
    RetryAfter,
    Transient,
)
from bot.delivery.compose import Obsolete, compose
from storage.repos.outbox import QueuedMessage
from storage.store import Store

log = logging.getLogger("signpost.dispatch")

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
                    if not await self.process(row):
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

    async def process(self, row: QueuedMessage) -> bool:
        """Send one row; return False when the chat can take nothing more right now."""
        now = self.clock.now()
        async with self.store.unit() as unit:
            if not await unit.outbox.renew(row.id, self.owner, until=now + self.lease):
                log.info("outbox row %s was taken over by another worker; not sending", row.id)
                return True
            chat = await unit.chats.get(row.chat_id)
            if chat is None or not chat.active:
                await unit.outbox.retry_later(
                    row.id, self.owner, at=now, error="chat paused", count_attempt=False
                )
                return False
            channel = self.channels[chat.platform]
            try:
                reply = await compose(unit, row, chat, self.vocabulary, now)
            except Obsolete as why:
                await unit.outbox.cancel(row.id, self.owner, why=str(why))
                return True
        chunks = split_sections(
            reply, limit=channel.limits.max_chars, measure=getattr(channel, "measure", _plain_size)
        )
        try:
            ids: list[str] = []
            for chunk in chunks:
                ids += await channel.send(chat, chunk)
        except DeliveryError as error:
            return await self._failed(row, chat, error)
        except Exception as error:
            log.exception("unexpected error sending outbox row %s", row.id)
            return await self._failed(row, chat, Transient(f"{type(error).__name__}: {error}"))
        async with self.store.unit() as unit:
            recorded = await unit.outbox.mark_sent(
                row.id, self.owner, now=self.clock.now(), message_id=ids[0] if ids else None
            )
        if not recorded:
            log.warning("outbox row %s was sent after its lease passed to another worker", row.id)
        self.observe(chat.platform, "sent", row.reason)
        return True

    async def _failed(self, row: QueuedMessage, chat, error: DeliveryError) -> bool:
        now = self.clock.now()
        platform = chat.platform
        async with self.store.unit() as unit:
            if isinstance(error, RetryAfter):
                await unit.outbox.retry_later(
                    row.id,
                    self.owner,
                    at=now + timedelta(seconds=error.seconds),
                    error=str(error),
                    count_attempt=False,
                )
                self.observe(platform, "rate_limited", row.reason)
                return False
            if isinstance(error, ChatMoved):
                await unit.chats.migrate(platform, chat.platform_chat_id, error.new_chat_id, now)
                await unit.outbox.retry_later(
                    row.id, self.owner, at=now, error=str(error), count_attempt=False
                )
                self.observe(platform, "moved", row.reason)
                return False
            if isinstance(error, ChatGone):
                await unit.chats.pause(chat.id, str(error), now)
                await unit.outbox.retry_later(
                    row.id, self.owner, at=now, error=str(error), count_attempt=False
                )
                log.info("paused %s chat %s: %s", platform, chat.platform_chat_id, error)
                self.observe(platform, "chat_gone", row.reason)
                return False
            dead = isinstance(error, Rejected) or row.attempts >= self.max_attempts
            if dead:
                await unit.outbox.mark_dead(row.id, self.owner, error=str(error))
            else:
                backoff = timedelta(seconds=min(3600, 15 * 2 ** (row.attempts - 1)))
                await unit.outbox.retry_later(
                    row.id, self.owner, at=now + backoff, error=str(error)
                )
        self.observe(platform, "dead" if dead else "failed", row.reason)
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


def _plain_size(section) -> int:
    return len(section.heading) + len(section.url or "") + sum(len(x) + 1 for x in section.lines)
