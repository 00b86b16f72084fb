"""Which subscriptions want an opportunity, found through an index rather than a scan.

A subscription names *what* it is about (topics and keywords; both empty means anything)
and *filters* (kinds, funders, roles, minimum amount, excluded words), all of which must
hold. The index maps each topic, each keyword phrase, and — for subscriptions about
anything — each funder or kind to subscription ids, so one opportunity only looks at
subscriptions that share something with it before the full check runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.core.model import Opportunity, Subscription
from bot.core.textmatch import PhraseMatcher, normalise_words
from sources.funders import canonical_funder

ROLE_LABELS = {
    "vcse": "suits VCSE partners",
    "early_career": "suits early-career researchers",
    "established_researcher": "suits established researchers",
    "student": "suits students",
}
ANY = "*"


@dataclass(slots=True)
class Match:
    """A subscription that wants an opportunity, and why (for the alert's "why" line)."""

    subscription: Subscription
    reasons: list[str] = field(default_factory=list)

    @property
    def why(self) -> str:
        return " · ".join(self.reasons)


def _folded(values: Iterable[str]) -> list[str]:
    return [f for f in (normalise_words(v) for v in values) if f]


def _funder_key(name: str) -> str:
    return canonical_funder(name).casefold()


class SubscriptionIndex:
    """Built once per matching run from the active subscriptions; cheap to query."""

    def __init__(self, subscriptions: Iterable[Subscription], topic_labels: dict[str, str]):
        self.topic_labels = topic_labels
        self.subscriptions: dict[int, Subscription] = {}
        self._by_topic: dict[str, list[int]] = defaultdict(list)
        self._by_keyword: dict[str, list[int]] = defaultdict(list)
        self._by_funder: dict[str, list[int]] = defaultdict(list)
        self._by_kind: dict[str, list[int]] = defaultdict(list)
        self._excludes: dict[int, list[str]] = {}
        self._funders: dict[int, set[str]] = {}
        for sub in subscriptions:
            self._add(sub)
        phrases = {key: [key] for key in self._by_keyword}
        self._keyword_matcher = PhraseMatcher(phrases) if phrases else None
        exclusions = {w: [w] for words in self._excludes.values() for w in words}
        self._exclude_matcher = PhraseMatcher(exclusions) if exclusions else None

    def __len__(self) -> int:
        return len(self.subscriptions)

    def _add(self, sub: Subscription) -> None:
        assert sub.id is not None, "only stored subscriptions can be indexed"
        self.subscriptions[sub.id] = sub
        keywords = _folded(sub.keywords)
        for topic in sub.topics:
            self._by_topic[topic].append(sub.id)
        for word in keywords:
            self._by_keyword[word].append(sub.id)
        self._funders[sub.id] = {_funder_key(f) for f in sub.funders}
        if sub.exclude_keywords:
            self._excludes[sub.id] = _folded(sub.exclude_keywords)
        if not sub.topics and not keywords:
            if sub.funders:
                for funder in self._funders[sub.id]:
                    self._by_funder[funder].append(sub.id)
            else:
                for kind in sub.kinds or [ANY]:
                    self._by_kind[kind].append(sub.id)

    def match(self, item: Opportunity) -> list[Match]:
        """Every subscription that wants ``item``, each with its reasons, ordered by id."""
        if item.status == "closed":
            return []
        text = " ".join((item.title, item.summary, item.eligibility))
        keyword_hits = self._keyword_matcher.find(text) if self._keyword_matcher else {}
        excluded = set(self._exclude_matcher.find(text)) if self._exclude_matcher else set()
        funders = {_funder_key(f) for f in item.funders}

        candidates: set[int] = set()
        for topic in item.topics:
            candidates.update(self._by_topic.get(topic, ()))
        for word in keyword_hits:
            candidates.update(self._by_keyword.get(word, ()))
        for funder in funders:
            candidates.update(self._by_funder.get(funder, ()))
        candidates.update(self._by_kind.get(item.kind, ()))
        candidates.update(self._by_kind.get(ANY, ()))

        matches = []
        for sub_id in sorted(candidates):
            sub = self.subscriptions[sub_id]
            reasons = self._check(sub, item, keyword_hits, excluded, funders)
            if reasons is not None:
                matches.append(Match(sub, reasons))
        return matches

    def _check(
        self,
        sub: Subscription,
        item: Opportunity,
        keyword_hits: dict[str, list[str]],
        excluded: set[str],
        funders: set[str],
    ) -> list[str] | None:
        """The reasons ``sub`` wants ``item``, or None when a filter says no."""
        if sub.kinds and item.kind not in sub.kinds:
            return None
        wanted_funders = self._funders[sub.id]
        if wanted_funders and not wanted_funders & funders:
            return None
        if sub.roles and item.roles:
            offered = set(item.roles) | ({"vcse"} if "vcse_partner" in item.flags else set())
            if not offered & set(sub.roles):
                return None
        if sub.min_amount_pence and (item.best_amount_pence or 0) < sub.min_amount_pence:
            return None
        if any(word in excluded for word in self._excludes.get(sub.id, ())):
            return None
        topics = [t for t in sub.topics if t in item.topics]
        words = [w for w in _folded(sub.keywords) if w in keyword_hits]
        if (sub.topics or sub.keywords) and not (topics or words):
            return None
        reasons = [self.topic_labels.get(t, t) for t in topics]
        reasons += [f"“{w}”" for w in words]
        reasons += [canonical_funder(f) for f in item.funders if _funder_key(f) in wanted_funders]
        for role in sub.roles:
            if role in item.roles or (role == "vcse" and "vcse_partner" in item.flags):
                reasons.append(ROLE_LABELS.get(role, role))
        if "vcse_partner" in item.flags and "vcse" not in sub.roles:
            reasons.append("welcomes VCSE partners")
        if not reasons:
            reasons.append(f"all new {item.kind}s" if not sub.kinds else f"new {item.kind}")
        return reasons
