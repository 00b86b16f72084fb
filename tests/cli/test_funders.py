"""``signpost funders import`` through the real CLI: a good file is imported with its
attribution; a bad one exits 1 with the record and field named, and imports nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "threesixty"
SAMPLE = FIXTURES / "360giving-grantnav-sample-package.json"


def run(tmp_path: Path, *args: str):
    url = f"sqlite+aiosqlite:///{tmp_path / 'signpost.db'}"
    return CliRunner().invoke(app, ["funders", "import", *args], env={"SIGNPOST_DATABASE_URL": url})


def grants_in(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "signpost.db") as conn:
        found = conn.execute("SELECT count(*) FROM grants").fetchone()[0]
    conn.close()
    return found


def test_import_reports_what_it_stored(tmp_path):
    result = run(tmp_path, str(SAMPLE), "--licence", "CC BY 4.0")
    assert result.exit_code == 0, result.output
    assert "imported 5 grants from 1 funder (licence: CC BY 4.0; publisher: not given)" in (
        result.stdout
    )
    assert grants_in(tmp_path) == 5


def test_a_bad_file_exits_1_and_imports_nothing(tmp_path):
    grants = json.loads(SAMPLE.read_text(encoding="utf-8"))["grants"]
    del grants[4]["id"]  # constructed: the real sample with its last record's id removed
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"grants": grants}))
    result = run(tmp_path, str(bad))
    assert result.exit_code == 1
    assert "record #5: field id is missing — nothing was imported" in result.stderr
    assert grants_in(tmp_path) == 0


def test_a_missing_file_is_bad_input(tmp_path):
    result = run(tmp_path, str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "is not a file" in result.stderr
