"""Synthetic but realistic data for the matching and search benchmarks, generated from a seed.

Opportunities borrow their words from real sources: the 122 UKRI Funding Finder titles and
funders of the reconstructed March 2025 listing, and the phrases and synonyms of the topic
taxonomy, combined by a few title and summary templates of the kinds funders write
("Programme grants: peer support", "This funding supports projects that improve ..."). About
two in five are off-topic research calls (a real UKRI title and a generic summary), as in a
real feed, where most calls are not about mental health at all.

Subscriptions follow what the bot's two ways of subscribing produce: mostly the guided flow
(1-3 topics, a role or none, a mode), then one-line subscriptions with keywords, funders,
kinds, minimum amounts and excluded words; a few chats follow everything. Topic popularity
falls off along the taxonomy's order (mental health first), Zipf-like.

Everything is drawn from ``random.Random(seed)`` over lists (never sets), so the same seed
gives the same data in every process (for the same taxonomy, tagger and UKRI snapshot, which
the data is made from). Rows are plain dicts for SQLAlchemy core
``insert(table)`` executemany, with explicit ids, inserted in one transaction.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from bench._distributions import (
    AUDIENCES,
    CHAT_KINDS,
    EXCLUDES,
    KEYWORD_COUNTS,
    KINDS,
    MODES,
    NOW,
    ON_TOPIC_FUNDERS,
    OUTCOMES,
    PLATFORMS,
    RARE_RATE,
    RARE_WORDS,
    ROLES,
    SCHEMES,
    SEED,
    SETTINGS,
    SHAPES,
    STATUSES,
    SUB_FUNDERS,
    SUB_KINDS,
    SUBS_PER_CHAT,
    TOPIC_COUNTS,
    USER_KEYWORDS,
    Weighted,
    seed_words,
    topic_weights,
    ukri_seeds,
    vocabulary,
)
from bot.core.model import Opportunity
from bot.core.tagging import enrich


class Generator:
    """Opportunities and subscriptions from one seeded stream each."""

    def __init__(self, seed: int = SEED) -> None:
        self.seed = seed
        self.taxonomy = vocabulary().taxonomy
        self.topics = topic_weights(self.taxonomy)
        self.seeds = ukri_seeds()
        self.words = seed_words()

    # ------------------------------------------------------------------ opportunities
    def _topic_slugs(self, rng: random.Random) -> list[str]:
        count = TOPIC_COUNTS.draw(rng)
        slugs: list[str] = []
        while len(slugs) < count:
            slug = self.topics.draw(rng)
            if slug not in slugs:
                slugs.append(slug)
        return slugs

    def _phrase(self, rng: random.Random, slug: str) -> str:
        topic = self.taxonomy.get(slug)
        assert topic is not None
        return rng.choice(topic.phrases + topic.synonyms)

    def _on_topic(self, rng: random.Random, slugs: list[str], seed_title: str) -> tuple[str, str]:
        p = self._phrase(rng, slugs[0])
        q = self._phrase(rng, slugs[-1])
        scheme, setting = rng.choice(SCHEMES), rng.choice(SETTINGS)
        audience, funder = rng.choice(AUDIENCES), ON_TOPIC_FUNDERS.draw(rng)
        title = rng.choice(
            (
                f"{scheme}: {p}",
                f"{p} research {scheme.lower()}",
                f"Improving {p} for {audience}",
                f"{p} and {q}: {seed_title}",
                f"{seed_title} ({p})",
                f"Understanding {p} in {setting}",
                f"{funder} {scheme.lower()} in {p}",
                f"Community fund for {p} projects in {setting}",
            )
        )
        sentences = [
            f"This funding supports projects that improve {p} for {audience} in {setting}.",
            rng.choice(
                (
                    f"We want applications that bring researchers and {audience} together "
                    f"to address {q}.",
                    f"Projects should build evidence on {q} and {rng.choice(OUTCOMES)}.",
                    f"The programme focuses on {q}, {self._phrase(rng, rng.choice(slugs))} "
                    f"and {rng.choice(OUTCOMES)}.",
                )
            ),
        ]
        sentences += self._common_sentences(rng, funder, seed_title)
        return title[0].upper() + title[1:], " ".join(sentences)

    def _off_topic(self, rng: random.Random, seed_title: str, funder: str) -> tuple[str, str]:
        a, b, c = rng.sample(self.words, 3)
        title = rng.choice(
            (
                seed_title,
                f"{seed_title}: round {rng.randint(2, 12)}",
                f"{seed_title} {rng.choice((2025, 2026))}",
                f"{rng.choice(SCHEMES)}: {a} and {b}",
            )
        )
        sentences = [
            f"{seed_title}.",
            f"This opportunity funds work on {a} {b} through "
            f"{rng.choice(SCHEMES).lower()}, including {c}.",
        ]
        sentences += self._common_sentences(rng, funder, seed_title)
        return title, " ".join(sentences)

    def _common_sentences(self, rng: random.Random, funder: str, seed_title: str) -> list[str]:
        out = []
        roll = rng.random()
        if roll < 0.2:
            out.append("Charities and community groups can apply as lead organisations.")
        elif roll < 0.3:
            out.append("Projects must include a charity partner as a co-applicant.")
        elif roll < 0.6:
            out.append(
                f"Applicants must be based at a UK research organisation eligible for "
                f"{funder} funding."
            )
        if rng.random() < 0.2:
            out.append("Early career researchers are particularly encouraged to apply.")
        if rng.random() < 0.15:
            out.append("People with lived experience should be involved from the outset.")
        if rng.random() < 0.5:
            amount = rng.choice((10, 25, 50, 100, 250, 500, 1000, 2500))
            out.append(
                f"You can apply for up to £{amount},000 for up to {rng.randint(1, 5)} years."
            )
        if rng.random() < 0.3:
            out.append(f"The call is part of {seed_title.casefold()}.")
        if rng.random() < RARE_RATE:
            out.append(f"Work on {rng.choice(RARE_WORDS)} is also in scope.")
        return out

    def opportunity(
        self, rng: random.Random, n: int, *, statuses: Weighted = STATUSES
    ) -> Opportunity:
        """One opportunity, tagged as the pipeline would tag it, its status drawn from
        ``statuses`` (by default 35% closed, 50% open, 15% upcoming: a table after years)."""
        seed_title, seed_funders, seed_fund = rng.choice(self.seeds)
        on_topic = rng.random() < 0.6
        if on_topic:
            slugs = self._topic_slugs(rng)
            funders = [ON_TOPIC_FUNDERS.draw(rng)]
            title, summary = self._on_topic(rng, slugs, seed_title)
        else:
            funders = list(seed_funders)
            title, summary = self._off_topic(rng, seed_title, funders[0])
        kind = KINDS.draw(rng)
        status = statuses.draw(rng)
        if status == "closed":
            closes = NOW - timedelta(days=rng.randint(1, 900))
        elif status == "open":
            closes = NOW + timedelta(days=rng.randint(1, 180))
        else:
            closes = NOW + timedelta(days=rng.randint(60, 240))
        opens = closes - timedelta(days=rng.randint(30, 120))
        fund = seed_fund or rng.choice((5, 25, 100, 500, 2000)) * 100_000_00
        source = rng.choice(("ukri", "nihr", "tnlcf", "mrc-feed", "nsun-feed"))
        item = Opportunity(
            source=source,
            external_id=f"bench-{n}",
            url=f"https://funder.example/{source}/opportunity/{n}/",
            title=title,
            kind=kind,
            status=status,
            funders=funders,
            opens_at=opens,
            closes_at=closes,
            published_at=opens - timedelta(days=14),
            total_fund_pence=fund,
            award_max_pence=fund // rng.choice((1, 5, 20)),
            summary=summary,
        )
        return enrich(item, self.taxonomy)

    def opportunities(
        self, count: int, *, statuses: Weighted = STATUSES, salt: int = 0
    ) -> list[Opportunity]:
        rng = random.Random(self.seed * 7 + salt)
        return [self.opportunity(rng, n, statuses=statuses) for n in range(1, count + 1)]

    # ------------------------------------------------------------------ subscriptions
    def _keyword(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.45:
            return self._phrase(rng, self.topics.draw(rng))
        if roll < 0.8:
            return rng.choice(USER_KEYWORDS)
        return rng.choice(self.words)

    def subscription(self, rng: random.Random) -> dict[str, Any]:
        """The fields of one subscription (not ids or timestamps)."""
        sub: dict[str, Any] = {
            "topics": [],
            "keywords": [],
            "exclude_keywords": [],
            "roles": [],
            "kinds": [],
            "funders": [],
            "min_amount_pence": None,
            "mode": MODES.draw(rng),
        }
        shape = SHAPES.draw(rng)
        if shape in ("guided", "topics+words", "topics+funders"):
            sub["topics"] = self._topic_slugs(rng)
            if shape == "topics+words":
                sub["topics"] = sub["topics"][:2]
        if shape in ("topics+words", "words"):
            for _ in range(KEYWORD_COUNTS.draw(rng)):
                word = self._keyword(rng)
                if word not in sub["keywords"]:
                    sub["keywords"].append(word)
        if shape in ("funders", "topics+funders"):
            sub["funders"] = [SUB_FUNDERS.draw(rng)]
            if rng.random() < 0.25:
                other = SUB_FUNDERS.draw(rng)
                if other not in sub["funders"]:
                    sub["funders"].append(other)
        role = ROLES.draw(rng)
        if role and shape != "everything":
            sub["roles"] = [role]
        if rng.random() < 0.15 or shape == "everything":
            sub["kinds"] = list(SUB_KINDS.draw(rng))
            if shape == "everything" and rng.random() < 0.3:
                sub["kinds"] = []
        if shape != "guided" and rng.random() < 0.12:
            sub["exclude_keywords"] = [rng.choice(EXCLUDES)]
        if shape != "guided" and rng.random() < 0.15:
            sub["min_amount_pence"] = rng.choice((10_000, 50_000, 100_000, 250_000)) * 100
        return sub

    def chats_and_subscriptions(
        self, count: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``count`` subscription rows spread over chats (most chats have one), as rows.

        About 3% of chats are paused (blocked the bot, left the channel), so a full read of
        active subscriptions returns a little under ``count``.
        """
        rng = random.Random(self.seed * 11)
        chats: list[dict[str, Any]] = []
        subs: list[dict[str, Any]] = []
        while len(subs) < count:
            chat_id = len(chats) + 1
            platform = PLATFORMS.draw(rng)
            active = rng.random() >= 0.03
            created = NOW - timedelta(minutes=rng.randint(0, 500_000))
            chats.append(
                {
                    "id": chat_id,
                    "platform": platform,
                    "platform_chat_id": str(10_000_000 + chat_id),
                    "thread_id": "",
                    "kind": CHAT_KINDS.draw(rng),
                    "title": None,
                    "timezone": "Europe/London",
                    "glossary_in_alerts": True,
                    "term_of_week": rng.random() < 0.2,
                    "active": active,
                    "paused_reason": None if active else "blocked by the user",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            per_chat = SUBS_PER_CHAT.draw(rng)
            for _ in range(min(per_chat, count - len(subs))):
                sub = self.subscription(rng)
                sub.update(
                    id=len(subs) + 1,
                    chat_id=chat_id,
                    digest_hour=9,
                    digest_weekday=0,
                    reminder_days=[14, 3],
                    created_at=created,
                    updated_at=created,
                )
                subs.append(sub)
        return chats, subs
