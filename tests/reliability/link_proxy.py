"""A TCP proxy on loopback in front of PostgreSQL, whose link a test can cut and restore.

``cut()`` aborts every connection through it, both sides at once (so the server sees the
client gone and frees its session's advisory locks, as after a network failure it notices),
and refuses new ones until ``restore()``. ``freeze()`` keeps the connections open but lets no
byte through, like a link that went silent. The replica behind it keeps running, unaware.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.engine import make_url

HOST = "127.0.0.1"


class LinkProxy:
    def __init__(self, target_url: str) -> None:
        url = make_url(target_url)
        self.target_url = url
        self.target = (url.host or HOST, url.port or 5432)
        self.port = 0
        self.is_cut = False
        self.frozen = False
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        """The database URL through the proxy."""
        return self.target_url.set(host=HOST, port=self.port).render_as_string(hide_password=False)

    async def __aenter__(self) -> LinkProxy:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def cut(self) -> None:
        self.is_cut = True
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    def freeze(self) -> None:
        self.frozen = True

    def restore(self) -> None:
        self.is_cut = self.frozen = False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink, (writer, up_writer)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source, sink, pair) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await source.read(65536):
                if not self.frozen:
                    sink.write(data)
                    await sink.drain()
        for writer in pair:  # one side gone: so is the link
            self._links.discard(writer)
            writer.transport.abort()
