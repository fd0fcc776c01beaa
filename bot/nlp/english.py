"""English words that point back in a conversation: "that one", "the previous one", "two months back".

Kept next to the English NLU (a second language gets a module of its own): the actions ask these
questions, never match English words themselves.
"""
from __future__ import annotations

import re

# "when was that due?", "has it been paid?", "this invoice": one thing already talked about.
_BACK_REFERENCE = re.compile(r"\b(that|it|this|the same)\b(?!\s+(?:month|year|week)s?\b)|\bthe (one|invoice|bill)\b", re.I)
SHORT_FOLLOW_UP_WORDS = 7
_PLURAL = re.compile(r"\b(all|every|each|my (bills|invoices)|them|they|those|these)\b", re.I)
_NUMBER_WORDS = {"one": 1, "a": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "2": 2, "3": 3, "4": 4,
                 "5": 5, "6": 6}
_STEPS_BACK = re.compile(r"\b(one|a|two|three|four|five|six|[2-6])\s+months?\s+(back|before|earlier|prior)\b", re.I)
_BEFORE_LAST = re.compile(r"\bthe\s+(one|month|invoice|bill)\s+before\s+last\b", re.I)
_PREVIOUS = re.compile(r"\b(previous|prior|preceding|earlier)\s+(one|invoice|bill|month)\b|\b(the\s+)?one\s+before\b|"
                       r"\bthe\s+month\s+before\b|\bbefore\s+that\b", re.I)
_NEXT = re.compile(r"\b(next|following|later)\s+(one|invoice|bill|month)\b|\b(the\s+)?one\s+after\b|\bafter\s+that\b",
                   re.I)


def refers_back(text: str) -> bool:
    """Does a short follow-up point at one thing already talked about ("when was that due?", not
    "what do I owe and when is it due?" nor "all my bills")?"""
    return len(text.split()) <= SHORT_FOLLOW_UP_WORDS and bool(_BACK_REFERENCE.search(text)) \
        and not _PLURAL.search(text)


def months_from_focus(text: str) -> int | None:
    """How many months from the invoice in focus the message points: -1 for "the previous one",
    -2 for "two months back", +1 for "the next one"; None when it points nowhere relative."""
    if m := _STEPS_BACK.search(text):
        return -_NUMBER_WORDS[m.group(1).lower()]
    if _BEFORE_LAST.search(text):
        return -2
    if _PREVIOUS.search(text):
        return -1
    if _NEXT.search(text):
        return 1
    return None


_ALL_INVOICES = re.compile(r"\b(all|every|list)\s+(?:of\s+)?(?:my|our|the)?\s*(invoices?|bills?)\b"
                           r"|\bwhich invoices do (i|we) have\b", re.I)


def asks_for_all_invoices(text: str) -> bool:
    """"show me every invoice I have", "list my invoices", "which invoices do I have"."""
    return bool(_ALL_INVOICES.search(text))


_NOT_SOLVED = re.compile(
    r"\b(not|never|isn'?t|hasn'?t|wasn'?t|didn'?t|doesn'?t|haven'?t|aren'?t)\s+(?:\w+\s+){0,2}"
    r"(fixed|solved|resolved|sorted|corrected|refunded|gone|changed|removed|reversed)\b"
    r"|\bstill\s+(?:\w+\s+)?(there|on|showing|charged|charging|here|the same|wrong|not|open|unpaid|suspended|blocked)\b"
    r"|\bnope\b|\bnot (yet|really|at all)\b|\bsame problem\b|\bno change\b", re.I)


def says_not_solved(text: str) -> bool:
    """Answering "is the problem solved?" in words: "the charge is still there", "it isn't fixed"."""
    return bool(_NOT_SOLVED.search(text))


# Words that say what is wrong with a charge, so a first message can carry the whole complaint.
_COMPLAINT = re.compile(r"\b(never|didn'?t|did not|not ordered|wrong|cancell?ed|overcharged|too (high|much)|"
                        r"more than (we )?agreed|don'?t recogni[sz]e|not ours)\b", re.I)
