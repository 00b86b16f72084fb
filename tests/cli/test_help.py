"""``signpost --help`` and each command's help: flags read as flags, never ``--help <bool>``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app

COMMANDS = [[], ["run"], ["demo"], ["poll"], ["search"], ["glossary"], ["sources", "list"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "signpost")
def test_help_shows_flags_without_a_value_type(command):
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "--help" in result.output
    assert "<bool>" not in result.output
    for line in result.output.splitlines():
        if line.strip().startswith("--help"):
            assert line.split()[1:3] == ["Show", "this"], line


def test_run_help_lists_its_flag_plainly():
    result = CliRunner().invoke(app, ["run", "--help"], terminal_width=100)
    [line] = [line for line in result.output.splitlines() if "--offline" in line]
    assert line.split()[:2] == ["--offline", "Replay"]
