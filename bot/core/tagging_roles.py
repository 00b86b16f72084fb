"""Tagging roles and flags: whom an opportunity suits and what to flag, read from its text.

A module apart from :mod:`bot.core.tagging` (topics and the public ``tag``) because it is a
different reader: a topic is a count of phrase hits per field, while a role or flag needs
each sentence read for its cues (:mod:`bot.core.tagging_cues`) with clauses, negation and
partnership in view. Precision comes first, as in the rest of tagging.

**Roles** come from what the text says about *who may apply*, read sentence by sentence
and clause by clause (clauses split at "but", "however"...):

* ``vcse``: charities, community groups, social enterprises, CICs... named as eligible or as
  leads. A bare mention counts in the eligibility text; in the title or summary it needs an
  eligibility cue in the same clause ("open to", "grants for", "can apply"), except for
  terms that only ever describe applicants ("led by and for", "constituted group").
* ``student``: "studentship", "internship", "PhD funding"... name an opportunity for
  students wherever they are; the words that also name the subject of research
  ("students", "undergraduates") count, like a bare VCSE mention, only in the eligibility
  text or with an eligibility cue ("open to students", "for PhD students").
* ``early_career``, ``established_researcher``: their own vocabularies; an
  institutional requirement alone ("a UK research organisation") counts as established only
  when nothing says early career or student, since fellowships for early-career people are
  hosted by research organisations too.

**Negation** is handled simply: a clause holding "not", "cannot", "ineligible", "except"...
gives no role and no flag ("Charities are not eligible" gives nothing). Known limit: the
negation covers the whole clause, so "Universities are not eligible and charities can
apply" loses the charity role; phrasing with "but" ("...not eligible, but charities can
apply") is read correctly.

**Flags.** ``vcse_partner`` when a VCSE organisation is named as a partner, co-applicant or
collaborator: a partnership cue within a few words before it ("in partnership with
community groups", "project partners can include charities") or a partner noun after it
("a charity partner"), or a sentence like "Charities cannot lead but can be project
partners". ``lived_experience`` for lived experience, experts by experience, service users,
survivor- or user-led work, co-production; not for "patient and public involvement" alone,
which NIHR asks of every application. ``invite_only`` for "invite only", "by invitation",
"have been invited" (not "full proposals will be invited", which is an ordinary second
stage). ``pre_announcement`` for UKRI pre-announcements. ``no_closing_date`` only when the
funder says so: the source read it from the funder's own field (UKRI's "Open - no closing
date"), or the call's text says "no closing date", "open all year", "on a rolling basis",
"apply at any time"... A date the source did not find is not a funder saying there is none
(feeds rarely carry dates), and "to be confirmed" (``closing_date_tbc``) or a known date
clears the flag: "not announced yet" and "open-ended" are different things to a reader
planning a bid. Other flags already on the item are kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from bot.core.model import Opportunity
from bot.core.tagging_cues import CUES
from bot.core.textmatch import Match, PhraseMatcher

__all__ = ["roles_and_flags"]

PARTNER_BEFORE = 8
PARTNER_AFTER = 8

_ROLE_KEYS = {
    "early_career": "early_career",
    "student": "student",
    "student_strong": "student",
    "established": "established_researcher",
}
_TERM_KEYS = (
    "vcse",
    "vcse_strong",
    "early_career",
    "established",
    "institution",
    "student",
    "student_strong",
)
_PHD = frozenset({"phd", "doctorate", "doctoral", "dphil"})
_YEARS_LIMIT_BEFORE = frozenset({"within", "than", "under", "up"})
_YEARS_LIMIT_AFTER = frozenset({"since", "after", "post", "from"})

_CUE_MATCHER = PhraseMatcher(CUES)


def _overlaps(match: Match, spans: Sequence[Match]) -> bool:
    return any(match.start < other.end and other.start < match.end for other in spans)


def _years_since_phd(words: Sequence[str]) -> bool:
    """ "within five years of your PhD", "no more than 4 years since PhD", "2 years post-PhD"."""
    for i, word in enumerate(words):
        if word != "year":
            continue
        after = words[i + 1 : i + 6]
        if not _PHD.intersection(after):
            continue
        if _YEARS_LIMIT_BEFORE.intersection(words[max(0, i - 4) : i]):
            return True
        if _YEARS_LIMIT_AFTER.intersection(after[:2]):
            return True
    return False


class _Sentence:
    """One sentence's cues, with its clauses and which of them are negated."""

    def __init__(self, words: list[str], cues: Iterable[Match]) -> None:
        self.words = words
        self.by_key: dict[str, list[Match]] = defaultdict(list)
        for match in cues:
            self.by_key[match.key].append(match)
        masks = self.by_key["mask"]
        terms = [m for key in (*_TERM_KEYS, "lived_experience") for m in self.by_key[key]]
        breaks = [m.start for m in self.by_key["clause_break"] if not _overlaps(m, masks)]
        self._bounds = sorted(breaks)
        self.negated = {
            self.clause(m.start)
            for m in self.by_key["negation"]
            if not _overlaps(m, masks) and not _overlaps(m, terms)
        }
        self.eligible = {self.clause(m.start) for m in self.by_key["eligibility"]}
        self._before = [m for m in self.by_key["partner_before"] if not _overlaps(m, masks)]
        self._after = [m for m in self.by_key["partner_after"] if not _overlaps(m, masks)]
        self._masks = masks

    def clause(self, position: int) -> int:
        return sum(1 for bound in self._bounds if bound <= position)

    def masked(self, match: Match) -> bool:
        return _overlaps(match, self._masks)

    def _no_cue_between(self, start: int, end: int) -> bool:
        return not any(start <= m.start < end for m in self.by_key["eligibility"])

    def partnered(self, match: Match) -> bool:
        """Whether ``match`` names a partner rather than an applicant."""
        before = any(
            0 <= match.start - cue.end <= PARTNER_BEFORE
            and self._no_cue_between(cue.end, match.start)
            for cue in self._before
        )
        return before or any(
            0 <= cue.start - match.end <= PARTNER_AFTER
            and self._no_cue_between(match.end, cue.start)
            for cue in self._after
        )

    def addressed(self, match: Match) -> bool:
        """Whether the clause of ``match`` says who may apply ("open to", "for PhD students")."""
        return (
            self.clause(match.start) in self.eligible
            or "for" in self.words[max(0, match.start - 2) : match.start]
        )

    def partner_cue_in(self, clause: int) -> bool:
        return any(self.clause(m.start) == clause for m in (*self._before, *self._after))


