"""Tagging cues: the word lists the role and flag reader looks for, by kind of cue.

They are data, kept apart from the reading rules in :mod:`bot.core.tagging_roles`, so that
tuning precision by vocabulary (a new applicant type, a phrase that must not count as a
partner) is an edit here that leaves the rules untouched. Phrases are folded like text
(:mod:`bot.core.textmatch`), so a singular covers its plural.
"""

from __future__ import annotations

__all__ = ["CUES"]

# Each key is a kind of cue; every phrase is plain words, folded like any other text.
# Kept as compact word lists (one cue kind per block) rather than one phrase per line.
# fmt: off
CUES: dict[str, tuple[str, ...]] = {
    "vcse": (
        "charity", "charitable organisation", "charitable trust", "registered charity",
        "community organisation", "community group", "voluntary organisation", "voluntary sector",
        "voluntary and community sector", "voluntary and community organisation", "VCSE", "VCS",
        "VCSE organisation", "third sector", "third sector organisation", "social enterprise",
        "not-for-profit", "non-profit", "grassroots", "faith group", "faith-based organisation",
        "CIC", "CIO", "civil society organisation", "NGO", "non-governmental organisation",
        "local charity", "small charity", "grass roots organisation", "grass roots group",
        "community-led organisation", "community led group",
    ),
    "vcse_strong": (
        "led by and for", "by and for", "community interest company",
        "charitable incorporated organisation", "constituted group", "unincorporated association",
        "community benefit society", "grassroots group", "user-led organisation",
    ),
    "eligibility": (
        "eligible", "eligibility", "apply", "applying", "applicant", "application from", "open to",
        "available to", "aimed at", "who can apply", "must be", "you must", "must have", "led by",
        "lead", "leading", "grant for", "funding for", "fund for", "we fund", "we will fund",
        "we support", "support", "supporting", "ring-fenced for", "invite application",
        "welcome application", "suitable for", "designed for", "based in", "grant of up to",
        "grants of between",
    ),
    "partner_before": (
        "partner", "partnership", "partnering", "in partnership", "collaborate", "collaborating",
        "collaboration", "collaborative", "collaborator", "co-applicant", "co-investigator",
        "co-lead", "working with", "work with", "worked with", "work closely with", "together with",
        "alongside", "involve", "involving", "involvement", "engage", "engaging", "engagement",
        "co-produce", "co-produced", "co-production", "co-producing", "co-design", "co-designed",
        "jointly with", "joint application", "consortium", "consortia", "must include",
        "should include", "team including", "link with", "non-academic", "stakeholder",
    ),
    "partner_after": (
        "partner", "partnership", "co-applicant", "co-investigator", "collaborator", "co-lead",
    ),
    "negation": (
        "not", "cannot", "cant", "unable", "ineligible", "excluded", "excluding", "except", "never",
        "no longer", "dont", "doesnt", "isnt", "arent", "wont", "nor", "neither",
    ),
    "clause_break": (
        "but", "however", "whereas", "although", "though",
    ),
    "mask": (
        "not limited to", "but not limited", "but also", "not only", "whether or not", "if not",
        "intimate partner", "former partner", "abusive partner", "partner violence",
        "partner abuse", "charity number", "registered charity no", "charity registration number",
        "student mental health", "student wellbeing", "student support service", "no closing date",
    ),
    "early_career": (
        "early-career", "ECR", "early-stage researcher", "post-doctoral", "postdoc", "first grant",
        "new investigator", "newly independent", "emerging researcher", "junior researcher",
        "career development award", "career development fellowship", "transition to independence",
        "first independent",
    ),
    "established": (
        "principal investigator", "senior lecturer", "senior researcher", "senior research fellow",
        "senior fellowship", "established researcher", "established investigator",
        "established academic", "mid-career", "experienced researcher", "research leader",
        "senior investigator",
    ),
    "institution": (
        "research organisation", "higher education institution", "HEI", "university",
        "research institute", "IRO", "eligible for UKRI funding", "academic institution",
    ),
    # Words for students that also turn up in research about students ("a survey of
    # undergraduates"): they count only with an eligibility cue, as a bare VCSE mention does.
    "student": (
        "PhD student", "PhD candidate", "doctoral student", "doctoral candidate",
        "doctoral researcher", "postgraduate researcher", "postgraduate student",
        "master's student", "master's degree", "MSc", "MRes", "undergraduate",
        "recent graduate", "young professional", "student", "school leaver",
    ),
    # Words that only ever name an opportunity for students.
    "student_strong": (
        "studentship", "PhD scholarship", "PhD position", "PhD opportunity", "PhD funding",
        "internship", "intern", "summer placement", "placement student", "work placement",
        "placement year", "industrial placement", "graduate scheme", "graduate programme",
        "graduate trainee", "pre-doctoral", "apprenticeship", "apprentice",
    ),
    "lived_experience": (
        "lived-experience", "living experience", "experts by experience", "service user",
        "survivor user", "survivor researcher", "survivor-led", "user-led", "peer researcher",
        "led by and for", "co-production", "co-produced", "co-produce", "co-producing",
        "personal experience of", "first-hand experience",
    ),
    "invite_only": (
        "invite-only", "invitation only", "by invitation", "invited applicant", "only invited",
        "been invited", "must be invited", "open to invited", "invited organisation",
        "on invitation", "upon invitation",
    ),
    "pre_announcement": (
        "pre-announcement", "pre-call announcement",
    ),
    # The funder's own words for a call that stays open: only these set no_closing_date.
    "no_deadline": (
        "no closing date", "no deadline", "no fixed deadline", "no fixed closing date",
        "no set deadline", "no application deadline", "open all year", "all year round",
        "open year-round", "rolling basis", "rolling programme", "rolling application",
        "rolling deadline", "rolling call", "rolling fund", "rolling scheme",
        "open rolling", "apply at any time", "application at any time",
        "accepted at any time", "made at any time", "submitted at any time", "open-ended",
        "ongoing basis", "open until further notice", "always open", "no end date",
        "continuously open",
    ),
}
# fmt: on
