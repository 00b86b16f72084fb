"""Squarespace event collections, read as JSON: ``https://<site>/<collection>?format=json``.

Any Squarespace page answers ``?format=json`` with the data it renders from (a site is
Squarespace when its HTML says ``<!-- This is Squarespace. -->``). An events collection gives
``upcoming[]`` and ``past[]``, each event with ``title`` (HTML-escaped), ``fullUrl`` (a path),
``startDate``/``endDate`` in epoch milliseconds (so UTC, whatever the site's zone),
``location{addressTitle, addressLine1, addressLine2}`` and an HTML ``excerpt``.

Only ``upcoming`` is read, and of it only what has not ended by the parse time (a cached
answer can be hours old). ``pagination`` pages backwards through *past* events, so it is
not followed.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urljoin

from bot.core.model import Opportunity
from sources.base import ClockedSource, ParseError, ParseResult
from sources.ical import is_online
from sources.normalise import clean_text, trim_text
from sources.rss import SUMMARY_CHARS, html_to_text


def _epoch_ms(value: Any) -> datetime | None:
    """Epoch milliseconds to an aware UTC datetime, to the second (the ms are noise)."""
    try:
        seconds = int(value) // 1000
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _location(event: dict[str, Any]) -> str:
    place = event.get("location")
    if not isinstance(place, dict):
        return ""
    keys = ("addressTitle", "addressLine1", "addressLine2")
    return ", ".join(clean_text(str(place[k])) for k in keys if place.get(k))


def upcoming_events(body: bytes) -> list[dict[str, Any]]:
    """The ``upcoming`` list of a collection's JSON; anything else is a ``ParseError``."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise ParseError(f"not Squarespace JSON (add ?format=json to the URL?): {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("upcoming"), list):
        raise ParseError("no upcoming[] list: not a Squarespace events collection")
    return [event for event in data["upcoming"] if isinstance(event, dict)]


class SquarespaceEventsSource(ClockedSource):
    """A Squarespace events collection's ``?format=json`` (see the module docstring)."""

    type_name: ClassVar[str] = "squarespace"
    default_interval_minutes: ClassVar[int] = 720

    def parse(self, body: bytes, url: str) -> ParseResult:
        """Events not yet over, earliest first; events without title or start are skipped."""
        now = self.clock.now()
        items: list[Opportunity] = []
        seen: set[str] = set()
        for event in upcoming_events(body):
            item = self._item(event, url)
            if item is None or item.external_id in seen:
                continue
            if (item.ends_at or item.starts_at) < now:  # type: ignore[operator]
                continue
            seen.add(item.external_id)
            items.append(item)
        items.sort(key=lambda item: item.starts_at)  # type: ignore[arg-type, return-value]
        return ParseResult(items=items)

    def _item(self, event: dict[str, Any], url: str) -> Opportunity | None:
        title = clean_text(html.unescape(str(event.get("title") or "")))
        starts_at = _epoch_ms(event.get("startDate"))
        if not title or starts_at is None:
            return None
        ends_at = _epoch_ms(event.get("endDate"))
        link = urljoin(url, str(event.get("fullUrl") or "")) if event.get("fullUrl") else url
        location = _location(event)
        summary = html_to_text(str(event.get("excerpt") or ""))
        return Opportunity(
            source=self.config.name,
            external_id=str(event.get("id") or link),
            url=link,
            title=title,
            kind="event",
            funders=list(self.config.funders),
            starts_at=starts_at,
            ends_at=ends_at if ends_at and ends_at >= starts_at else None,
            location=location or None,
            online=is_online(location, summary, link),
            summary=trim_text(summary, SUMMARY_CHARS),
            topics=list(self.config.topics),
            extra={"all_day": False},
        )
