"""A streaming reader for 360Giving JSON: one grant at a time, whatever the file's size.

Standard library only (no ``ijson`` in the lock yet): ``json.JSONDecoder.raw_decode`` reads one
value from a growing text buffer, so memory holds one record plus a read chunk. Two shapes:
a data package ``{"grants": [...], "license": ..., "publisher": {...}}`` (keys in any
order) and a plain array, whose items may be the 360Giving API's envelopes
``{"grant_id", "data", "data_license"}``. A record larger than ``max_record`` characters is
refused rather than buffered: a hostile file cannot make the reader hold it all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["JsonShapeError", "iter_json_grants"]

_WS = " \t\r\n"
_DECODER = json.JSONDecoder()


class JsonShapeError(ValueError):
    """The file is not JSON of a shape 360Giving data takes."""


class _Buffer:
    def __init__(self, stream: TextIO, chunk: int, max_record: int) -> None:
        self.stream, self.chunk, self.max_record = stream, chunk, max_record
        self.text, self.pos, self.eof, self.consumed = "", 0, False, 0

    def _fill(self) -> bool:
        data = self.stream.read(self.chunk)
        if not data:
            self.eof = True
            return False
        self.consumed += self.pos
        self.text, self.pos = self.text[self.pos :] + data, 0
        return True

    def peek(self) -> str:
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.text) or not self._fill():
                return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, chars: str) -> str:
        found = self.peek()
        if not found or found not in chars:
            raise JsonShapeError(
                f"expected {' or '.join(repr(c) for c in chars)} at character "
                f"{self.consumed + self.pos}, found {found or 'the end of the file'!r}"
            )
        self.pos += 1
        return found

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or not self._grow():
                    raise JsonShapeError(
                        f"not valid JSON at character {self.consumed + exc.pos}: {exc.msg}"
                    ) from None
                continue
            # A value ending exactly at the buffer's end may be a number cut in two.
            if end == len(self.text) and not self.eof and self._grow():
                continue
            self.pos = end
            return value

    def _grow(self) -> bool:
        if len(self.text) - self.pos > self.max_record:
            raise JsonShapeError(
                f"a record at character {self.consumed + self.pos} is larger than "
                f"{self.max_record:,} characters; refusing to read it"
            )
        return self._fill()


def _items(buffer: _Buffer) -> Iterator[Any]:
    buffer.expect("[")
    if buffer.peek() == "]":
        buffer.pos += 1
        return
    while True:
        yield buffer.value()
        if buffer.expect(",]") == "]":
            return


def iter_json_grants(
    stream: TextIO, meta: dict[str, Any], *, chunk: int = 1 << 16, max_record: int = 1 << 21
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Yield ``(grant, its own metadata)`` pairs; package-level keys (``license``,
    ``publisher``...) are put in ``meta`` as they are met, which may be after the grants."""
    buffer = _Buffer(stream, chunk, max_record)
    first = buffer.peek()
    if first == "[":
        for item in _items(buffer):
            if isinstance(item, dict) and isinstance(item.get("data"), dict):
                licence = item.get("data_license") or item.get("license")
                grant = item["data"]
                if "id" not in grant and item.get("grant_id"):
                    grant = {**grant, "id": item["grant_id"]}
                yield grant, {"license": licence}
            else:
                yield item, {}
    elif first == "{":
        buffer.pos += 1
        seen_grants = False
        while buffer.peek() != "}":
            key = buffer.value()
            if not isinstance(key, str):
                raise JsonShapeError("expected a key in the data package")
            buffer.expect(":")
            if key == "grants":
                seen_grants = True
                for item in _items(buffer):
                    yield item, {}
            else:
                meta[key] = buffer.value()
            if buffer.expect(",}") == "}":
                break
        else:
            buffer.pos += 1
        if not seen_grants:
            raise JsonShapeError('the data package has no "grants" list')
    else:
        raise JsonShapeError("this is not a 360Giving JSON file (no package object or list)")
    if buffer.peek():
        raise JsonShapeError("there is more after the end of the JSON data")
