"""Offline mode: the bundled snapshots of real pages, served through an httpx transport.

``signpost run --offline`` and ``signpost demo`` build the shared client with
``SnapshotTransport`` instead of the network and a clock reading the manifest's capture date,
so that the whole bot (fetcher, parsers, ingest, alerts) runs as it did that day. The
manifest (``sources/data/snapshots/manifest.toml``)::

    [clock]
    at = "2025-03-28T12:00:00+00:00"

    [[snapshot]]
    url = "https://www.ukri.org/opportunity/"
    file = "ukri/listing.html"          # relative to the manifest's folder
    captured = "2025-03-28T09:14:00+00:00"
    content_type = "text/html; charset=utf-8"
    provenance = "saved by hand from the live site"
    reconstructed = false               # true: rebuilt from notes, not a byte-for-byte copy
    source = "ukri"                     # the catalogue entry that polls it offline

The transport answers like a well-behaved server: exact URL match (query order ignored),
robots.txt allowing everything, 404 for anything else, and an ETag from the file's bytes so
that a second offline poll sends If-None-Match and gets 304, as a live poll would.
"""

from __future__ import annotations

import asyncio
import hashlib
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from bot.clock import OffsetClock

__all__ = [
    "DEFAULT_MANIFEST",
    "Manifest",
    "ManifestError",
    "Snapshot",
    "SnapshotTransport",
    "canonical_snapshot_url",
    "load_manifest",
]

DEFAULT_MANIFEST = Path(__file__).parent / "data" / "snapshots" / "manifest.toml"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ManifestError(ValueError):
    """The manifest is malformed; the message names the entry and the problem."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One saved page and where it came from."""

    url: str
    file: Path
    captured: datetime
    content_type: str
    provenance: str = ""
    reconstructed: bool = False
    source: str | None = None  # the catalogue entry that polls this page offline


@dataclass(frozen=True, slots=True)
class Manifest:
    """The snapshots and the instant the offline clock starts at."""

    at: datetime
    snapshots: tuple[Snapshot, ...]

    def clock(self) -> OffsetClock:
        """A clock that reads the capture date, then runs forward in real time."""
        return OffsetClock(self.at)

    def find(self, url: str) -> Snapshot | None:
        key = canonical_snapshot_url(url)
        return next((s for s in self.snapshots if canonical_snapshot_url(s.url) == key), None)


def canonical_snapshot_url(url: str) -> str:
    """The form two URLs for the same snapshot share: lower-case scheme and host, no default
    port, no fragment, query parameters sorted. The path is kept exactly (a trailing slash
    can be a different page)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def _instant(value: object, where: str) -> datetime:
    if isinstance(value, datetime):  # TOML's own offset date-time
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ManifestError(f"{where}: not an ISO 8601 date-time: {value!r}") from exc
    else:
        raise ManifestError(f"{where}: expected a date-time, got {value!r}")
    if when.tzinfo is None:
        raise ManifestError(f"{where}: date-time {value!r} needs a UTC offset")
    return when


def _snapshot(entry: dict, index: int, root: Path) -> Snapshot:
    where = f"snapshot {index + 1}"
    missing = [key for key in ("url", "file", "captured", "content_type") if key not in entry]
    if missing:
        raise ManifestError(f"{where}: missing {', '.join(missing)}")
    where = f"snapshot {index + 1} ({entry['url']})"
    file = (root / entry["file"]).resolve()
    if not file.is_relative_to(root.resolve()):
        raise ManifestError(f"{where}: file {entry['file']!r} is outside {root}")
    if not file.is_file():
        raise ManifestError(f"{where}: file {entry['file']!r} does not exist")
    return Snapshot(
        url=entry["url"],
        file=file,
        captured=_instant(entry["captured"], where),
        content_type=str(entry["content_type"]),
        provenance=str(entry.get("provenance", "")),
        reconstructed=bool(entry.get("reconstructed", False)),
        source=str(entry["source"]) if entry.get("source") else None,
    )


def load_manifest(path: Path | str = DEFAULT_MANIFEST) -> Manifest:
    """Read and check the manifest; files are resolved relative to its folder."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(f"no snapshot manifest at {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from exc
    if "at" not in data.get("clock", {}):
        raise ManifestError(f"{path}: [clock] at = ... is required")
    at = _instant(data["clock"]["at"], "[clock] at")
    snapshots = tuple(
        _snapshot(entry, index, path.parent) for index, entry in enumerate(data.get("snapshot", []))
    )
    seen: set[str] = set()
    for snapshot in snapshots:
        key = canonical_snapshot_url(snapshot.url)
        if key in seen:
            raise ManifestError(f"{path}: {snapshot.url} is listed twice")
        seen.add(key)
    return Manifest(at=at, snapshots=snapshots)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _not_modified(request: httpx.Request, etag: str, captured: datetime) -> bool:
    """RFC 9110 §13.1: If-None-Match decides when present, else If-Modified-Since."""
    if "if-none-match" in request.headers:
        tags = {
            tag.strip().removeprefix("W/") for tag in request.headers["if-none-match"].split(",")
        }
        return "*" in tags or etag in tags
    if "if-modified-since" in request.headers:
        try:
            since = parsedate_to_datetime(request.headers["if-modified-since"])
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and captured.replace(microsecond=0) <= since
    return False


class SnapshotTransport(httpx.AsyncBaseTransport):
    """Serves the manifest's files by URL; never touches the network."""

    ROBOTS = b"# Signpost offline snapshots: everything is allowed\nUser-agent: *\nAllow: /\n"

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self._bodies: dict[Path, tuple[bytes, str]] = {}

    @classmethod
    def from_package(cls, path: Path | str = DEFAULT_MANIFEST) -> SnapshotTransport:
        """The transport over the snapshots shipped in the package (or another manifest)."""
        return cls(load_manifest(path))

    async def _body(self, snapshot: Snapshot) -> tuple[bytes, str]:
        if snapshot.file not in self._bodies:
            body = await asyncio.to_thread(snapshot.file.read_bytes)
            self._bodies[snapshot.file] = (body, _etag(body))
        return self._bodies[snapshot.file]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method not in ("GET", "HEAD"):
            return httpx.Response(405, headers={"Allow": "GET, HEAD"}, request=request)
        if request.url.path == "/robots.txt":
            return self._respond(request, 200, self.ROBOTS, {"Content-Type": "text/plain"})
        snapshot = self.manifest.find(str(request.url))
        if snapshot is None:
            body = f"{request.url} is not among the offline snapshots\n".encode()
            return self._respond(request, 404, body, {"Content-Type": "text/plain"})
        body, etag = await self._body(snapshot)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(snapshot.captured.astimezone(UTC), usegmt=True),
            "X-Signpost-Snapshot": "reconstructed" if snapshot.reconstructed else "captured",
        }
        if _not_modified(request, etag, snapshot.captured):
            return self._respond(request, 304, b"", headers)
        headers["Content-Type"] = snapshot.content_type
        return self._respond(request, 200, body, headers)

    @staticmethod
    def _respond(
        request: httpx.Request, status: int, body: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        if request.method == "HEAD":
            headers = headers | {"Content-Length": str(len(body))}
            body = b""
        return httpx.Response(status, headers=headers, content=body, request=request)
