"""``signpost db backup`` / ``db restore`` through the real CLI: a populated SQLite database
survives the round trip row for row, and PostgreSQL is pointed at pg_dump in one line."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.core.model import Chat, Opportunity, Subscription
from storage.db import head_revision
from storage.store import Store

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def row_counts(path: Path) -> dict[str, int]:
    """Rows per table (FTS shadow tables included: search must survive a restore too)."""
    with sqlite3.connect(path) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    conn.close()
    return counts


async def populate(url: str) -> Store:
    """A migrated database with a chat, subscriptions, opportunities and queued alerts;
    left open, because a backup is taken while the bot runs."""
    store = Store.from_url(url)
    await store.upgrade()
    async with store.unit() as unit:
        chat = await unit.chats.ensure(Chat("telegram", "100", title="Mind Leeds"), now=NOW)
        await unit.chats.add_subscription(Subscription(chat_id=chat.id, topics=["x"]), now=NOW)
        for n in range(3):
            url_n = f"https://funder.example/calls/{n}"
            item = Opportunity("stub", str(n), url_n, f"Peer research call {n}")
            result = await unit.opportunities.upsert(item, now=NOW)
            await unit.outbox.enqueue(
                chat_id=chat.id, reason="new", dedupe_key=f"new:{result.id}", now=NOW
            )
        await unit.polling.record_success("ukri", now=NOW, items=3, next_poll_at=NOW, duration_ms=5)
    return store


def cli(database_url: str, *args: str, input: str | None = None):
    runner = CliRunner()
    return runner.invoke(app, list(args), env={"SIGNPOST_DATABASE_URL": database_url}, input=input)


async def test_backup_then_restore_elsewhere_keeps_every_row(tmp_path):
    live_url = f"sqlite:///{tmp_path / 'live.db'}"
    store = await populate(live_url)
    backup_file = tmp_path / "backups" / "signpost-2026-03-02.db"
    try:
        result = cli(live_url, "db", "backup", str(backup_file))
    finally:
        await store.close()
    assert result.exit_code == 0, result.output
    assert backup_file.exists()

    restored_url = f"sqlite:///{tmp_path / 'restored' / 'signpost.db'}"
    result = cli(restored_url, "db", "restore", str(backup_file), "--yes")
    assert result.exit_code == 0, result.output

    live = row_counts(tmp_path / "live.db")
    assert live["opportunities"] == 3 and live["outbox"] == 3 and live["subscriptions"] == 1
    assert row_counts(tmp_path / "restored" / "signpost.db") == live
    restored = Store.from_url(restored_url)
    try:
        assert await restored.database.current_revision() == head_revision()
        async with restored.unit() as unit:
            assert await unit.opportunities.count_by_status() == {"open": 3}
            assert (await unit.outbox.depth(NOW))[0] == 3
            page = await unit.search.search([["peer", "research"]], now=NOW)
        assert page.total == 3  # the full-text index came along with the rows
    finally:
        await restored.close()


async def test_restore_asks_first_and_keeps_the_database_when_refused(tmp_path):
    store = await populate(f"sqlite:///{tmp_path / 'live.db'}")
    await store.close()
    target = tmp_path / "other.db"
    target.write_bytes(b"")
    result = cli(f"sqlite:///{target}", "db", "restore", str(tmp_path / "live.db"), input="n\n")
    assert result.exit_code != 0
    assert target.read_bytes() == b""


@pytest.mark.parametrize("command", [["backup", "out.db"], ["restore", "in.db", "--yes"]])
def test_postgresql_is_sent_to_pg_dump_in_one_line(command, tmp_path):
    result = cli("postgresql://signpost@db.example/signpost", "db", *command)
    assert result.exit_code == 1
    message = result.output.strip()
    assert len(message.splitlines()) == 1
    assert "pg_dump" in message
    assert not (tmp_path / "out.db").exists()
