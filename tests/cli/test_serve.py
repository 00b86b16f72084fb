"""``signpost run`` and ``signpost demo`` options: which database a demo keeps, and bad
values as one line with exit code 2 (the sessions themselves are in tests/console)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.cli.serve import demo_database


def test_a_demo_keeps_no_database_unless_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert demo_database(None, None) is None
    shared = Path(tmp_path / "signpost-demo.db").resolve()
    assert demo_database(None, "bob") == f"sqlite:///{shared}"  # --chat alone: shared file
    assert demo_database("people.db", "bob") == f"sqlite:///{(tmp_path / 'people.db').resolve()}"
    url = "postgresql://postgres@127.0.0.1:5432/demo"
    assert demo_database(url, None) == url


def test_a_bad_demo_database_is_one_line_and_exit_code_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--db", "mysql://somewhere/db"])
    assert result.exit_code == 2
    assert "only sqlite:// and postgresql:// URLs are supported" in result.output
    assert "Traceback" not in result.output


def test_run_says_so_when_the_console_log_cannot_be_written(tmp_path, monkeypatch):
    import bot.app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bot.app, "console_reads_commands", lambda settings: True)
    env = {"SIGNPOST_CONSOLE_LOG": str(tmp_path / "missing" / "signpost.log")}
    result = CliRunner().invoke(app, ["run"], env=env)
    assert result.exit_code == 2
    assert "cannot write the log file" in result.output
