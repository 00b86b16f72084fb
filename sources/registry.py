"""The one registry of source types: the ``type`` of a sources-file entry names a class here.

Adding a source type is one line in ``_TYPE_PATHS``. Classes are imported when first asked
for, so that ``signpost glossary`` does not pay for bs4 and feedparser, and so that one
broken source module cannot stop the others from loading.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module

from bot.clock import Clock
from sources.base import ClockedSource, Source, SourceConfig

# type name -> "module:Class". Explicit on purpose: no plugin discovery, no import magic.
_TYPE_PATHS: dict[str, str] = {
    "ukri": "sources.ukri:UkriSource",
    "nihr": "sources.nihr:NihrSource",
    "tnlcf": "sources.tnlcf:TnlcfSource",
    "rss": "sources.rss:RssSource",
    "ical": "sources.ical:IcalSource",
    "html": "sources.html:HtmlListingSource",
    "jsonld": "sources.jsonld:JsonLdSource",
    "squarespace": "sources.squarespace:SquarespaceEventsSource",
}


class UnknownSourceError(ValueError):
    """A sources-file entry names a type that no class implements."""


def known_types() -> list[str]:
    """The type names a sources file may use, sorted; imports nothing."""
    return sorted(_TYPE_PATHS)


def _unknown(name: str) -> UnknownSourceError:
    return UnknownSourceError(
        f"unknown source type {name!r}; known types: {', '.join(known_types())}"
    )


class _SourceTypes(Mapping[str, type[Source]]):
    """``SOURCE_TYPES``: a read-only mapping from type name to class, importing on lookup."""

    def __init__(self, paths: Mapping[str, str]) -> None:
        self._paths = dict(paths)
        self._loaded: dict[str, type[Source]] = {}

    def __getitem__(self, name: str) -> type[Source]:
        if name not in self._paths:
            raise KeyError(name)
        if name not in self._loaded:
            module_name, class_name = self._paths[name].split(":")
            cls = getattr(import_module(module_name), class_name)
            if not (isinstance(cls, type) and issubclass(cls, Source)):
                raise TypeError(f"{self._paths[name]} is not a Source subclass")
            if cls.type_name != name:
                raise TypeError(f"{self._paths[name]}.type_name is {cls.type_name!r}, not {name!r}")
            self._loaded[name] = cls
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def __repr__(self) -> str:
        return f"SOURCE_TYPES({', '.join(known_types())})"


SOURCE_TYPES: Mapping[str, type[Source]] = _SourceTypes(_TYPE_PATHS)


def source_type(name: str) -> type[Source]:
    """The class for a type name; ``UnknownSourceError`` lists the known names."""
    if name not in SOURCE_TYPES:
        raise _unknown(name)
    return SOURCE_TYPES[name]


def build_source(config: SourceConfig, *, clock: Clock | None = None) -> Source:
    """A ready source for one sources-file entry (the class validates its own options).

    ``clock`` reaches the source types that read "now" while parsing (event sources drop
    past events and expand recurrences from it), so that offline mode parses its snapshots
    as of their capture day; the others do not take one.
    """
    cls = source_type(config.type)
    if clock is not None and issubclass(cls, ClockedSource):
        return cls(config, clock=clock)
    return cls(config)
