"""A plain, non-editable install carries everything `signpost` needs: migrations, snapshots,
the taxonomy, the glossary and the default sources file."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from storage.db import head_revision

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DATA = [
    "bot/data/glossary.toml",
    "bot/data/taxonomy.toml",
    "sources/data/sources.toml",
    "sources/data/snapshots/manifest.toml",
    "sources/data/snapshots/ukri-listing-reconstructed-2025-03.html",
    "storage/migrations/env.py",
    "storage/migrations/script.py.mako",
    "storage/migrations/versions/0001_initial_schema.py",
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from this tree, unpacked into a folder outside the source tree."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    [wheel] = work.glob("signpost_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in PACKAGE_DATA if name not in names]
    assert missing == [], f"missing from the wheel: {missing}"
    site = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return site


def signpost(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(site), SIGNPOST_DATABASE_URL=f"sqlite:///{cwd / 'x.db'}")
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_installed_package_lists_its_commands(installed, tmp_path):
    result = signpost(installed, tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for command in ("run", "demo", "poll", "parse", "search", "glossary", "sources", "db"):
        assert command in result.stdout


def test_installed_package_runs_from_its_own_files(installed, tmp_path):
    where = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(installed)),
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(installed))
    for _ in range(2):
        upgrade = signpost(installed, tmp_path, "db", "upgrade")
        assert upgrade.returncode == 0, upgrade.stderr
        assert f"revision {head_revision()}" in upgrade.stdout
    glossary = signpost(installed, tmp_path, "glossary", "co-PI")
    assert "co-investigator" in glossary.stdout
    snapshot = installed / "sources/data/snapshots/ukri-opportunity-flf-round11.html"
    # the saved page has no canonical link, so its own address comes from the manifest
    page_url = "https://www.ukri.org/opportunity/future-leaders-fellowship-round-11/"
    parsed = signpost(installed, tmp_path, "parse", "ukri", str(snapshot), "--url", page_url)
    assert parsed.returncode == 0, parsed.stderr
    assert "Future Leaders Fellowships" in parsed.stdout
