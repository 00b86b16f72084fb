"""The sources file: which sources exist, how often to poll them, and what they are about.

The file is TOML, one table per source under ``[sources.<name>]``; the packaged default is
``sources/data/sources.toml`` and a deployer points ``SIGNPOST_SOURCES_FILE`` at their own.
An override file replaces the default, unless it says ``include_default = true``: then its
tables are laid over the default's, key by key, so that adding one feed or switching one
source off takes three lines.

Every entry is validated when the file is loaded, and the first problem is reported on one
line naming the file, the entry and the field: a typo should stop ``signpost run`` at start,
not surface as a silent source six hours later.

Each entry says how we know it works: ``evidence = "confirmed"`` (a saved real response
parses), ``"inferred"`` (strong indirect evidence, e.g. a scraper reported working) or
``"guess"``, with a one-line ``evidence_note``. Unless it says ``enabled`` itself, an entry is
polled only when its evidence is confirmed or inferred. An entry with ``blocked`` (captcha,
403 wall, page rendered by script) can never be enabled: we do not work around a site that
has said no.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.model import KINDS
from sources.base import SourceConfig
from sources.registry import known_types

DEFAULT_SOURCES_FILE = Path(__file__).resolve().parent / "data" / "sources.toml"
_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
_TOP_LEVEL_KEYS = {"sources", "include_default"}
EVIDENCE = ("confirmed", "inferred", "guess")
AUDIENCES = ("vcse", "research", "students")


class CatalogueError(ValueError):
    """The sources file cannot be used; the message is one line naming entry and field."""


class SourceNotFoundError(LookupError):
    """No source of that name is configured; the message lists the names that are."""


class SourceEntry(BaseModel):
    """One ``[sources.<name>]`` table, as written in the file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: str
    url: str = Field(pattern=r"^https?://\S+$")
    title: str = ""
    kind: str = "call"
    topics: list[str] = Field(default_factory=list)
    funders: list[str] = Field(default_factory=list)
    interval_minutes: int = Field(360, ge=5, le=7 * 24 * 60)
    max_pages: int = Field(5, ge=1, le=100)
    poll_deadline_seconds: int = Field(300, ge=10, le=3600)
    max_items_per_page: int = Field(2000, ge=1, le=100_000)
    max_items: int = Field(5000, ge=1, le=100_000)
    verified: bool = True
    enabled: bool | None = None  # unset: on when the evidence is confirmed or inferred
    view_of: str | None = Field(None, pattern=_NAME_PATTERN)
    notes: str = ""
    options: dict[str, Any] = Field(default_factory=dict)
    evidence: Literal["confirmed", "inferred", "guess"] = "guess"
    evidence_note: str = ""
    audiences: list[Literal["vcse", "research", "students"]] = Field(default_factory=list)
    blocked: str = ""

    @model_validator(mode="after")
    def _default_enabled(self) -> SourceEntry:
        if self.blocked and self.enabled:
            raise ValueError(f"a blocked entry cannot be enabled ({self.blocked})")
        if self.enabled is None:
            self.enabled = not self.blocked and self.evidence != "guess"
        return self

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in known_types():
            raise ValueError(
                f"unknown source type {value!r}; known types: {', '.join(known_types())}"
            )
        return value

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"kind {value!r} is not one of {', '.join(KINDS)}")
        return value

    @field_validator("topics")
    @classmethod
    def _topic_slugs(cls, value: list[str]) -> list[str]:
        for topic in value:
            if not topic or topic != topic.lower() or " " in topic or "_" in topic:
                raise ValueError(f"topic {topic!r} is not a slug such as 'mental-health'")
        return value


def _one_line(error: ValidationError, where: str, name: str) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "(entry)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "required field missing"
    elif first["type"] == "extra_forbidden":
        message = "unknown field (a typo?)"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: entry {name!r}, field {location!r}: {message}{suffix}"


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The configured sources, by name, in file order."""

    sources: dict[str, SourceConfig] = field(default_factory=dict)
    path: Path | None = None

    def get(self, name: str) -> SourceConfig:
        """The named source, or ``SourceNotFoundError`` listing the names there are."""
        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(self.sources) or "(none)"
            raise SourceNotFoundError(f"no source named {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return list(self.sources)

    def polled(self) -> list[SourceConfig]:
        """What the scheduler fetches: enabled entries that are not views of another."""
        return [c for c in self.sources.values() if c.enabled and c.view_of is None]

    def views_of(self, name: str) -> list[SourceConfig]:
        """Entries that filter ``name``'s items (MRC and ESRC are views of UKRI)."""
        return [c for c in self.sources.values() if c.view_of == name and c.enabled]

    def __iter__(self) -> Iterator[SourceConfig]:
        return iter(self.sources.values())

    def __len__(self) -> int:
        return len(self.sources)

    def __contains__(self, name: object) -> bool:
        return name in self.sources


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise CatalogueError(f"sources file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{path}: not valid TOML: {error}") from None
    unknown = set(data) - _TOP_LEVEL_KEYS
    if unknown:
        raise CatalogueError(
            f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
            "sources go in [sources.<name>] tables"
        )
    if not isinstance(data.get("sources", {}), dict):
        raise CatalogueError(f"{path}: 'sources' must be tables: [sources.<name>]")
    return data


def _tables(path: Path, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {}
    for name, table in data.get("sources", {}).items():
        if not isinstance(table, dict):
            raise CatalogueError(f"{path}: entry {name!r} must be a table [sources.{name}]")
        tables[name] = table
    return tables


def parse_catalogue(tables: dict[str, dict[str, Any]], where: str) -> dict[str, SourceConfig]:
    """Validate raw tables into configs; ``where`` names the file in error messages."""
    configs: dict[str, SourceConfig] = {}
    for name, table in tables.items():
        if not re.match(_NAME_PATTERN, name):
            raise CatalogueError(
                f"{where}: entry {name!r}: names are lower-case letters, digits and hyphens"
            )
        try:
            entry = SourceEntry.model_validate(table)
        except ValidationError as error:
            raise CatalogueError(_one_line(error, where, name)) from None
        configs[name] = SourceConfig(name=name, **entry.model_dump())
    for config in configs.values():
        target = configs.get(config.view_of) if config.view_of else None
        if config.view_of and (target is None or target.view_of is not None):
            raise CatalogueError(
                f"{where}: entry {config.name!r}, field 'view_of': {config.view_of!r} is not "
                "a polled entry of this file"
            )
        if target is not None and target.type != config.type:
            raise CatalogueError(
                f"{where}: entry {config.name!r}, field 'view_of': a view must have the type "
                f"of {target.name!r} ({target.type!r})"
            )
    return configs


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The sources in ``path`` (``SIGNPOST_SOURCES_FILE``), or the packaged default."""
    if path is None:
        path = DEFAULT_SOURCES_FILE
    data = _read_toml(path)
    tables = _tables(path, data)
    include_default = data.get("include_default", False)
    if not isinstance(include_default, bool):
        raise CatalogueError(f"{path}: include_default must be true or false")
    if include_default and path.resolve() != DEFAULT_SOURCES_FILE:
        merged = _tables(DEFAULT_SOURCES_FILE, _read_toml(DEFAULT_SOURCES_FILE))
        for name, table in tables.items():
            merged[name] = {**merged.get(name, {}), **table}
        tables = merged
    return Catalogue(parse_catalogue(tables, str(path)), path)
