"""Glossary data: what an entry is, how the TOML files are read, and the content rules.

This is the bottom layer of the glossary (see :mod:`bot.core.glossary`): it knows nothing of
look-ups or text detection, so an admin tool or a data check can read and judge glossary
files without building indexes, and the other two modules can share one entry type and one
comparison key (:func:`fold`) without importing each other.

Two kinds of trouble are kept apart. Data that cannot be used at all (bad TOML, wrong types,
unknown fields) raises :class:`GlossaryError` while loading; content that still leaves a usable
glossary (a long definition, a missing link, a shared alias) is listed by
:func:`content_problems`, so a bad sentence in an override never takes the glossary down.

Links and dates are content too. Every link must be https, a page rather than a bare homepage,
and on a host the file's ``[link_owners]`` table names (the funders', regulators' and sector
bodies' own sites), so a link elsewhere is a decision someone wrote down. ``link_checked``
says when the link was last confirmed and ``as_of`` when a definition on changing policy was
true; both take a day or, when the source gives no day, a month ("2026-12"), never a guess.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DATA_FILE = Path(__file__).parent.parent / "data" / "glossary.toml"
GROUPS = ("research", "vcse", "funders")
GROUP_LABELS = {
    "research": "Research funding",
    "vcse": "Voluntary sector and health services",
    "funders": "Funders and programmes",
}
AUDIENCES = ("charity staff", "researchers", "everyone")
MAX_DEFINITION_WORDS = 60

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LEADING_THE = re.compile(r"^the\s+")
_LIST_FIELDS = ("aliases", "related", "skip_in_text")
_TEXT_FIELDS = ("slug", "term", "group", "definition", "audience", "example", "url")
_DATE_FIELDS = ("link_checked", "as_of")
# A check or "as of" date to the day, or to the month when that is all the source says (the
# 2026-12 review is dated to the month, and a day would be invented).
_WHEN = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


class GlossaryError(ValueError):
    """Glossary data that cannot be used at all (bad TOML, wrong types, unknown fields).

    Content problems that still leave a usable glossary (a long definition, a missing link)
    are not errors: :meth:`Glossary.validate` lists them.
    """


def when_date(text: str) -> date | None:
    """The date a ``link_checked`` or ``as_of`` value stands for; a month means its first day,
    so age is never understated. None for the empty value (never checked, or not dated)."""
    if not text:
        return None
    year, month, day = _WHEN.fullmatch(text).groups()
    return date(int(year), int(month), int(day or 1))


def when_label(text: str) -> str:
    """How a date value reads to users: "4 December 2026", or "December 2026" for a month."""
    day = when_date(text)
    if day is None:
        return ""
    month = day.strftime("%B %Y")
    return month if len(text) == 7 else f"{day.day} {month}"


def _when_value(slug: object, name: str, value: object) -> str:
    """A TOML date or "YYYY-MM[-DD]" text as ISO text; anything else is a GlossaryError."""
    if value is None or value == "":
        return ""
    if type(value) is date:  # a TOML date; a datetime (a subclass) says more than we mean
        return value.isoformat()
    text = value.strip() if isinstance(value, str) else ""
    try:
        if _WHEN.fullmatch(text) and when_date(text):
            return text
    except ValueError:  # month 13, 30 February...
        pass
    raise GlossaryError(f"term {slug!r}: {name} must be a date (YYYY-MM-DD) or a month (YYYY-MM)")


def fold(text: str) -> str:
    """The comparison key of a name: no case, accents, punctuation, spaces or leading "the"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().strip()
    text = _LEADING_THE.sub("", text)
    return "".join(c for c in text if c.isalnum())


