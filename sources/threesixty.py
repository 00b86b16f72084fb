"""360Giving grant data (awarded grants, not open calls): read and check each record.

Files come as the standard's JSON (:mod:`sources.threesixty_json`), or as CSV or XLSX
(:mod:`sources.threesixty_xlsx`) with its flattened column names ("Identifier", "Amount
Awarded", "Funding Org:Name", ...). All are streamed, and every record is turned into the
JSON shape and checked by :func:`grant_from`, whose :class:`ThreeSixtyError` names the
record and the field: the importer stops at the first one, so a bad file imports nothing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sources.threesixty_json import JsonShapeError, iter_json_grants
from sources.threesixty_places import place_of, region_named
from sources.threesixty_xlsx import XlsxError, iter_xlsx_rows

__all__ = ["GrantRecord", "ThreeSixtyError", "grant_from", "read_grants"]

MAX_TEXT = 20_000  # characters in one field: a longer one is a broken or hostile file
MAX_ID = 512


class ThreeSixtyError(ValueError):
    """A file or record that cannot be imported; the message says which and why."""


@dataclass(slots=True)
class GrantRecord:
    """One award, checked; money in pence, places mapped (see ``place_of``)."""

    grant_id: str
    title: str
    description: str
    amount_pence: int
    currency: str
    award_date: date
    funder_id: str
    funder_name: str
    recipient_id: str = ""
    recipient_name: str = ""
    url: str = ""
    programme: str = ""
    locations: list[dict[str, str]] = field(default_factory=list)
    licence: str = ""
    publisher: str = ""
    topics: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)


def _text(record: str, raw: dict, name: str, *, required: bool = False) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise ThreeSixtyError(f"record {record}: field {name} is missing")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ThreeSixtyError(f"record {record}: field {name} should be text")
    value = str(value).strip()
    if len(value) > MAX_TEXT:
        raise ThreeSixtyError(f"record {record}: field {name} is over {MAX_TEXT:,} characters")
    return value


def _first_org(record: str, raw: dict, name: str) -> dict:
    orgs = raw.get(name)
    if isinstance(orgs, dict):
        orgs = [orgs]
    if not isinstance(orgs, list) or not orgs or not isinstance(orgs[0], dict):
        raise ThreeSixtyError(f"record {record}: field {name} is missing")
    return orgs[0]


def _amount(record: str, value: Any) -> int:
    if value is None or value == "":
        raise ThreeSixtyError(f"record {record}: field amountAwarded is missing")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ThreeSixtyError(f"record {record}: field amountAwarded should be a number")
    try:
        amount = Decimal(str(value).replace(",", "").replace("£", "").strip())
    except InvalidOperation:
        raise ThreeSixtyError(
            f"record {record}: field amountAwarded is not a number: {str(value)[:40]!r}"
        ) from None
    if not amount.is_finite() or amount < 0 or amount > 10**12:
        raise ThreeSixtyError(f"record {record}: field amountAwarded is out of range")
    return int((amount * 100).to_integral_value())


def _date(record: str, value: Any) -> date:
    """ISO dates and date-times (``2017-11-21T00:00:00.000Z``), and the day-first
    ``24/07/2014`` that some publishers' spreadsheets produce."""
    if not isinstance(value, str) or not value.strip():
        raise ThreeSixtyError(f"record {record}: field awardDate is missing")
    text = value.strip()
    if day_first := re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", text):
        day, month, year = (int(part) for part in day_first.groups())
        try:
            return date(year, month, day)
        except ValueError:
            pass
    else:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    raise ThreeSixtyError(f"record {record}: field awardDate is not a date: {text[:40]!r}")


def _locations(raw: dict, recipient: dict) -> list[dict[str, str]]:
    found = []
    for kind, places in (
        ("beneficiary", raw.get("beneficiaryLocation")),
        ("recipient", recipient.get("location")),
    ):
        for place in places if isinstance(places, list) else []:
            if isinstance(place, dict) and (place.get("name") or place.get("geoCode")):
                found.append(
                    place_of(
                        str(place.get("name") or ""), str(place.get("geoCode") or ""), kind=kind
                    )
                )
    extra = raw.get("additional_data")
    if isinstance(extra, dict) and extra.get("recipientDistrictGeoCode"):
        # GrantNav's own lookup of the recipient's postcode.
        place = place_of(
            str(extra.get("recipientDistrictName") or ""),
            str(extra["recipientDistrictGeoCode"]),
            kind="recipient",
        )
        place["region"] = region_named(str(extra.get("recipientRegionName") or "")) or ""
        found.append(place)
    return found


def _licence(meta: dict) -> str:
    value = meta.get("license") or meta.get("licence") or ""
    if isinstance(value, dict):
        value = value.get("name") or value.get("url") or ""
    return str(value)[:500]


