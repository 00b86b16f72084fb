"""Tagging: which topics an opportunity is about, whom it suits, and what to flag.

Precision comes first. A wrong tag sends an alert nobody asked for, and the people reading
these alerts (charity staff, researchers) stop trusting a bot after a few of those; a missed
tag is usually caught by the item's other tags or by a keyword subscription. So:

**Topics.** A topic is given when the *title* holds any of its phrases, or the *body*
(summary and eligibility) holds one of its *strong* phrases ("schizophrenia", "social
prescribing"), or at least two hits of its ordinary phrases ("anxiety" ... "depression").
A single passing mention in a long body ("including mental health") is not enough: funders'
pages list many areas in passing. Each hit is first checked against the words around it
(another sense of the word, no health or care context, a negation, a list of groups): see
:mod:`bot.core.tagging_topics`. Topics already on the item (from the source's
configuration) are kept, and a configured name that the taxonomy knows by another slug
("co-production") also gets the taxonomy's slug.

**Roles and flags** are read by :mod:`bot.core.tagging_roles` (its docstring gives their
rules, and why they live apart) from the cue lists in :mod:`bot.core.tagging_cues`. This
module holds the topic rule and the public entry points: import ``tag``, ``enrich`` and
``Tags`` from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.core.model import Opportunity
from bot.core.tagging_cues import CUES
from bot.core.tagging_roles import roles_and_flags
from bot.core.tagging_topics import BODY_HITS, topics_of
from bot.core.taxonomy import Taxonomy
from bot.core.textmatch import sentence_tokens

__all__ = ["BODY_HITS", "CUES", "Tags", "enrich", "tag"]


@dataclass(frozen=True, slots=True)
class Tags:
    """Sorted, unique tags, and the phrases behind each inferred one (for explaining)."""

    topics: list[str]
    roles: list[str]
    flags: list[str]
    evidence: dict[str, list[str]] = field(default_factory=dict, compare=False)


# ---------------------------------------------------------------------- topics
def _configured(topics: Iterable[str], taxonomy: Taxonomy) -> set[str]:
    """Configured topics, plus the taxonomy slug for any the taxonomy knows by a name."""
    kept = set(topics)
    for topic in list(kept):
        if topic not in taxonomy:
            kept.update(taxonomy.resolve(topic))
    return kept


# ---------------------------------------------------------------------- public
def tag(opportunity: Opportunity, taxonomy: Taxonomy) -> Tags:
    """The topics, roles and flags ``opportunity`` should carry (its own ones included)."""
    title = sentence_tokens(opportunity.title)
    summary = sentence_tokens(opportunity.summary)
    eligibility = sentence_tokens(opportunity.eligibility)
    found, evidence = topics_of(
        opportunity.title, (opportunity.summary, opportunity.eligibility), taxonomy
    )
    topics = _configured(opportunity.topics, taxonomy) | found

    roles, flags, found = roles_and_flags(opportunity, title, summary, eligibility)
    evidence.update(found)
    return Tags(sorted(topics), sorted(roles), sorted(flags), evidence)


def enrich(opportunity: Opportunity, taxonomy: Taxonomy) -> Opportunity:
    """Set ``opportunity``'s topics, roles and flags in place from :func:`tag`; return it."""
    tags = tag(opportunity, taxonomy)
    opportunity.topics = tags.topics
    opportunity.roles = tags.roles
    opportunity.flags = tags.flags
    return opportunity
