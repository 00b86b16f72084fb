"""The deploy files agree with the code: every setting is documented in ``.env.example``,
compose and systemd read that file, and the container health checks really work."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.ops.health import start_health_server
from bot.runtime import build_runtime
from bot.settings import Settings
from storage.store import Store

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# In .env.example for compose's sake; Signpost itself never reads them.
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}
# "NAME=value" (set) or "# NAME=value" (off, showing the default).
SETTING_LINE = re.compile(r"^(#\s)?([A-Z][A-Z0-9_]*)=(.*)$")


def env_example() -> list[tuple[int, bool, str, str]]:
    """(line number, active, name, value) for every setting line of ``.env.example``."""
    found = []
    lines = (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        match = SETTING_LINE.match(line)
        if match:
            found.append((number, match.group(1) is None, match.group(2), match.group(3)))
    return found


def aliases() -> set[str]:
    return {field.alias for field in Settings.model_fields.values()}


def secret_aliases() -> set[str]:
    return {
        field.alias
        for field in Settings.model_fields.values()
        if SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
    }


def test_env_example_lists_every_setting_once_and_nothing_else():
    names = [name for _, _, name, _ in env_example()]
    assert len(names) == len(set(names)), "a setting is listed twice"
    assert set(names) - COMPOSE_ONLY == aliases()


def test_every_setting_in_env_example_has_a_comment_above_it():
    lines = (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines()
    for number, _, name, _ in env_example():
        above = lines[number - 1] if number else ""
        assert above.startswith("#") and not SETTING_LINE.match(above), f"{name} has no comment"


def test_env_example_ships_no_secret_values():
    secrets = secret_aliases() | COMPOSE_ONLY
    assert {"TELEGRAM_BOT_TOKEN", "SLACK_SIGNING_SECRET"} <= secrets
    for _, active, name, value in env_example():
        if name in secrets:
            assert value == "", f"{name} has a value in the example"
            # An empty secret still counts as set, so only compose's password is active.
            assert not active or name in COMPOSE_ONLY, f"{name}= would configure an empty secret"


def test_env_example_as_shipped_is_a_valid_configuration(monkeypatch):
    for alias in aliases():
        monkeypatch.delenv(alias, raising=False)
    for _, active, name, value in env_example():
        if active:
            monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.health_port == 8080
    assert not settings.telegram_configured and not settings.slack_configured


def test_env_example_defaults_match_the_code():
    """A commented line shows the default: it must be the one the code uses."""
    fields = {field.alias: field for field in Settings.model_fields.values()}
    for _, active, name, value in env_example():
        if active or name in COMPOSE_ONLY or not value or name.endswith("_FILE"):
            continue
        assert str(fields[name].default) == value, f"{name}'s default is not {value}"


def compose_text() -> str:
    return (DEPLOY / "compose.yaml").read_text(encoding="utf-8")


def test_compose_passes_the_env_file_and_points_signpost_at_postgres():
    text = compose_text()
    assert "env_file: .env" in text
    assert "dockerfile: deploy/Dockerfile" in text
    url = re.search(r"SIGNPOST_DATABASE_URL: \"(.+)\"", text).group(1)
    assert url.startswith("postgresql://signpost:${POSTGRES_PASSWORD")
    assert url.endswith("@postgres:5432/signpost")
    assert "condition: service_healthy" in text
    assert "pg_isready" in text
    assert "image: postgres:16" in text
    assert text.count("restart: unless-stopped") == 2


def test_compose_structure():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load(compose_text())
    signpost, postgres = compose["services"]["signpost"], compose["services"]["postgres"]
    assert signpost["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert signpost["env_file"] == ".env"
    assert signpost["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert signpost["healthcheck"]["test"][0] == "CMD"
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    assert postgres["healthcheck"]["test"][1].startswith("pg_isready")
    assert set(compose["volumes"]) == {"signpost-data", "postgres-data"}


def unit_file() -> dict[str, list[str]]:
    """``Key=Value`` lines of the service file; a key may repeat, as systemd allows."""
    keys: dict[str, list[str]] = {}
    for line in (DEPLOY / "signpost.service").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def test_systemd_unit_reads_the_env_file_and_is_hardened():
    unit = unit_file()
    assert unit["EnvironmentFile"] == ["/etc/signpost/signpost.env"]
    assert unit["ExecStart"] == ["/opt/signpost/.venv/bin/signpost run"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["User"] == ["signpost"]
    assert unit["StateDirectory"] == ["signpost"]
    assert unit["WorkingDirectory"] == ["/var/lib/signpost"]
    assert unit["Environment"] == ["SIGNPOST_DATABASE_URL=sqlite:////var/lib/signpost/signpost.db"]
    for option in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "RestrictSUIDSGID"):
        assert unit[option] == ["yes"], option
    assert unit["ProtectSystem"] == ["strict"]


def dockerfile() -> list[str]:
    """Instructions with their continuation lines joined, comments dropped."""
    joined, current = [], ""
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        current += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if not line.endswith("\\"):
            if current:
                joined.append(current)
            current = ""
    return joined


def test_dockerfile_is_multi_stage_non_root_with_health_check():
    instructions = dockerfile()
    froms = [i for i in instructions if i.startswith("FROM ")]
    assert froms == ["FROM ${PYTHON_IMAGE} AS builder", "FROM ${PYTHON_IMAGE} AS runtime"]
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in instructions
    assert any("pip wheel --wheel-dir /wheels ." in i for i in instructions)
    assert any("from=builder" in i and "--no-index" in i for i in instructions)
    assert "USER signpost:signpost" in instructions
    assert 'VOLUME ["/data"]' in instructions
    env = next(i for i in instructions if i.startswith("ENV PATH="))
    assert "SIGNPOST_HEALTH_PORT=8080" in env
    assert 'SIGNPOST_DATABASE_URL="sqlite:////data/signpost.db"' in env
    assert instructions[-2:] == ['ENTRYPOINT ["signpost"]', 'CMD ["run"]']


LOCK = "requirements/runtime.txt"


def stage(name: str) -> list[str]:
    """The instructions of one stage of the Dockerfile, from its FROM line on."""
    found: dict[str, list[str]] = {}
    current = None
    for instruction in dockerfile():
        if instruction.startswith("FROM "):
            current = instruction.split()[-1]
        found.setdefault(current, []).append(instruction)
    return found[name]


def test_dockerfile_installs_the_runtime_lock_with_hashes_required():
    builder = stage("builder")
    assert f"COPY {LOCK} ./requirements/" in builder
    [download] = [i for i in builder if "pip download" in i]
    assert f"--require-hashes --only-binary=:all: --dest /wheels -r {LOCK}" in download
    [wheel] = [i for i in builder if "pip wheel" in i]
    assert wheel.endswith("pip wheel --wheel-dir /wheels . --no-deps")
    [install] = [i for i in stage("runtime") if "pip install" in i]
    assert f"--mount=type=bind,source={LOCK},target=/tmp/{LOCK}" in install
    steps = install.split(" && ")
    offline = "pip install --no-cache-dir --no-index --find-links /wheels"
    assert steps[1].endswith(f"{offline} --require-hashes -r /tmp/{LOCK}")
    assert steps[2].endswith(f"{offline} --no-deps signpost-bot")


def test_dockerfile_builder_copies_every_file_the_wheel_build_reads():
    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text(encoding="utf-8"))
    copied = " ".join(i for i in stage("builder") if i.startswith("COPY "))
    for name in [
        "pyproject.toml",
        project["project"]["readme"],
        *project["project"]["license-files"],
    ]:
        assert f" {name} " in copied, f"{name} is not copied into the builder"


def dockerignored(path: str) -> bool:
    """Whether .dockerignore leaves ``path`` out of the build context: a pattern matching the
    path or a folder above it excludes it, ``!`` takes it back, and the last match wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for raw in (DEPLOY.parent / ".dockerignore").read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        patterns = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_the_lock_and_the_build_files():
    assert dockerignored("tests/deploy/test_deploy_files.py")  # the matcher matches
    assert dockerignored("bot/__pycache__/app.cpython-311.pyc")
    for path in (LOCK, "requirements", "pyproject.toml", "README.md", "LICENSE", "bot/app.py"):
        assert not dockerignored(path), f".dockerignore leaves {path} out of the build context"