def grant_from(raw: Any, meta: dict, position: int) -> GrantRecord:
    """Check one record in the standard's JSON shape; ``position`` (from 1) names it when
    it has no identifier."""
    if not isinstance(raw, dict):
        raise ThreeSixtyError(f"record {position}: is not an object")
    record = f"#{position}"
    grant_id = _text(record, raw, "id", required=True)
    if len(grant_id) > MAX_ID:
        raise ThreeSixtyError(f"record {record}: field id is over {MAX_ID} characters")
    record = f"{grant_id!r} (#{position})"
    funder = _first_org(record, raw, "fundingOrganization")
    recipient = _first_org(record, raw, "recipientOrganization")
    funder_id = _text(record, funder, "id", required=True)[:256]
    publisher = meta.get("publisher")
    programme = raw.get("grantProgramme")
    programme = programme[0] if isinstance(programme, list) and programme else {}
    return GrantRecord(
        grant_id=grant_id,
        title=_text(record, raw, "title", required=True),
        description=_text(record, raw, "description"),
        amount_pence=_amount(record, raw.get("amountAwarded")),
        currency=(_text(record, raw, "currency", required=True).upper() + "   ")[:3].strip(),
        award_date=_date(record, raw.get("awardDate")),
        funder_id=funder_id,
        funder_name=_text(record, funder, "name", required=True),
        recipient_id=_text(record, recipient, "id")[:256],
        recipient_name=_text(record, recipient, "name"),
        url=_text(record, raw, "url")[:2048],
        programme=_text(record, programme, "title") if isinstance(programme, dict) else "",
        locations=_locations(raw, recipient),
        licence=_licence(meta),
        publisher=str(publisher.get("name", ""))[:500] if isinstance(publisher, dict) else "",
    )


# ---------------------------------------------------------------------- CSV
_COLUMNS = {
    "Identifier": "id",
    "Title": "title",
    "Description": "description",
    "Currency": "currency",
    "Amount Awarded": "amountAwarded",
    "Award Date": "awardDate",
    "URL": "url",
}
_ORGS = {"Recipient Org": "recipientOrganization", "Funding Org": "fundingOrganization"}
_ORG_FIELDS = {"Identifier": "id", "Name": "name"}
_PLACE_FIELDS = {"Name": "name", "Geographic Code": "geoCode"}
_PLACE = re.compile(r"^Beneficiary Location:(?:(\d+):)?(Name|Geographic Code)$")


def _from_row(row: dict[str | None, Any]) -> dict:
    """A flattened CSV row in the standard's JSON shape."""
    if None in row:
        raise ThreeSixtyError("a row has more cells than the header has columns")
    raw: dict[str, Any] = {}
    places: dict[int, dict[str, str]] = {}
    for column, value in row.items():
        column, value = (column or "").strip(), (value or "").strip()
        if not value:
            continue
        if column in _COLUMNS:
            raw[_COLUMNS[column]] = value
        elif column == "Grant Programme:Title":
            raw["grantProgramme"] = [{"title": value}]
        elif (head := column.partition(":"))[0] in _ORGS and head[2] in _ORG_FIELDS:
            raw.setdefault(_ORGS[head[0]], [{}])[0][_ORG_FIELDS[head[2]]] = value
        elif match := _PLACE.match(column):
            places.setdefault(int(match.group(1) or 0), {})[_PLACE_FIELDS[match.group(2)]] = value
    if places:
        raw["beneficiaryLocation"] = [places[key] for key in sorted(places)]
    return raw


# ---------------------------------------------------------------------- files
def read_grants(path: Path, meta: dict[str, Any] | None = None) -> Iterator[GrantRecord]:
    """Every grant in a 360Giving JSON, CSV or XLSX file, checked, one at a time. ``meta`` gets the
    package's licence and publisher, which a JSON package may give after its grants."""
    meta = {} if meta is None else meta
    suffix = path.suffix.lower()
    position = 0
    if suffix == ".xlsx":
        try:
            for row in iter_xlsx_rows(path):
                position += 1
                yield grant_from(_from_row(row), meta, position)
        except XlsxError as exc:
            raise ThreeSixtyError(str(exc)) from None
        return
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            if suffix == ".json":
                for raw, own in iter_json_grants(stream, meta):
                    position += 1
                    yield grant_from(raw, {**meta, **{k: v for k, v in own.items() if v}}, position)
            elif suffix == ".csv":
                reader = csv.DictReader(stream)
                if not reader.fieldnames or "Identifier" not in reader.fieldnames:
                    raise ThreeSixtyError(
                        "the CSV has no Identifier column (is it 360Giving data?)"
                    )
                for row in reader:
                    position += 1
                    yield grant_from(_from_row(row), meta, position)
            else:
                raise ThreeSixtyError(f"{path.name}: give a .json, .csv or .xlsx 360Giving file")
    except JsonShapeError as exc:
        raise ThreeSixtyError(f"{path.name}: {exc}") from None
    except csv.Error as exc:
        raise ThreeSixtyError(f"{path.name}: record #{position + 1}: {exc}") from None
    except UnicodeDecodeError:
        raise ThreeSixtyError(f"{path.name}: not UTF-8 text near record #{position + 1}") from None
