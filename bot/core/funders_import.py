"""Importing 360Giving files: read, tag and store every grant in one transaction.

A file is read one record at a time (``sources.threesixty.read_grants``), tagged with the
same tagger as opportunities over its title and description, and written in batches inside
one ``store.unit()``: a bad record anywhere raises, the transaction rolls back, and the
database keeps nothing of that file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.core.model import Opportunity
from bot.core.tagging import tag
from bot.core.taxonomy import Taxonomy
from sources.threesixty import GrantRecord, ThreeSixtyError, read_grants
from storage.store import Store

__all__ = ["ImportResult", "ThreeSixtyError", "import_grants", "tag_grant"]

BATCH = 500


@dataclass(frozen=True, slots=True)
class ImportResult:
    grants: int
    funders: int
    licence: str
    publisher: str


def tag_grant(record: GrantRecord, taxonomy: Taxonomy) -> GrantRecord:
    """Give ``record`` the topics and roles an opportunity with its words would get."""
    probe = Opportunity(
        source="360giving",
        external_id=record.grant_id,
        url=record.url,
        title=record.title,
        summary=record.description,
    )
    tags = tag(probe, taxonomy)
    record.topics, record.roles = tags.topics, tags.roles
    return record


async def import_grants(
    store: Store,
    path: Path,
    taxonomy: Taxonomy,
    *,
    now: datetime,
    licence: str = "",
    publisher: str = "",
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import every grant in ``path``, or none (raises ``ThreeSixtyError`` saying why).

    ``licence`` and ``publisher`` are used where the file names none (a CSV has no place for
    them); a grant's own licence, as the 360Giving API gives it, wins.
    """
    meta: dict = {}
    count, funders, batch = 0, set(), []
    async with store.unit() as unit:
        for record in read_grants(path, meta):
            batch.append(tag_grant(record, taxonomy))
            funders.add(record.funder_id)
            if len(batch) >= BATCH:
                await unit.grants.upsert_many(batch, now=now)
                count += len(batch)
                batch = []
                if progress:
                    progress(count)
        await unit.grants.upsert_many(batch, now=now)
        count += len(batch)
        if count == 0:
            raise ThreeSixtyError(f"{path.name}: there are no grants in this file")
        file_licence = meta.get("license") or ""
        if isinstance(file_licence, dict):
            file_licence = file_licence.get("name") or file_licence.get("url") or ""
        file_publisher = meta.get("publisher")
        file_publisher = file_publisher.get("name", "") if isinstance(file_publisher, dict) else ""
        final_licence = str(file_licence or licence)
        final_publisher = str(file_publisher or publisher)
        await unit.grants.fill_attribution(
            now=now, licence=final_licence, publisher=final_publisher
        )
    if progress:
        progress(count)
    return ImportResult(count, len(funders), final_licence, final_publisher)