@dataclass(frozen=True, slots=True)
class GlossaryEntry:
    """One term. Tuples, not lists, so an entry can be shared between threads and cached."""

    slug: str
    term: str
    group: str
    definition: str
    aliases: tuple[str, ...] = ()
    audience: str = "everyone"
    example: str = ""
    related: tuple[str, ...] = ()
    url: str = ""
    skip_in_text: tuple[str, ...] = ()
    link_checked: str = ""  # when the link was last confirmed ("" = never: unverified)
    as_of: str = ""  # when the definition was true, for entries on policy that is changing

    @property
    def names(self) -> tuple[str, ...]:
        """The term followed by its aliases."""
        return (self.term, *self.aliases)

    @property
    def note(self) -> str:
        """The one-line explanation under an alert; a dated entry says how old it is."""
        dated = f" (as of {when_label(self.as_of)})" if self.as_of else ""
        return f"{self.term}: {self.definition}{dated}"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON; :meth:`from_mapping` reads it back unchanged."""
        return {
            "slug": self.slug,
            "term": self.term,
            "group": self.group,
            "aliases": list(self.aliases),
            "audience": self.audience,
            "definition": self.definition,
            "example": self.example,
            "related": list(self.related),
            "url": self.url,
            "skip_in_text": list(self.skip_in_text),
            "link_checked": self.link_checked,
            "as_of": self.as_of,
        }

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, base: GlossaryEntry | None = None
    ) -> GlossaryEntry:
        """An entry from a TOML table or a database row; with ``base``, only the fields given
        replace it, so an override can change one definition without repeating the rest."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        slug = data.get("slug", base.slug if base else None)
        if unknown:
            raise GlossaryError(f"term {slug!r}: unknown fields {', '.join(unknown)}")
        values: dict[str, Any] = base.to_json() if base else {}
        for name in _TEXT_FIELDS:
            if name in data:
                text = "" if data[name] is None else data[name]
                if not isinstance(text, str):
                    raise GlossaryError(f"term {slug!r}: {name} must be text")
                values[name] = text.strip()
        for name in _LIST_FIELDS:
            if name in data:
                items = [] if data[name] is None else data[name]
                if not isinstance(items, list | tuple) or not all(
                    isinstance(i, str) for i in items
                ):
                    raise GlossaryError(f"term {slug!r}: {name} must be a list of text")
                values[name] = [i.strip() for i in items if i.strip()]
        for name in _DATE_FIELDS:
            if name in data:
                values[name] = _when_value(slug, name, data[name])
        missing = [n for n in ("slug", "term", "group", "definition") if not values.get(n)]
        if missing:
            raise GlossaryError(f"term {slug!r}: missing {', '.join(missing)}")
        return cls(
            slug=values["slug"],
            term=values["term"],
            group=values["group"],
            definition=values["definition"],
            audience=values.get("audience") or "everyone",
            example=values.get("example", ""),
            url=values.get("url", ""),
            link_checked=values.get("link_checked", ""),
            as_of=values.get("as_of", ""),
            **{name: tuple(values.get(name, ())) for name in _LIST_FIELDS},
        )


# -- files ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadedGlossary:
    """What the glossary files hold: the merged entries, the problems found while reading
    them (a slug defined twice), and the owners whose sites entries may link to."""

    entries: list[GlossaryEntry]
    problems: list[str]
    link_owners: dict[str, tuple[str, ...]]

    @property
    def link_hosts(self) -> frozenset[str]:
        return frozenset(h for hosts in self.link_owners.values() for h in hosts)


def load_entries(
    data_file: Path, override: Path | None = None, extra: Iterable[GlossaryEntry] = ()
) -> LoadedGlossary:
    """Entries from ``data_file``, then an override file, then ``extra`` entries; each
    replaces earlier entries with the same slug or adds new ones. An override's
    ``[link_owners]`` add to (or replace, by owner name) the packaged ones, so an operator can
    link a term to their own council's page on purpose."""
    data = _read_toml(data_file)
    entries, problems = _complete_entries(_tables(data, data_file), data_file)
    owners = _owners(data, data_file)
    merged = {e.slug: e for e in entries}
    if override is not None:
        extra_data = _read_toml(override)
        for table in _tables(extra_data, override):
            slug = table.get("slug")
            merged[slug] = GlossaryEntry.from_mapping(table, base=merged.get(slug))
        owners |= _owners(extra_data, override)
    for entry in extra:
        merged[entry.slug] = entry
    return LoadedGlossary(list(merged.values()), problems, owners)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GlossaryError(f"cannot read glossary file {path}: {exc}") from exc


