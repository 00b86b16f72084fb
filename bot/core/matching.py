"""Which subscriptions want an opportunity, found through an index rather than a scan.

A subscription names *what* it is about (topics and keywords; both empty means anything)
and *filters* (kinds, funders, roles, minimum amount, excluded words), all of which must
hold. The index maps each topic, each keyword phrase, and — for subscriptions about
anything — each funder or kind to subscription ids, so one opportunity only looks at
subscriptions that share something with it before the full check runs.

Most subscriptions are *simple*: topics, perhaps narrowed by role or kind, nothing else.
Those with the same topics, kinds and roles form one bucket, checked once per opportunity
with its reasons built once, so a popular topic followed by thousands of chats costs one
check, not thousands. ``match_groups`` returns such groups; ``match`` spells them out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from bot.core.model import Opportunity, Subscription
from bot.core.textmatch import PhraseMatcher, normalise_words
from sources.funders import canonical_funder, funder_keys, funder_matches

ROLE_LABELS = {
    "vcse": "suits VCSE partners",
    "early_career": "suits early-career researchers",
    "established_researcher": "suits established researchers",
    "student": "suits students",
}
ANY = "*"
PLURALS = {"call": "calls", "internship": "internships", "event": "events", "news": "news items"}


# Funder names repeat endlessly across subscriptions and items; both functions are pure.
_canonical = lru_cache(maxsize=8192)(canonical_funder)


@lru_cache(maxsize=65536)
def _follows(subscription_funder: str, funders: tuple[str, ...]) -> bool:
    return funder_matches(subscription_funder, funders)


@dataclass(slots=True)
class _Bucket:
    """Simple subscriptions sharing topics, kinds and roles: one check serves them all."""

    topics: tuple[str, ...]
    kinds: tuple[str, ...]
    roles: tuple[str, ...]
    subscriptions: list[Subscription] = field(default_factory=list)


def _is_simple(sub: Subscription) -> bool:
    return bool(sub.topics) and not (
        sub.keywords or sub.funders or sub.min_amount_pence or sub.exclude_keywords
    )


@dataclass(slots=True)
class Match:
    """A subscription that wants an opportunity, and why (for the alert's "why" line)."""

    subscription: Subscription
    reasons: list[str] = field(default_factory=list)

    @property
    def why(self) -> str:
        return " · ".join(self.reasons)


def _folded(values: Iterable[str]) -> dict[str, str]:
    """Folded form -> the words as the user typed them (shown back in "why" lines)."""
    folded: dict[str, str] = {}
    for value in values:
        key = normalise_words(value)
        if key:
            folded.setdefault(key, value.strip())
    return folded


class SubscriptionIndex:
    """Built once per matching run from the active subscriptions; cheap to query."""

    def __init__(self, subscriptions: Iterable[Subscription], topic_labels: dict[str, str]):
        self.topic_labels = topic_labels
        self.subscriptions: dict[int, Subscription] = {}
        self._by_topic: dict[str, list[int]] = defaultdict(list)
        self._by_keyword: dict[str, list[int]] = defaultdict(list)
        self._by_funder: dict[str, list[int]] = defaultdict(list)
        self._by_kind: dict[str, list[int]] = defaultdict(list)
        self._excludes: dict[int, dict[str, str]] = {}
        self._keywords: dict[int, dict[str, str]] = {}
        self._phrases: dict[str, list[str]] = {}
        self._buckets: dict[tuple, _Bucket] = {}
        self._shapes: dict[tuple, int] = {}
        self._members: dict[int, list[Subscription]] = {}
        self._buckets_by_topic: dict[str, list[_Bucket]] = defaultdict(list)
        for sub in subscriptions:
            self._add(sub)
        # Matchers get the phrases as typed (so "co-production" still finds "coproduction"),
        # filed under their folded form, which is what subscriptions are indexed by.
        self._keyword_matcher = PhraseMatcher(self._phrases) if self._phrases else None
        exclusions: dict[str, list[str]] = {}
        for words in self._excludes.values():
            for key, typed in words.items():
                exclusions.setdefault(key, []).append(typed)
        self._exclude_matcher = PhraseMatcher(exclusions) if exclusions else None

    def __len__(self) -> int:
        return len(self.subscriptions)

    def _add(self, sub: Subscription) -> None:
        assert sub.id is not None, "only stored subscriptions can be indexed"
        self.subscriptions[sub.id] = sub
        if _is_simple(sub):
            # Topics keep the subscriber's order: the "why" line lists them that way.
            key = (
                tuple(dict.fromkeys(sub.topics)),
                tuple(sorted(sub.kinds)),
                tuple(sorted(sub.roles)),
            )
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(*key)
                for topic in bucket.topics:
                    self._buckets_by_topic[topic].append(bucket)
            bucket.subscriptions.append(sub)
            return
        # Identical subscriptions (many chats asking the same thing) share one check.
        shape = (
            tuple(sub.topics),
            tuple(sub.keywords),
            tuple(sub.exclude_keywords),
            tuple(sorted(sub.kinds)),
            tuple(sorted(sub.roles)),
            tuple(sub.funders),
            sub.min_amount_pence,
        )
        first = self._shapes.get(shape)
        if first is not None:
            self._members[first].append(sub)
            return
        self._shapes[shape] = sub.id
        self._members[sub.id] = [sub]
        keywords = self._keywords[sub.id] = _folded(sub.keywords)
        for topic in sub.topics:
            self._by_topic[topic].append(sub.id)
        for key, typed in keywords.items():
            self._by_keyword[key].append(sub.id)
            if typed not in self._phrases.setdefault(key, []):
                self._phrases[key].append(typed)
        if sub.exclude_keywords:
            self._excludes[sub.id] = _folded(sub.exclude_keywords)
        if not sub.topics and not keywords:
            if sub.funders:
                for key in {k for f in sub.funders for k in funder_keys(f)}:
                    self._by_funder[key].append(sub.id)
            else:
                for kind in sub.kinds or [ANY]:
                    self._by_kind[kind].append(sub.id)

    def match(self, item: Opportunity) -> list[Match]:
        """Every subscription that wants ``item``, each with its reasons, ordered by id."""
        matches = [Match(sub, reasons) for subs, reasons in self.match_groups(item) for sub in subs]
        matches.sort(key=lambda m: m.subscription.id)
        return matches

    def match_groups(self, item: Opportunity) -> list[tuple[list[Subscription], list[str]]]:
        """Subscriptions that want ``item``, in groups sharing one list of reasons (which
        callers must not change). The cheap form for fan-outs to thousands of chats."""
        if item.status == "closed":
            return []
        groups = self._simple_groups(item)
        text = " ".join((item.title, item.summary, item.eligibility))
        keyword_hits = self._keyword_matcher.find(text) if self._keyword_matcher else {}
        excluded = set(self._exclude_matcher.find(text)) if self._exclude_matcher else set()
        funders = {k for f in item.funders for k in funder_keys(f, as_funder_of_item=True)}

        candidates: set[int] = set()
        for topic in item.topics:
            candidates.update(self._by_topic.get(topic, ()))
        for word in keyword_hits:
            candidates.update(self._by_keyword.get(word, ()))
        for funder in funders:
            candidates.update(self._by_funder.get(funder, ()))
        candidates.update(self._by_kind.get(item.kind, ()))
        candidates.update(self._by_kind.get(ANY, ()))
        for sub_id in sorted(candidates):
            sub = self.subscriptions[sub_id]
            reasons = self._check(sub, item, keyword_hits, excluded)
            if reasons is not None:
                groups.append((self._members[sub_id], reasons))
        return groups

    def _simple_groups(self, item: Opportunity) -> list[tuple[list[Subscription], list[str]]]:
        groups = []
        seen: set[int] = set()
        offered = set(item.roles) | ({"vcse"} if "vcse_partner" in item.flags else set())
        for topic in item.topics:
            for bucket in self._buckets_by_topic.get(topic, ()):
                if id(bucket) in seen:
                    continue
                seen.add(id(bucket))
                if bucket.kinds and item.kind not in bucket.kinds:
                    continue
                if bucket.roles and item.roles and not offered & set(bucket.roles):
                    continue
                topics = [t for t in bucket.topics if t in item.topics]
                reasons = self._reasons(item, topics, [], [], bucket.roles, bucket.kinds)
                groups.append((bucket.subscriptions, reasons))
        return groups

    def _check(
        self,
        sub: Subscription,
        item: Opportunity,
        keyword_hits: dict[str, list[str]],
        excluded: set[str],
    ) -> list[str] | None:
        """The reasons ``sub`` wants ``item``, or None when a filter says no."""
        if sub.kinds and item.kind not in sub.kinds:
            return None
        item_funders = tuple(item.funders)
        followed = [f for f in sub.funders if _follows(f, item_funders)]
        if sub.funders and not followed:
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
        words = [typed for key, typed in self._keywords[sub.id].items() if key in keyword_hits]
        if (sub.topics or sub.keywords) and not (topics or words):
            return None
        return self._reasons(item, topics, words, followed, sub.roles, sub.kinds)

    def _reasons(self, item: Opportunity, topics, words, followed, roles, kinds) -> list[str]:
        """ "mental health · MRC · suits VCSE partners": what the alert's "why" line says."""
        reasons = [self.topic_labels.get(t, t) for t in topics]
        reasons += [f"“{w}”" for w in words]
        reasons += [_canonical(f) for f in followed]
        for role in roles:
            if role in item.roles or (role == "vcse" and "vcse_partner" in item.flags):
                reasons.append(ROLE_LABELS.get(role, role))
        if "vcse_partner" in item.flags and "vcse" not in roles:
            reasons.append("welcomes VCSE partners")
        if not reasons:
            if kinds:
                reasons.append("new " + ("news item" if item.kind == "news" else item.kind))
            else:
                reasons.append(f"all new {PLURALS.get(item.kind, item.kind)}")
        return reasons
