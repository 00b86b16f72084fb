"""Rebuild ``sources/data/snapshots/ukri-listing-reconstructed-2025-03.html``.

Offline mode needs a UKRI listing large enough to answer real questions ("/calls mental
health"), but the only saved listing page holds three cards. A public scraper kept the values
of 122 real cards (2025-03-28) without their markup; this script puts those values back into
the card markup of the real listing page of 2026-06-11, so that ``UkriSource.parse`` reads
them exactly as it reads the live site. Nothing is invented: a value the scraper did not keep
(summary, post id) is left out, and the card classes are derived from the funder links.

Deterministic: the same JSON gives the same bytes.

    python scripts/build_ukri_snapshot.py ../shared/fixtures/ukri-listing-scraped-2025-03.json
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "sources/data/snapshots/ukri-listing-reconstructed-2025-03.html"
)
SOURCE_NOTE = (
    "franciscoflorencio/nit-crawler notices/ukri.json @ 456cc8ca "
    "(122 UKRI Funding Finder cards, scraped 2025-03-28)"
)
MARKUP_NOTE = (
    "card markup of https://www.ukri.org/opportunity/?filter_status%5B0%5D=open"
    "&filter_order=closing_date fetched 2026-06-11 (georget-j/ai-bid-manager "
    "tests/fixtures/ukri-listing-page.html @ 7b077f65)"
)

_ROW = """  <div class="govuk-table__row">
    <dt class="govuk-table__header opportunity-cells">{label}: </dt>
	<dd class="govuk-table__cell opportunity-cells">{value}</dd>
  </div>
"""
_CARD = """<div class="{classes}">
    <div class="entry-header">
        <h3 class="entry-title ukri-entry-title">
            <a class="ukri-funding-opp__link" href="{link}" rel="bookmark">{title}</a>
        </h3>
    </div><!-- .entry-header -->

    <div class="entry-meta">

<dl class="govuk-table opportunity__summary">
{rows}</dl>
    </div><!-- .entry-meta -->
</div><!-- #post -->
"""


def _money(text: str) -> str:
    return escape(text).replace("£", "&pound;")


def _date_cell(text: str) -> str:
    """UKRI's ``<time>`` for "24 March 2025 9:30am UK time"; other text stays as written."""
    if not text.endswith(" UK time"):
        return escape(text)
    written = text.removesuffix(" UK time").upper().replace("AM", "am").replace("PM", "pm")
    stamp = datetime.strptime(written, "%d %B %Y %I:%M%p")  # noqa: DTZ007 - UK local, no offset
    return f'\n\t<time datetime="{stamp:%Y-%m-%dT%H:%M:%S}">{escape(text)}</time>\t'


def _council(url: str) -> str:
    parts = [part for part in urlsplit(url).path.split("/") if part]
    return parts[parts.index("councils") + 1]


def _funders(card: dict[str, Any]) -> tuple[str, list[str]]:
    """The funders cell and the council slugs, pairing each name with its link in order."""
    names = card["funders"].split(", ")
    links = card["funders_url"].split(", ") if card["funders_url"] else []
    if links and len(links) != len(names):
        raise ValueError(f"{card['title']}: {len(names)} funders but {len(links)} links")
    if not links:  # "UK Research and Innovation" is plain text on the real page
        return "\n\t" + escape(card["funders"]) + "\t", ["ukri"]
    cells = [
        f'<a class="ukri-funder__link" href="{escape(link)}">{escape(name)}</a>'
        for name, link in zip(names, links, strict=True)
    ]
    return "\n\t" + ", ".join(cells) + "\t", sorted({_council(link) for link in links})


def _award_rows(text: str) -> list[tuple[str, str]]:
    """The scraper wrote the Minimum/Maximum award rows as "Min: …"/"Max: …"; undo that."""
    if text.startswith("Min: "):
        return [("Minimum award", _money(text.removeprefix("Min: ")))]
    if text.startswith("Max: "):
        return [("Maximum award", _money(text.removeprefix("Max: ")))]
    return [("Award range", _money(text))] if text else []


def card_html(card: dict[str, Any]) -> str:
    """One listing card in the real page's markup, rows in the real page's order."""
    funders, councils = _funders(card)
    status = card["opportunity_status"]
    rows = [
        (
            "Opportunity status",
            f'<span class="{status.lower()} opportunity-status__flag">{escape(status)}</span>',
        ),
        ("Funders", funders),
        ("Funding type", escape(card["funding_type"])),
    ]
    if card["total_fund"]:
        rows.append(("Total fund", _money(card["total_fund"])))
    rows += _award_rows(card["award_range"])
    rows += [
        ("Publication date", escape(card["publication_date"])),
        ("Opening date", _date_cell(card["opening_date"])),
        ("Closing date", _date_cell(card["closing_date"])),
    ]
    types = [kind.strip().lower() for kind in card["funding_type"].split(",") if kind.strip()]
    classes = ["opportunity", "type-opportunity", "status-publish", "hentry"]
    classes += [f"category-{slug}" for slug in councils]
    classes += [f"funding_type-{kind}" for kind in types]
    return _CARD.format(
        classes=" ".join(classes),
        link=escape(card["opportunity_link"]),
        title=escape(card["title"]),
        rows="".join(_ROW.format(label=label, value=value) for label, value in rows),
    )


def build(cards: list[dict[str, Any]]) -> str:
    """The whole page: a comment saying what it is, then every card in the JSON's order."""
    header = (
        "<!-- RECONSTRUCTED, not a capture. A UKRI Funding Finder listing rebuilt by\n"
        "     scripts/build_ukri_snapshot.py from the values of " + SOURCE_NOTE + ",\n"
        "     poured into the " + MARKUP_NOTE + ".\n"
        "     Left out because the scraper did not keep them: card summaries, post ids,\n"
        "     pagination (all cards are on this one page). Card classes are derived from the\n"
        "     funder links; non-time dates are shown as scraped. -->\n"
    )
    body = "".join(card_html(card) for card in cards)
    return (
        header
        + '<html><head><meta charset="utf-8"><title>Funding finder – UKRI (reconstructed)'
        + "</title>\n"
        + '<link rel="alternate" type="application/rss+xml" '
        + 'href="https://www.ukri.org/opportunity/feed/" />\n'
        + "</head><body>\n"
        + body
        + "</body></html>\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scraped_json", type=Path, help="ukri-listing-scraped-2025-03.json")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    cards = json.loads(args.scraped_json.read_text(encoding="utf-8"))
    args.output.write_text(build(cards), encoding="utf-8")
    sys.stderr.write(f"wrote {len(cards)} cards to {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
