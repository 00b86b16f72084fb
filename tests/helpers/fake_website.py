"""A loopback website that misbehaves on request, for the fetcher, poller and benchmark.

It is a raw asyncio HTTP/1.1 server rather than aiohttp because several failure modes need
to break the protocol itself: hang before answering, close without a response, or promise
a Content-Length and stop short. Each response closes its connection, which keeps the server
simple and makes every request a fresh, observable TCP exchange.

    async with FakeWebsite() as site:
        site.serve("/calls", LISTING, etag='"v1"')
        site.fail("/down", 503)
        ...
        site.requests  # what arrived: path, headers, start and end times

Each site listens on its own port; the fetcher keys politeness by origin, so two sites are
two "hosts". ``refused_url()`` gives a URL where nothing listens at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

HOST = "127.0.0.1"
_REASONS = {200: "OK", 301: "Moved", 302: "Found", 304: "Not Modified", 404: "Not Found"}
_CHUNK = 64 * 1024


@dataclass(slots=True)
class Route:
    """How one path answers. ``mode`` is one of ``normal``, ``hang``, ``close``,
    ``truncate`` (promise ``declared`` bytes, send the body, hang up), ``stream``
    (``size`` bytes of filler, chunked, with no Content-Length) and ``trickle`` (promise
    ``declared`` bytes, then send one every ``interval`` seconds: each read arrives in time,
    so only a deadline on the whole request ends it)."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    mode: str = "normal"
    size: int = 0
    declared: int = 0
    interval: float = 0.0


@dataclass(slots=True)
class Request:
    """One request as the server saw it; times are ``time.monotonic()`` seconds."""

    method: str
    path: str
    headers: dict[str, str]
    started: float
    ended: float | None = None


class FakeWebsite:
    """Routes by exact path (query included); unknown paths answer 404."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay  # added before every answer, robots.txt included (for the bench)
        self.routes: dict[str, list[Route]] = {}
        self.requests: list[Request] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    # ---------------------------------------------------------------- life cycle
    async def start(self) -> FakeWebsite:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> FakeWebsite:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    # ---------------------------------------------------------------- routes
    def route(self, path: str, *routes: Route) -> None:
        """Answer ``path`` with these routes in turn; the last one then repeats."""
        self.routes[path] = list(routes)

    def serve(self, path: str, body: bytes | str, **kwargs) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.route(path, Route(body=data, **kwargs))

    def fail(self, path: str, status: int = 500, **kwargs) -> None:
        self.route(path, Route(status=status, body=b"server error", **kwargs))

    def hang(self, path: str) -> None:
        self.route(path, Route(mode="hang"))

    def close(self, path: str) -> None:
        self.route(path, Route(mode="close"))

    def too_many(self, path: str, retry_after: str = "1") -> None:
        self.route(path, Route(status=429, headers={"Retry-After": retry_after}))

    def huge(self, path: str, size: int = 11 * 1024 * 1024, *, declare: bool = False) -> None:
        """A body past the fetcher's cap, announced in Content-Length or streamed unannounced."""
        if declare:
            self.route(path, Route(mode="truncate", declared=size, body=b"x" * _CHUNK))
        else:
            self.route(path, Route(mode="stream", size=size))

    def trickle(self, path: str, interval: float = 20.0, declared: int = 1_000_000) -> None:
        self.route(path, Route(mode="trickle", interval=interval, declared=declared))

    def truncate(self, path: str, body: bytes | str, declared: int) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.route(path, Route(mode="truncate", body=data, declared=declared))

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        self.route(path, Route(status=status, headers={"Location": to}, content_type=None))

    def robots(self, text: str) -> None:
        self.serve("/robots.txt", text, content_type="text/plain")

    # ---------------------------------------------------------------- observations
    def hits(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def max_concurrency(self) -> int:
        """The most requests that were ever being answered at the same moment."""
        events = []
        for request in self.requests:
            events.append((request.started, 1))
            events.append((request.ended if request.ended is not None else float("inf"), -1))
        peak = current = 0
        for _, step in sorted(events, key=lambda event: (event[0], event[1])):
            current += step
            peak = max(peak, current)
        return peak

    def min_gap(self, *, exclude: tuple[str, ...] = ()) -> float:
        """The shortest time between two consecutive request starts."""
        starts = sorted(r.started for r in self.requests if r.path not in exclude)
        gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
        return min(gaps, default=float("inf"))

    # ---------------------------------------------------------------- serving
    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve_one(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {}
            for line in filter(None, lines):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            request = Request(method, target, headers, time.monotonic())
            self.requests.append(request)
            try:
                await self._answer(self._next_route(target), request, writer)
            finally:
                request.ended = time.monotonic()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    def _next_route(self, path: str) -> Route:
        queue = self.routes.get(path)
        if not queue:
            return Route(status=404, body=b"not found", content_type="text/plain")
        return queue.pop(0) if len(queue) > 1 else queue[0]

    async def _answer(self, route: Route, request: Request, writer: asyncio.StreamWriter):
        if self.delay or route.delay:
            await asyncio.sleep(self.delay + route.delay)
        if route.mode == "hang":
            await asyncio.sleep(3600)
        if route.mode == "close":
            return
        status, body = route.status, route.body
        headers = dict(route.headers)
        if route.content_type:
            headers["Content-Type"] = route.content_type
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if status == 200 and _not_modified(route, request.headers):
            status, body = 304, b""
            headers.pop("Content-Type", None)
        if route.mode == "stream":
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(route.declared or len(body))
        headers["Connection"] = "close"
        headers["Date"] = format_datetime(datetime.now(UTC), usegmt=True)
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if request.method == "HEAD" or status == 304:
            await writer.drain()
            return
        if route.mode == "stream":
            await _write_chunked(writer, route.size)
        elif route.mode == "trickle":
            for _ in range(route.declared):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(route.interval)
        else:
            writer.write(body)
            await writer.drain()


def _not_modified(route: Route, headers: dict[str, str]) -> bool:
    """RFC 9110 §13.1: If-None-Match wins; If-Modified-Since only without it."""
    if "if-none-match" in headers:
        tags = [tag.strip().removeprefix("W/") for tag in headers["if-none-match"].split(",")]
        return route.etag is not None and ("*" in tags or route.etag.removeprefix("W/") in tags)
    if "if-modified-since" in headers and route.last_modified:
        try:
            since = parsedate_to_datetime(headers["if-modified-since"])
            return parsedate_to_datetime(route.last_modified) <= since
        except (TypeError, ValueError):
            return False
    return False


async def _write_chunked(writer: asyncio.StreamWriter, size: int) -> None:
    filler = b"<p>" + b"x" * (_CHUNK - 7) + b"</p>"
    sent = 0
    while sent < size:
        piece = filler[: min(_CHUNK, size - sent)]
        writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        await writer.drain()
        sent += len(piece)
    writer.write(b"0\r\n\r\n")
    await writer.drain()


def refused_url(path: str = "/") -> str:
    """A loopback URL where nothing listens: the port was free a moment ago."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    return f"http://{HOST}:{port}{path}"