# The complaints the records can settle, by the words customers use (the charge-question's
# buttons send "I already paid this invoice", "I was charged twice" and "The total").
_SPECIAL_COMPLAINTS = [
    ("already_paid", re.compile(r"already paid|paid (it|this|that)|i paid|have paid|payment was made", re.I)),
    ("charged_twice", re.compile(r"twice|double|two times|duplicate", re.I)),
    ("whole_invoice", re.compile(r"\b(total|whole|entire|full amount)\b", re.I)),
]


def says_what_is_wrong(text: str) -> bool:
    """"we never ordered it", "it's more than we agreed": the message already is a complaint."""
    return bool(_COMPLAINT.search(text))


def special_complaint(text: str) -> str | None:
    """"already_paid", "charged_twice" or "whole_invoice" when the message says so."""
    return next((name for name, pattern in _SPECIAL_COMPLAINTS if pattern.search(text)), None)


_COMPARISON = re.compile(r"\b(than|compared|versus|vs\.?|since)\b", re.IGNORECASE)


def compares(text: str) -> bool:
    """"more than September", "compared with September": the month named is what to compare with.
    ("the bill from September" is September's bill, so "from" is not one.)"""
    return bool(_COMPARISON.search(text))


def mentioned_charge(text: str, descriptions: list[str]) -> str | None:
    """The line description the customer's message names, if any ("what is the bandwidth charge?")."""
    lowered = text.lower()
    for description in sorted(descriptions, key=len, reverse=True):
        words = [w for w in description.lower().split() if len(w) > 3]
        if description.lower() in lowered or (words and all(w in lowered for w in words)) \
                or any(w.rstrip("s") in lowered for w in words[:1]):
            return description
    return None


_ENGLISH = re.compile(r"\benglish\b", re.I)
_CHINESE = re.compile(r"\b(chinese|mandarin|putonghua|zhongwen)\b", re.I)


def named_language(text: str) -> str | None:
    """"English please" -> "en", "can we speak Chinese" -> "zh"."""
    if _CHINESE.search(text):
        return "zh"
    return "en" if _ENGLISH.search(text) else None


_SPECIAL_FAPIAO = re.compile(r"\b(special|zhuanpiao|input vat|deduct)", re.I)
_ORDINARY_FAPIAO = re.compile(r"\b(ordinary|normal|general fapiao|regular|pupiao)\b", re.I)
_TITLE = re.compile(r"\btitle\s*(?:is|should be|:)?\s*[\"“]?([^\"”\n]{2,80})", re.I)


def fapiao_type_named(text: str) -> str | None:
    """"a special VAT fapiao" -> "special", "an ordinary one" -> "ordinary"."""
    if _SPECIAL_FAPIAO.search(text):
        return "special"
    return "ordinary" if _ORDINARY_FAPIAO.search(text) else None


def fapiao_title(text: str) -> str | None:
    """"the title is Contoso Ltd" -> "Contoso Ltd"."""
    m = _TITLE.search(text)
    return m.group(1).strip(" .") if m else None


_TODAY = re.compile(r"\b(today|so far today|this morning|since midnight)\b", re.IGNORECASE)


def means_today(text: str) -> bool:
    """"what changed today?": only today's entries."""
    return bool(_TODAY.search(text))


_SCORE_WORDS = re.compile(r"\b(?:(one|two|three|four|five)\s*(?:stars?|out of (?:5|five)|/\s*5|points?)\b"
                          r"|(?:give|rate|rating|score)\s+(?:(?:it|you|her|him|them|the help|the agent|the chat)\s+)?(?:an?\s+|of\s+)?"
                          r"(one|two|three|four|five)\b)", re.I)
_SCORE_VALUES = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


_SCALE = re.compile(r"\b(?:out of|of)\s*(?:5|five)\b", re.I)


def without_scale(text: str) -> str:
    """"3 out of 5" is a 3: the scale is not a second score."""
    return _SCALE.sub(" ", text)


def scores_named(text: str) -> set[int]:
    """Satisfaction scores written as words: "I'd give it five", "four stars"."""
    return {_SCORE_VALUES[(before or after).lower()] for before, after in _SCORE_WORDS.findall(text)}