def _tables(data: Mapping[str, Any], path: Path) -> list[dict[str, Any]]:
    """The ``[[terms]]`` tables of a glossary file, or a GlossaryError naming the file."""
    tables = data.get("terms", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise GlossaryError(f"{path}: expected [[terms]] tables")
    for table in tables:
        if not isinstance(table.get("slug"), str) or not table["slug"].strip():
            raise GlossaryError(f"{path}: every [[terms]] table needs a slug")
        table["slug"] = table["slug"].strip()
    return tables


def _owners(data: Mapping[str, Any], path: Path) -> dict[str, tuple[str, ...]]:
    """``[link_owners]``: owner name -> the hosts of its own sites (subdomains included)."""
    table = data.get("link_owners", {})
    if not isinstance(table, dict):
        raise GlossaryError(f"{path}: link_owners must be a table of owner = [hosts]")
    owners = {}
    for owner, hosts in table.items():
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
            raise GlossaryError(f"{path}: link_owners.{owner} must be a list of host names")
        owners[owner] = tuple(h.strip().lower().removeprefix("www.") for h in hosts)
    return owners


def _complete_entries(
    tables: list[dict[str, Any]], path: Path
) -> tuple[list[GlossaryEntry], list[str]]:
    """Complete entries from one file; a slug repeated within it is reported, last one kept."""
    entries, problems, seen = [], [], set()
    for table in tables:
        if table["slug"] in seen:
            problems.append(f"{table['slug']}: defined twice in {Path(path).name}")
        seen.add(table["slug"])
        entries.append(GlossaryEntry.from_mapping(table))
    return entries, problems


# -- content rules -------------------------------------------------------------------------


def content_problems(
    entries: Mapping[str, GlossaryEntry], link_hosts: Iterable[str] | None = None
) -> list[str]:
    """Content problems of a whole glossary (slug -> entry), one sentence each: every entry's
    own rules, then names two entries share and slugs that read as another entry's name.
    With ``link_hosts``, every link must also be on one of those hosts (or a subdomain)."""
    problems: list[str] = []
    owners: dict[str, str] = {}
    hosts = None if link_hosts is None else frozenset(link_hosts)
    for entry in entries.values():
        problems.extend(_entry_problems(entry, entries))
        problems.extend(link_problems(entry, hosts))
        for name in entry.names:
            key = fold(name)
            if not key:
                problems.append(f"{entry.slug}: name {name!r} has no letters or digits")
                continue
            owner = owners.setdefault(key, entry.slug)
            if owner != entry.slug:
                problems.append(f"duplicate alias {name!r}: it belongs to {owner} and {entry.slug}")
    for entry in entries.values():
        owner = owners.get(fold(entry.slug), entry.slug)
        if owner != entry.slug:
            problems.append(f"{entry.slug}: slug reads the same as a name of {owner}")
    return problems


def _entry_problems(entry: GlossaryEntry, entries: Mapping[str, GlossaryEntry]) -> list[str]:
    """The rules one entry must meet on its own, plus its links to the others."""
    slug, problems = entry.slug, []
    if not _SLUG.fullmatch(slug):
        problems.append(f"{slug}: slug must be lower-case letters, digits and single hyphens")
    if entry.group not in GROUPS:
        problems.append(f"{slug}: group {entry.group!r} is not one of {', '.join(GROUPS)}")
    if entry.audience not in AUDIENCES:
        problems.append(f"{slug}: audience {entry.audience!r} is not one of {AUDIENCES}")
    words = len(entry.definition.split())
    if words > MAX_DEFINITION_WORDS:
        problems.append(f"{slug}: definition has {words} words (at most {MAX_DEFINITION_WORDS})")
    if not entry.example.strip():
        problems.append(f"{slug}: example missing")
    for other in entry.related:
        if other == slug:
            problems.append(f"{slug}: related to itself")
        elif other not in entries:
            problems.append(f"{slug}: related slug {other!r} is unknown")
    names = {fold(n) for n in entry.names}
    for quiet in entry.skip_in_text:
        if fold(quiet) not in names:
            problems.append(f"{slug}: skip_in_text {quiet!r} is not one of its names")
    return problems


# -- links ---------------------------------------------------------------------------------


def link_host(url: str) -> str:
    """The host a link points at, lower-case and without "www."."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def host_allowed(host: str, hosts: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``hosts`` or a subdomain of one."""
    return any(host == h or host.endswith("." + h) for h in hosts)


def link_problems(entry: GlossaryEntry, hosts: frozenset[str] | None = None) -> list[str]:
    """The link rules: present, https, a page rather than a homepage, and (given ``hosts``)
    on the site of the funder, regulator or sector body that owns the term."""
    slug, url = entry.slug, entry.url
    if not url:
        return [f"{slug}: link missing"]
    if not url.startswith("https://"):
        return [f"{slug}: link {url!r} is not https"]
    try:
        parts = urlsplit(url)
    except ValueError:
        return [f"{slug}: link {url!r} is not a valid URL"]
    problems = []
    if parts.path in ("", "/") and not parts.query:  # "/?opportunity=..." is a page
        problems.append(f"{slug}: link {url!r} is a homepage, not the page about the term")
    host = link_host(url)
    if hosts is not None and not host_allowed(host, hosts):
        problems.append(f"{slug}: link host {host!r} is not in [link_owners]")
    return problems
