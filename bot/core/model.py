"""Plain data shared by sources, storage and the core. No platform, no database here.

``Opportunity`` is the architecture's opportunity contract; ``to_json`` gives exactly the
JSON that ``signpost parse`` and ``signpost search --json`` print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KINDS = ("call", "internship", "event", "news")
STATUSES = ("upcoming", "open", "closed")
ROLES = ("vcse", "early_career", "established_researcher", "student")
FLAGS = (
    "vcse_partner",
    "lived_experience",
    "invite_only",
    "pre_announcement",
    "no_closing_date",
    "closing_date_tbc",
)
MODES = ("instant", "daily", "weekly")
PLATFORMS = ("telegram", "slack", "console")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _gbp(pence: int | None) -> float | int | None:
    if pence is None:
        return None
    return pence // 100 if pence % 100 == 0 else pence / 100


@dataclass(slots=True)
class Opportunity:
    """One funding call, internship, event or news item, normalised.

    Money is integer pence (no float rounding in comparisons); datetimes are aware.
    ``parent_external_id`` links an event found inside a call's page to that call.
    """

    source: str
    external_id: str
    url: str
    title: str
    kind: str = "call"
    status: str = "open"
    funders: list[str] = field(default_factory=list)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    published_at: datetime | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    location: str | None = None
    online: bool | None = None
    total_fund_pence: int | None = None
    award_min_pence: int | None = None
    award_max_pence: int | None = None
    summary: str = ""
    eligibility: str = ""
    topics: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    glossary_terms: list[str] = field(default_factory=list)
    parent_external_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The opportunity contract of ARCHITECTURE.md, plus event fields when present."""
        data: dict[str, Any] = {
            "source": self.source,
            "external_id": self.external_id,
            "url": self.url,
            "title": self.title,
            "kind": self.kind,
            "status": self.status,
            "funders": list(self.funders),
            "opens_at": _iso(self.opens_at),
            "closes_at": _iso(self.closes_at),
            "published_at": _iso(self.published_at),
            "total_fund_gbp": _gbp(self.total_fund_pence),
            "award_min_gbp": _gbp(self.award_min_pence),
            "award_max_gbp": _gbp(self.award_max_pence),
            "summary": self.summary,
            "topics": list(self.topics),
            "roles": list(self.roles),
            "flags": list(self.flags),
        }
        if self.kind == "event" or self.starts_at:
            data.update(
                starts_at=_iso(self.starts_at),
                ends_at=_iso(self.ends_at),
                location=self.location,
                online=self.online,
            )
        if self.parent_external_id:
            data["parent_external_id"] = self.parent_external_id
        return data

    @property
    def best_amount_pence(self) -> int | None:
        """The largest single award if known, else the total fund: what a user's minimum
        amount is compared with."""
        return self.award_max_pence or self.total_fund_pence or self.award_min_pence


@dataclass(slots=True)
class Chat:
    """Where messages go. ``thread_id`` is a forum topic or Slack thread ("" for none)."""

    platform: str
    platform_chat_id: str
    thread_id: str = ""
    kind: str = "private"
    title: str | None = None
    timezone: str = "Europe/London"
    glossary_in_alerts: bool = True
    term_of_week: bool = False
    active: bool = True
    paused_reason: str | None = None
    managed_by: str | None = None
    id: int | None = None


@dataclass(slots=True)
class Subscription:
    """A chat's standing query. An empty list means "any"."""

    chat_id: int
    topics: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    exclude_keywords: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    funders: list[str] = field(default_factory=list)
    min_amount_pence: int | None = None
    mode: str = "instant"
    digest_hour: int = 9
    digest_weekday: int = 0
    reminder_days: list[int] = field(default_factory=lambda: [14, 3])
    id: int | None = None
