"""The CLI contract: commands, JSON shapes, and one-line errors instead of tracebacks."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import SystemClock
from storage.db import head_revision
from tests.helpers.databases import require_postgres

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "sources" / "data" / "snapshots"
CAPTURED = datetime(2025, 3, 28, 12, tzinfo=UTC)  # the offline clock's start (manifest.toml)
CONTRACT_KEYS = {
    "source",
    "external_id",
    "url",
    "title",
    "kind",
    "status",
    "funders",
    "opens_at",
    "closes_at",
    "published_at",
    "total_fund_gbp",
    "award_min_gbp",
    "award_max_gbp",
    "summary",
    "topics",
    "roles",
    "flags",
}


def test_offline_poll_fills_an_empty_database_then_reports_everything_unchanged(cli):
    first = cli("poll", "--offline")
    assert first.exit_code == 0, first.output
    assert "0 failed" in first.output
    second = cli("poll", "--offline")
    assert second.exit_code == 0
    rows = [line for line in second.output.splitlines() if line.startswith("│")]
    assert rows
    assert all("unchanged" in row for row in rows), second.output


def test_search_answers_mental_health_offline_with_contract_json(cli, monkeypatch):
    cli("poll", "--offline", "ukri")
    monkeypatch.setattr(SystemClock, "now", lambda self: CAPTURED)  # the snapshots' day
    result = cli("search", "mental health", "--json")
    items = json.loads(result.output)
    assert items
    assert all(set(item) >= CONTRACT_KEYS for item in items)
    assert all("mental health" in item["title"].lower() for item in items)
    assert all(item["status"] in ("open", "upcoming") for item in items)
    assert all(item["url"].startswith("https://www.ukri.org/") for item in items)
    text = cli("search", "mental health")
    assert "Open calls for “mental health”" in text.output


def test_search_with_todays_clock_shows_nothing_that_has_closed(cli):
    """The offline poll stores the calls as open on 28 March 2025; today they have closed,
    though nothing ran the close-expired job, and search (with words or without) says so."""
    cli("poll", "--offline", "ukri")
    now = datetime.now(UTC)
    for query in ("mental health", ""):
        items = json.loads(cli("search", query, "--json").output)
        assert all(item["status"] in ("open", "upcoming") for item in items)
        assert all(
            item["closes_at"] is None or datetime.fromisoformat(item["closes_at"]) > now
            for item in items
        ), query
        text = cli("search", query).output
        assert not re.search(r"Closes \d+ \w+ 2025", text), text


def test_parse_prints_the_contract_json(cli):
    result = cli("parse", "nihr", str(SNAPSHOTS / "nihr-detail-womens-health-communication.html"))
    items = json.loads(result.output)
    assert items[0]["funders"] == ["NIHR"]
    assert items[0]["closes_at"].endswith("+01:00")  # a summer deadline, UK time
    assert set(items[0]) >= CONTRACT_KEYS


def test_parse_gives_events_their_status_by_the_clock(cli, monkeypatch):
    """A charity's 2024 calendar: every event is over by now, and was to come before."""
    calendar = str(ROOT / "tests" / "fixtures" / "ical" / "charity-events-ecp.ics")
    events = json.loads(cli("parse", "mcpin-events", calendar).output)
    assert events and {e["status"] for e in events} == {"closed"}
    monkeypatch.setattr(SystemClock, "now", lambda self: datetime(2024, 1, 1, tzinfo=UTC))
    events = json.loads(cli("parse", "mcpin-events", calendar).output)
    assert {e["status"] for e in events} == {"open"}


def test_parse_errors_are_one_line(cli, tmp_path):
    unknown = cli("parse", "nope", str(SNAPSHOTS / "manifest.toml"))
    assert unknown.exit_code == 2
    assert "known: ukri" in unknown.output
    junk = tmp_path / "junk.html"
    junk.write_text("<html><body>nothing here</body></html>")
    broken = cli("parse", "ukri", str(junk))
    assert broken.exit_code == 1
    assert "did not parse as ukri" in broken.output
    assert "Traceback" not in broken.output
    missing = cli("parse", "ukri", str(tmp_path / "absent.html"))
    assert missing.exit_code == 2


def test_glossary_json_lists_at_least_eighty_valid_entries(cli):
    entries = json.loads(cli("glossary", "--json").output)
    assert len(entries) >= 80
    assert all(len(e["definition"].split()) <= 60 and e["url"] for e in entries)
    found = cli("glossary", "copi")
    assert "co-PI" in found.output
    assert cli("glossary", "zzqxw").exit_code == 1


def test_sources_list_shows_the_catalogue(cli):
    result = cli("sources", "list")
    assert "ukri" in result.output
    assert "view of ukri" in result.output


def test_bad_settings_are_a_one_line_error(cli, monkeypatch):
    monkeypatch.setenv("SIGNPOST_ADMINS", "nonsense")
    result = cli("db", "upgrade")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "SIGNPOST_ADMINS" in result.output


@pytest.mark.postgres
def test_db_upgrade_twice_on_postgresql(cli, monkeypatch):
    base = require_postgres()
    name = f"signpost_cli_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(base)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = base.rsplit("/", 1)[0] + f"/{name}"
        monkeypatch.setenv("SIGNPOST_DATABASE_URL", url)
        for _ in range(2):
            result = cli("db", "upgrade")
            assert result.exit_code == 0, result.output
            assert f"revision {head_revision()}" in result.output
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_search_pages_in_text_mode_with_limit_and_page(cli, monkeypatch):
    monkeypatch.setattr(SystemClock, "now", lambda self: CAPTURED)  # the snapshots' day
    cli("poll", "--offline", "ukri")
    everything = json.loads(cli("search", "mental health", "--json", "--limit", "100").output)
    assert len(everything) >= 3
    first = cli("search", "mental health", "--limit", "1")
    assert first.exit_code == 0
    assert f"(1–1 of {len(everything)})" in first.output
    assert first.output.count("• ") == 1
    assert "More: signpost search 'mental health' --limit 1 --page 2" in first.output
    assert "more:call:" not in first.output  # a button's data means nothing in a terminal
    second = cli("search", "mental health", "--limit", "1", "--page", "2")
    assert f"(2–2 of {len(everything)})" in second.output
    titles = [line[2:] for line in second.output.splitlines() if line.startswith("• ")]
    assert titles == [everything[1]["title"]]
    paged = cli("search", "mental health", "--json", "--limit", "1", "--page", "2")
    assert [i["title"] for i in json.loads(paged.output)] == titles
    pages = -(-len(everything) // 2)
    last = cli("search", "mental health", "--limit", "2", "--page", str(pages))
    assert "More:" not in last.output
