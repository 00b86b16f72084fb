"""Backup and restore for the SQLite default (PostgreSQL has pg_dump, see the README).

SQLite's online backup API copies a consistent snapshot page by page while the bot keeps
writing, which a plain file copy of a WAL database does not guarantee.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why in one line."""


def _sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            "db backup/restore handle SQLite; for PostgreSQL use pg_dump and pg_restore "
            "(see the README)"
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return Path(url.database).expanduser()


def _copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


def backup(database_url: str, target: Path) -> None:
    """Write a consistent copy of the live database to ``target``."""
    source = _sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    _copy(source, target)


def restore(backup_file: Path, database_url: str) -> None:
    """Replace the database with ``backup_file`` (which must be a SQLite database)."""
    target = _sqlite_path(database_url)
    if not backup_file.exists():
        raise BackupError(f"no backup at {backup_file}")
    try:
        with sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True) as probe:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        probe.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup_file} is not a SQLite database ({exc})") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy(backup_file, target)