def health_commands() -> dict[str, list[str]]:
    """The health check commands of the Dockerfile and of compose, as argument lists."""
    check = next(i for i in dockerfile() if i.startswith("HEALTHCHECK "))
    docker = json.loads(check.partition(" CMD ")[2])
    line = next(line for line in compose_text().splitlines() if '"CMD", "python"' in line)
    compose = json.loads(line.partition("test:")[2])[1:]
    return {"Dockerfile": docker, "compose": compose}


@pytest.mark.parametrize("where", ["Dockerfile", "compose"])
async def test_container_health_check_passes_when_ready_and_fails_when_not(
    where, tmp_path, monkeypatch
):
    for alias in aliases():
        monkeypatch.delenv(alias, raising=False)
    command = health_commands()[where]
    assert command[0] == "python"
    store = Store.from_url(f"sqlite:///{tmp_path / 'signpost.db'}")
    await store.upgrade()
    settings = Settings(telegram_bot_token="123456789:AAHealthCheckTokenNotRealxxxxxxxxxx")
    runtime = await build_runtime(settings, store, offline=False, stop=asyncio.Event())
    server = await start_health_server(runtime, host="127.0.0.1", port=0)

    async def probe() -> int:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *command[1:],
            env={"SIGNPOST_HEALTH_PORT": str(server.port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return await asyncio.wait_for(process.wait(), 30)

    try:
        assert await probe() != 0  # Telegram is configured but not connected: 503
        runtime.connected["telegram"] = True
        assert await probe() == 0
    finally:
        await server()
        await runtime.http.aclose()
        await store.close()
    assert await probe() != 0  # nothing listening


def test_operator_guide_documents_every_metric_and_setting():
    from bot.ops.metrics import Metrics

    guide = (DEPLOY.parent / "docs" / "OPERATOR_GUIDE.md").read_text(encoding="utf-8")
    for family in Metrics().registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        assert f"`{name}`" in guide, f"{name} is not in the guide's metrics table"
    for alias in ("SIGNPOST_SOURCES_FILE", "SIGNPOST_LOG_FORMAT", "SIGNPOST_HEALTH_PORT"):
        assert alias in guide
