"""Where a 360Giving grant went: ONS GSS codes and place names -> nation, English region and
local authority.

Publishers give places as GSS codes ("E06000026"), as names ("Wales"), or as GrantNav-style
paths ("England/South West/Plymouth"). The first letter of a GSS code names the nation; an
``E12`` code is one of England's nine regions; the local-authority code families (E06-E09,
W06, S12, N09) say the name is a local authority. Names are kept exactly as given.
"""

from __future__ import annotations

import re

__all__ = ["NATIONS", "REGIONS", "place_of", "region_named"]

NATIONS = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}
# ONS codes of England's regions (formerly Government Office Regions).
REGIONS = {
    "E12000001": "North East",
    "E12000002": "North West",
    "E12000003": "Yorkshire and The Humber",
    "E12000004": "East Midlands",
    "E12000005": "West Midlands",
    "E12000006": "East of England",
    "E12000007": "London",
    "E12000008": "South East",
    "E12000009": "South West",
}
_LOCAL_AUTHORITY_PREFIXES = ("E06", "E07", "E08", "E09", "W06", "S12", "N09")
_GSS = re.compile(r"^[EWSNK]\d{8}$")
_UK_WHOLE = {"uk", "uk whole", "united kingdom", "great britain", "gb"}


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("&", "and")).strip().casefold()


_REGION_BY_NAME = {_fold(name): name for name in REGIONS.values()}
_REGION_BY_NAME.update({"east": "East of England", "eastern": "East of England"})
_NATION_BY_NAME = {_fold(name): name for name in NATIONS.values()}


def region_named(text: str) -> str | None:
    """The ONS region ``text`` names ("yorkshire and the humber"), or None."""
    return _REGION_BY_NAME.get(_fold(text))


def nation_named(text: str) -> str | None:
    """The nation ``text`` names, "UK" for the whole UK, or None."""
    folded = _fold(text)
    if folded in _UK_WHOLE:
        return "UK"
    return _NATION_BY_NAME.get(folded)


def place_of(name: str, code: str = "", *, kind: str) -> dict[str, str]:
    """One location as stored: what was given, plus the nation, region and local authority
    it means (empty where the data does not say)."""
    name, code = (name or "").strip(), (code or "").strip().upper()
    found = {"kind": kind, "name": name, "code": code, "nation": "", "region": "", "area": ""}
    if _GSS.match(code):
        if code[0] in NATIONS:
            found["nation"] = NATIONS[code[0]]
        elif code[0] == "K":
            found["nation"] = "UK"
        if code in REGIONS:
            found["region"] = REGIONS[code]
        elif code.startswith(_LOCAL_AUTHORITY_PREFIXES) and name:
            found["area"] = name
    parts = [part.strip() for part in name.split("/") if part.strip()]
    for index, part in enumerate(parts):
        if nation := nation_named(part):
            found["nation"] = found["nation"] or nation
        elif region := region_named(part):
            found["region"] = found["region"] or region
            found["nation"] = found["nation"] or "England"
        elif (
            index == len(parts) - 1 and len(parts) > 1 and not part.lower().startswith("more than")
        ):
            # "England/South West/Plymouth": the last part of a path is the local area.
            found["area"] = found["area"] or part
    return found
