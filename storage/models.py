"""The tables. Shaped for every issue: polling state, opportunities, chats, subscriptions,
the outbox, reminders, feedback and the glossary.

Conventions: timestamps are aware UTC (``UTCDateTime``); money is integer pence; lists are
JSON; "no thread" is the empty string, not NULL, so that unique constraints hold on
PostgreSQL (where NULLs are distinct) exactly as on SQLite.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class SourceState(Base):
    """Polling state of one configured source; backoff decisions read and write it."""

    __tablename__ = "sources"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    items_last_parsed: Mapped[int | None] = mapped_column(Integer)
    items_max_parsed: Mapped[int] = mapped_column(Integer, default=0)
    markup_suspect: Mapped[bool] = mapped_column(Boolean, default=False)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    admins_alerted_at: Mapped[datetime | None]
    # New items in recent polls (newest last): the baseline a flood is measured against.
    new_items_history: Mapped[list[Any] | None]
    # Set when a poll flooded: items are stored, alerts wait for an admin's release.
    held_at: Mapped[datetime | None]
    held_reason: Mapped[str | None] = mapped_column(Text)


class HttpValidator(Base):
    """ETag / Last-Modified per URL, for conditional GET."""

    __tablename__ = "http_validators"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime]


class Opportunity(Base):
    """A funding call, internship, event or news item, normalised and enriched."""

    __tablename__ = "opportunities"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_opportunities_status_closes_at", "status", "closes_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(512))
    url: Mapped[str] = mapped_column(String(2048))
    canonical_url: Mapped[str] = mapped_column(String(2048), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL")
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16))
    funders: Mapped[list[Any]] = mapped_column(default=list)
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    location: Mapped[str | None] = mapped_column(Text)
    online: Mapped[bool | None] = mapped_column(Boolean)
    total_fund_pence: Mapped[int | None] = mapped_column(BigInteger)
    award_min_pence: Mapped[int | None] = mapped_column(BigInteger)
    award_max_pence: Mapped[int | None] = mapped_column(BigInteger)
    summary: Mapped[str] = mapped_column(Text, default="")
    eligibility: Mapped[str] = mapped_column(Text, default="")
    # Funders, topic names and their synonyms: indexed for search beside title and summary.
    search_text: Mapped[str] = mapped_column(Text, default="")
    topics: Mapped[list[Any]] = mapped_column(default=list)
    roles: Mapped[list[Any]] = mapped_column(default=list)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    glossary_terms: Mapped[list[Any]] = mapped_column(default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_changes: Mapped[list[Any]] = mapped_column(default=list)


class LiveOpportunity(Base):
    """The originals not (yet) closed: what search ranks, kept by database triggers.

    Written only by triggers on ``opportunities`` (see migration ``0002_live``): a row is
    here while its original is no duplicate and its stored status is not "closed", and the
    close-expired job removes it by closing the original. ``live_until`` is when it stops
    being live (the closing time, or an event's end), so a query can apply the clock itself
    instead of trusting the status. On PostgreSQL the table also holds the weighted
    ``search_vector`` with its GIN index; on SQLite the FTS5 table ``opportunities_fts``
    indexes the same rows. Narrow on purpose: ranking reads every hit, and a hit here costs
    a fraction of a hit in ``opportunities``.
    """

    __tablename__ = "live_opportunities"

    id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    live_until: Mapped[datetime | None]


class Chat(Base):
    """A place alerts go to: a Telegram chat or forum topic, a Slack channel or DM, the console."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("platform", "platform_chat_id", "thread_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_chat_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16), default="private")
    title: Mapped[str | None] = mapped_column(Text)
    organisation: Mapped[str | None] = mapped_column(Text)
    sector: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    managed_by: Mapped[str | None] = mapped_column(String(64))
    glossary_in_alerts: Mapped[bool] = mapped_column(Boolean, default=True)
    term_of_week: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Subscription(Base):
    """What one chat wants: empty lists mean "any"."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    exclude_keywords: Mapped[list[Any]] = mapped_column(default=list)
    roles: Mapped[list[Any]] = mapped_column(default=list)
    kinds: Mapped[list[Any]] = mapped_column(default=list)
    funders: Mapped[list[Any]] = mapped_column(default=list)
    min_amount_pence: Mapped[int | None] = mapped_column(BigInteger)
    mode: Mapped[str] = mapped_column(String(16), default="instant")
    digest_hour: Mapped[int] = mapped_column(Integer, default=9)
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0)
    reminder_days: Mapped[list[Any]] = mapped_column(default=lambda: [14, 3])
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Tracked(Base):
    """An opportunity a chat was alerted about or asked to be reminded of; drives reminders
    and decides who hears about an update."""

    __tablename__ = "tracked"
    __table_args__ = (UniqueConstraint("chat_id", "opportunity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    requested: Mapped[bool] = mapped_column(Boolean, default=False)
    dismissed: Mapped[bool] = mapped_column(Boolean, default=False)
    reminder_days: Mapped[list[Any]] = mapped_column(default=lambda: [14, 3])
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class OutboxItem(Base):
    """One message to send. The row is the truth: the dispatcher leases, sends, records."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("chat_id", "dedupe_key"),
        Index("ix_outbox_status_priority_next", "status", "priority", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    # Platform ids of the parts of a split message already sent: a retry resumes after them.
    sent_parts: Mapped[list[Any] | None]


class GlossaryTerm(Base):
    """An admin's addition to, or override of, the glossary shipped in package data."""

    __tablename__ = "glossary_terms"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    term: Mapped[str] = mapped_column(String(128))
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    group: Mapped[str] = mapped_column(String(32))
    definition: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(64), default="")
    example: Mapped[str] = mapped_column(Text, default="")
    related: Mapped[list[Any]] = mapped_column(default=list)
    url: Mapped[str] = mapped_column(String(2048), default="")
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class GlossarySuggestion(Base):
    """A term a user asked us to add; admins read and resolve these."""

    __tablename__ = "glossary_suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]


class Grant(Base):
    """A past award from a 360Giving file: who gave how much to whom, for what, and where.

    ``topics_text`` is the topic slugs between spaces (" mental-health youth "), so that a
    topic is found with the same LIKE on SQLite and PostgreSQL; ``locations`` keeps each
    place as given with its nation, English region and local authority.
    """

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(512), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(2048), default="")
    amount_pence: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    award_date: Mapped[date | None] = mapped_column(Date, index=True)
    funder_id: Mapped[str] = mapped_column(String(256), index=True)
    funder_name: Mapped[str] = mapped_column(Text)
    recipient_id: Mapped[str] = mapped_column(String(256), default="")
    recipient_name: Mapped[str] = mapped_column(Text, default="")
    programme: Mapped[str] = mapped_column(Text, default="")
    topics: Mapped[list[Any]] = mapped_column(default=list)
    topics_text: Mapped[str] = mapped_column(Text, default="")
    roles: Mapped[list[Any]] = mapped_column(default=list)
    locations: Mapped[list[Any]] = mapped_column(default=list)
    licence: Mapped[str] = mapped_column(Text, default="")
    publisher: Mapped[str] = mapped_column(Text, default="")
    imported_at: Mapped[datetime]
