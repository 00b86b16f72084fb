"""The core, sources and storage never import a platform library (STYLE.md, point 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_PACKAGES = {"telegram", "slack_bolt", "slack_sdk"}
PLATFORM_FREE = ["bot/core", "bot/delivery", "sources", "storage"]


def imported_packages(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("folder", PLATFORM_FREE)
def test_folder_imports_no_platform_library(folder):
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & PLATFORM_PACKAGES)
        for path in files
        if imported_packages(path) & PLATFORM_PACKAGES
    }
    assert offenders == {}
