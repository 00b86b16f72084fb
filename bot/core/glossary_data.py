"""Glossary data: what an entry is, how the TOML files are read, and the content rules.

This is the bottom layer of the glossary (see :mod:`bot.core.glossary`): it knows nothing of
look-ups or text detection, so an admin tool or a data check can read and judge glossary
files without building indexes, and the other two modules can share one entry type and one
comparison key (:func:`fold`) without importing each other.

Two kinds of trouble are kept apart. Data that cannot be used at all (bad TOML, wrong types,
unknown fields) raises :class:`GlossaryError` while loading; content that still leaves a usable
glossary (a long definition, a missing link, a shared alias) is listed by
:func:`content_problems`, so a bad sentence in an override never takes the glossary down.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

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


class GlossaryError(ValueError):
    """Glossary data that cannot be used at all (bad TOML, wrong types, unknown fields).

    Content problems that still leave a usable glossary (a long definition, a missing link)
    are not errors: :meth:`Glossary.validate` lists them.
    """


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

    @property
    def names(self) -> tuple[str, ...]:
        """The term followed by its aliases."""
        return (self.term, *self.aliases)

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
            **{name: tuple(values.get(name, ())) for name in _LIST_FIELDS},
        )


# -- files ---------------------------------------------------------------------------------


def load_entries(
    data_file: Path, override: Path | None = None, extra: Iterable[GlossaryEntry] = ()
) -> tuple[list[GlossaryEntry], list[str]]:
    """Entries from ``data_file``, then an override file, then ``extra`` entries; each
    replaces earlier entries with the same slug or adds new ones. Also the problems found
    in ``data_file`` itself (a slug defined twice), for :func:`content_problems` to join."""
    entries, problems = _read_file(data_file)
    merged = {e.slug: e for e in entries}
    if override is not None:
        for table in _read_tables(override):
            slug = table.get("slug")
            merged[slug] = GlossaryEntry.from_mapping(table, base=merged.get(slug))
    for entry in extra:
        merged[entry.slug] = entry
    return list(merged.values()), problems


def _read_tables(path: Path) -> list[dict[str, Any]]:
    """The ``[[terms]]`` tables of a glossary file, or a GlossaryError naming the file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GlossaryError(f"cannot read glossary file {path}: {exc}") from exc
    tables = data.get("terms", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise GlossaryError(f"{path}: expected [[terms]] tables")
    for table in tables:
        if not isinstance(table.get("slug"), str) or not table["slug"].strip():
            raise GlossaryError(f"{path}: every [[terms]] table needs a slug")
        table["slug"] = table["slug"].strip()
    return tables


def _read_file(path: Path) -> tuple[list[GlossaryEntry], list[str]]:
    """Complete entries from one file; a slug repeated within it is reported, last one kept."""
    entries, problems, seen = [], [], set()
    for table in _read_tables(path):
        if table["slug"] in seen:
            problems.append(f"{table['slug']}: defined twice in {Path(path).name}")
        seen.add(table["slug"])
        entries.append(GlossaryEntry.from_mapping(table))
    return entries, problems


# -- content rules -------------------------------------------------------------------------


def content_problems(entries: Mapping[str, GlossaryEntry]) -> list[str]:
    """Content problems of a whole glossary (slug -> entry), one sentence each: every entry's
    own rules, then names two entries share and slugs that read as another entry's name."""
    problems: list[str] = []
    owners: dict[str, str] = {}
    for entry in entries.values():
        problems.extend(_entry_problems(entry, entries))
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
    if not entry.url:
        problems.append(f"{slug}: link missing")
    elif not entry.url.startswith("https://"):
        problems.append(f"{slug}: link {entry.url!r} is not https")
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
