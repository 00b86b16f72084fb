"""Fixtures for the fetcher tests (``test_http.py``, ``test_robots.py``): a loopback website,
a client with short timeouts, and a fetcher whose sleeps are recorded instead of slept."""

from __future__ import annotations

import httpx
import pytest

from sources.http import Fetcher, build_http_client, default_user_agent
from tests.helpers.fake_website import FakeWebsite

CONTACT = "https://example.org/signpost"


class Sleeps:
    """Stands in for asyncio.sleep between retries, remembering what it was asked."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
async def site():
    async with FakeWebsite() as website:
        yield website


@pytest.fixture
async def client():
    timeout = httpx.Timeout(0.5, connect=0.5)
    async with build_http_client(default_user_agent(CONTACT), timeout=timeout) as http:
        yield http


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fetcher(client, sleeps) -> Fetcher:
    return Fetcher(client, min_gap=0.0, sleep=sleeps)