class _Reader:
    """Collects roles and flags over an opportunity's fields."""

    def __init__(self) -> None:
        self.roles: set[str] = set()
        self.flags: set[str] = set()
        self.institution = False
        self.stays_open = False
        self.evidence: dict[str, list[str]] = defaultdict(list)

    def note(self, tag: str, phrase: str) -> None:
        if phrase not in self.evidence[tag]:
            self.evidence[tag].append(phrase)

    def read(self, sentences: Iterable[list[str]], *, eligibility: bool) -> None:
        for words in sentences:
            cues = _CUE_MATCHER.scan(words)
            if not cues and "year" not in words:
                continue
            sentence = _Sentence(words, cues)
            self._vcse(sentence, eligibility=eligibility)
            self._other_roles(sentence, eligibility=eligibility)
            self._flags(sentence)

    def _vcse(self, sentence: _Sentence, *, eligibility: bool) -> None:
        for match in (*sentence.by_key["vcse"], *sentence.by_key["vcse_strong"]):
            if sentence.masked(match):
                continue
            clause = sentence.clause(match.start)
            negated = clause in sentence.negated
            if sentence.partnered(match):
                if not negated:
                    self.flags.add("vcse_partner")
                    self.note("flag:vcse_partner", match.phrase)
            elif negated:
                # "Charities are not eligible to lead, but can be project partners."
                if sentence.partner_cue_in(clause + 1):
                    self.flags.add("vcse_partner")
                    self.note("flag:vcse_partner", match.phrase)
            elif match.key == "vcse_strong" or eligibility or clause in sentence.eligible:
                self.roles.add("vcse")
                self.note("role:vcse", match.phrase)

    def _other_roles(self, sentence: _Sentence, *, eligibility: bool) -> None:
        for key in ("early_career", "student", "student_strong", "established", "institution"):
            for match in sentence.by_key[key]:
                if (
                    sentence.masked(match)
                    or sentence.clause(match.start) in sentence.negated
                    or sentence.partnered(match)
                ):
                    continue
                if key == "student" and not (eligibility or sentence.addressed(match)):
                    continue
                if key == "institution":
                    self.institution = True
                    self.note("role:established_researcher", match.phrase)
                else:
                    self.roles.add(_ROLE_KEYS[key])
                    self.note(f"role:{_ROLE_KEYS[key]}", match.phrase)
        if _years_since_phd(sentence.words) and not sentence.negated:
            self.roles.add("early_career")
            self.note("role:early_career", "within years of PhD")

    def _flags(self, sentence: _Sentence) -> None:
        for key in ("lived_experience", "invite_only"):
            for match in sentence.by_key[key]:
                if sentence.masked(match) or sentence.clause(match.start) in sentence.negated:
                    continue
                self.flags.add(key)
                self.note(f"flag:{key}", match.phrase)
        for match in sentence.by_key["pre_announcement"]:
            self.flags.add("pre_announcement")
            self.note("flag:pre_announcement", match.phrase)
        for match in sentence.by_key["no_deadline"]:
            # "no closing date" is also a mask (its "no" must not negate anything else),
            # so only negation, not masking, is checked here.
            if sentence.clause(match.start) not in sentence.negated:
                self.stays_open = True
                self.note("flag:no_closing_date", match.phrase)


def roles_and_flags(
    opportunity: Opportunity,
    title: Iterable[list[str]],
    summary: Iterable[list[str]],
    eligibility: Iterable[list[str]],
) -> tuple[set[str], set[str], dict[str, list[str]]]:
    """The roles and flags ``opportunity`` should carry (its own ones included), and the
    phrases behind each inferred one, from the folded sentences of its three fields."""
    reader = _Reader()
    reader.read(title, eligibility=False)
    reader.read(summary, eligibility=False)
    reader.read(eligibility, eligibility=True)
    roles = set(opportunity.roles) | reader.roles
    if opportunity.kind == "internship":
        roles.add("student")
    if reader.institution and not roles & {"early_career", "student"}:
        roles.add("established_researcher")
    elif "established_researcher" not in roles:
        reader.evidence.pop("role:established_researcher", None)

    flags = set(opportunity.flags) | reader.flags
    # The flag says the funder has no closing date: set by the source from the funder's own
    # field ("Open - no closing date") or here from its words, never from a missing date.
    if opportunity.closes_at is not None or "closing_date_tbc" in flags:
        flags.discard("no_closing_date")
    elif opportunity.kind == "call" and reader.stays_open:
        flags.add("no_closing_date")
    if "no_closing_date" not in flags:
        reader.evidence.pop("flag:no_closing_date", None)
    return roles, flags, reader.evidence
