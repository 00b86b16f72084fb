"""``signpost glossary check``: every link fetched politely, dead and moved ones reported
(``bot/core/glossary_check.py`` and the CLI command), against the loopback fake website only."""

from __future__ import annotations

import json

import pytest

from bot.core.glossary_check import RedirectLog, check_links, same_page
from sources.http import Fetcher, build_http_client
from tests.core.test_glossary import entry
from tests.helpers.fake_website import FakeWebsite, refused_url


async def no_wait(_: float) -> None:
    return None


async def checked(site: FakeWebsite, links: dict[str, str]) -> dict[str, object]:
    """slug -> its report, for entries linking to ``links`` (slug -> path or full URL)."""
    entries = [
        entry(slug, url=target if target.startswith("http") else site.url(target))
        for slug, target in links.items()
    ]
    client = build_http_client("SignpostBot/test (+https://example.org/contact)")
    redirects = RedirectLog()
    redirects.attach(client)
    try:
        fetcher = Fetcher(client, min_gap=0.0, max_attempts=2, sleep=no_wait)
        reports = await check_links(entries, fetcher, redirects)
    finally:
        await client.aclose()
    return {slug: report for report in reports for slug in report.slugs}


# -- the verdicts ----------------------------------------------------------------------------


async def test_each_kind_of_link_gets_its_verdict():
    async with FakeWebsite() as site:
        site.robots("User-agent: *\nDisallow: /private\n")
        site.serve("/ok", "<p>FEC</p>")
        site.redirect("/slash", "/slash/", status=301)
        site.serve("/slash/", "<p>same page</p>")
        site.redirect("/old", "/new", status=301)
        site.serve("/new", "<p>moved here</p>")
        site.fail("/gone", 404)
        site.fail("/broken", 500)
        site.redirect("/old-dead", "/missing")
        site.serve("/guide.pdf", b"%PDF-1.7", content_type="application/pdf")
        site.serve("/private/page", "<p>secret</p>")
        found = await checked(
            site,
            {
                "ok": "/ok",
                "slash": "/slash",
                "old": "/old",
                "gone": "/gone",
                "broken": "/broken",
                "old-dead": "/old-dead",
                "pdf": "/guide.pdf",
                "private": "/private/page",
                "refused": refused_url("/nowhere"),
            },
        )
        assert {slug: r.state for slug, r in found.items()} == {
            "ok": "ok",
            "slash": "ok",  # only a trailing slash changed
            "old": "moved",
            "gone": "dead",
            "broken": "dead",
            "old-dead": "dead",
            "pdf": "ok",  # a link check does not care what kind of page it is
            "private": "not checked",
            "refused": "dead",
        }
        assert found["old"].final_url == site.url("/new") and found["old"].status == 200
        assert (found["gone"].status, found["broken"].status) == (404, 500)
        assert found["old-dead"].final_url == site.url("/missing")
        assert (
            found["refused"].status is None
            and "connection attempts failed" in found["refused"].detail
        )
        assert "robots.txt disallows" in found["private"].detail
        assert site.hits("/private/page") == []  # robots.txt was obeyed
        assert len(site.hits("/broken")) == 2  # retried once, not hammered


async def test_a_link_shared_by_several_entries_is_fetched_once():
    async with FakeWebsite() as site:
        site.serve("/shared", "<p>roles</p>")
        found = await checked(site, {"pi": "/shared", "co-pi": "/shared"})
        assert found["pi"] is found["co-pi"] and found["pi"].slugs == ("pi", "co-pi")
        assert len(site.hits("/shared")) == 1


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("https://www.ukri.org/a/", "https://ukri.org/a", True),
        ("http://ukri.org/a", "https://ukri.org/a/", True),
        ("https://ukri.org/a", "https://ukri.org/b", False),
        ("https://ukri.org/a?x=1", "https://ukri.org/a?x=2", False),
        ("https://ukri.org/a", "https://nihr.ac.uk/a", False),
    ],
)
def test_what_counts_as_the_same_page(first, second, same):
    assert same_page(first, second) is same


# -- the command -----------------------------------------------------------------------------


def glossary_file(tmp_path, links: dict[str, str]):
    path = tmp_path / "links.toml"
    tables = [
        f'[[terms]]\nslug = "{slug}"\nterm = "{slug}"\ngroup = "research"\n'
        f'definition = "A term."\nurl = "{url}"\n'
        for slug, url in links.items()
    ]
    path.write_text("\n".join(tables), encoding="utf-8")
    return path


def test_check_reports_dead_and_moved_links_as_json_and_fails(cli, site, tmp_path):
    site.serve("/ok", "<p>fine</p>")
    site.fail("/gone", 404)
    site.redirect("/old", "/new", status=301)
    site.serve("/new", "<p>new home</p>")
    links = {"fine": site.url("/ok"), "gone": site.url("/gone"), "old": site.url("/old")}
    result = cli("glossary", "check", "--json", "--file", str(glossary_file(tmp_path, links)))
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert (report["checked"], report["dead"], report["moved"]) == (3, 1, 1)
    states = {link["slugs"][0]: link for link in report["links"]}
    assert states["gone"]["state"] == "dead" and states["gone"]["status"] == 404
    assert states["old"]["state"] == "moved" and states["old"]["final_url"] == site.url("/new")
    assert states["fine"]["state"] == "ok"
    agent = site.hits("/ok")[0].headers["user-agent"]
    assert agent.startswith("SignpostBot/")  # it says who it is, as polling does


def test_check_with_every_link_alive_prints_a_table_and_succeeds(cli, site, tmp_path):
    site.serve("/ok", "<p>fine</p>")
    result = cli(
        "glossary", "check", "--file", str(glossary_file(tmp_path, {"f": site.url("/ok")}))
    )
    assert result.exit_code == 0, result.output
    assert "0 dead, 0 moved, 1 checked" in result.output


def test_check_arguments_are_validated(cli, tmp_path):
    assert cli("glossary", "co-PI", "--file", str(tmp_path / "x.toml")).exit_code == 2
    broken = tmp_path / "broken.toml"
    broken.write_text('[[terms]]\nslug = "x"\n')  # a file checked alone needs whole entries
    result = cli("glossary", "check", "--file", str(broken))
    assert result.exit_code == 2


# -- the console shows dated entries ---------------------------------------------------------


def test_the_console_shows_a_new_entry_with_its_as_of_line(cli):
    result = cli("glossary", "ICB")
    assert result.exit_code == 0
    assert "As of December 2026: this policy is changing, so check the link." in result.output
    new = cli("glossary", "letter of access")  # an alias of one of the 20 added terms
    assert new.exit_code == 0 and new.output.startswith("• research passport\n")
    assert "As of" not in new.output
