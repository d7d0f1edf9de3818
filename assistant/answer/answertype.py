"""What kind of answer a question asks for (a year, a percentage, an amount of money, a count, a date, a US
state, a country, a name) and whether a sentence holds one that the question does not already mention.

Rules and short word lists only (no tagger ships offline); used as one feature of sentence scoring. The
question patterns are general wordings of a kind ("in what year", "how many", "which state", "which
country"), none written around one question.
"""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.dates import MONTH_NAMES, WEEKDAY_NAMES
from assistant.textutil import stem, tokens

US_STATES = (
    "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii Idaho "
    "Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota "
    "Mississippi Missouri Montana Nebraska Nevada New_Hampshire New_Jersey New_Mexico New_York "
    "North_Carolina North_Dakota Ohio Oklahoma Oregon Pennsylvania Rhode_Island South_Carolina South_Dakota "
    "Tennessee Texas Utah Vermont Virginia Washington West_Virginia Wisconsin Wyoming"
)

COUNTRIES = (
    "Afghanistan Albania Algeria Andorra Angola Argentina Armenia Australia Austria Azerbaijan Bahamas "
    "Bahrain Bangladesh Barbados Belarus Belgium Belize Benin Bhutan Bolivia Bosnia Botswana Brazil Brunei "
    "Bulgaria Burkina_Faso Burundi Cambodia Cameroon Canada Chad Chile China Colombia Congo Costa_Rica "
    "Croatia Cuba Cyprus Czech_Republic Czechia Denmark Djibouti Dominican_Republic Ecuador Egypt "
    "El_Salvador England Eritrea Estonia Eswatini Ethiopia Fiji Finland France Gabon Gambia Georgia Germany "
    "Ghana Greece Guatemala Guinea Guyana Haiti Honduras Hungary Iceland India Indonesia Iran Iraq Ireland "
    "Israel Italy Ivory_Coast Jamaica Japan Jordan Kazakhstan Kenya Kosovo Kuwait Kyrgyzstan Laos Latvia "
    "Lebanon Lesotho Liberia Libya Liechtenstein Lithuania Luxembourg Madagascar Malawi Malaysia Maldives "
    "Mali Malta Mauritania Mauritius Mexico Moldova Monaco Mongolia Montenegro Morocco Mozambique Myanmar "
    "Namibia Nepal Netherlands New_Zealand Nicaragua Niger Nigeria North_Korea North_Macedonia Norway Oman "
    "Pakistan Palestine Panama Papua_New_Guinea Paraguay Peru Philippines Poland Portugal Qatar Romania "
    "Russia Rwanda Saudi_Arabia Scotland Senegal Serbia Sierra_Leone Singapore Slovakia Slovenia Somalia "
    "South_Africa South_Korea South_Sudan Spain Sri_Lanka Sudan Suriname Sweden Switzerland Syria Taiwan "
    "Tajikistan Tanzania Thailand Togo Tunisia Turkey Turkmenistan Uganda Ukraine United_Arab_Emirates "
    "United_Kingdom United_States Uruguay Uzbekistan Venezuela Vietnam Wales Yemen Zambia Zimbabwe"
)

NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fifteen|twenty|thirty|forty|"
    r"fifty|sixty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|dozen|dozens|half"
)
MONTHS = "|".join(MONTH_NAMES)
WEEKDAYS = "|".join(WEEKDAY_NAMES)

# Question patterns, most specific first.
KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("year", re.compile(r"\b(?:what|which|in what) year\b|\bwhat decade\b", re.I)),
    ("percent", re.compile(r"\bpercent(?:age)?\b|\bwhat (?:share|proportion|rate)\b", re.I)),
    (
        "money",
        re.compile(
            r"\bhow much (?:money|did|does|do|will|would|is|was|are|were|has|have)\b|\bwhat (?:price|sum)\b",
            re.I,
        ),
    ),
    (
        "count",
        re.compile(r"\bhow many\b|\bwhat number\b|\bhow (?:old|long|far|big|large|high|tall|much)\b", re.I),
    ),
    ("date", re.compile(r"\bwhen\b|\bwhat (?:date|day|month)\b|\bon what day\b", re.I)),
    ("state", re.compile(r"\b(?:which|what) (?:u\.?s\.? )?state\b", re.I)),
    ("country", re.compile(r"\b(?:which|what) (?:country|nation)\b", re.I)),
    (
        "name",
        re.compile(
            r"\bwho\b|\bwhom\b|\bwhose\b|\bwhere\b|\bwhich\b"
            r"|\bwhat (?:is the name|company|country|city|state|team|airline|brand|organization|group)\b",
            re.I,
        ),
    ),
]

_YEAR = r"(?:1[5-9]\d\d|20\d\d)"
_CALENDAR = rf"(?:{MONTHS}|{WEEKDAYS})"
YEAR = re.compile(rf"\b{_YEAR}s?\b")
# A number is read from the start of its run of digits, commas and points only (a match tried from every
# digit of a long run would be quadratic); the run's leading "," or "." is part of the match, and
# holds_kind strips it.
_NUMBER_RUN = r"(?<![\d,.])[,.]*+"
PERCENT = re.compile(_NUMBER_RUN + r"\d(?:[,.]*+\d)*+\s?(?:%|percent\b|per cent\b)", re.I)
MONEY = re.compile(
    r"[$€£¥]\s?\d[\d,.]*(?:\s?(?:million|billion|trillion|bn|m|k)\b)?"
    # "\b\d": after a letter ("x1,000 dollars") a number starts after a comma or point (the match
    # holds the whole run, "1,000 dollars")
    rf"|{_NUMBER_RUN}(?:(?<!\w)|\d++[,.])[,.]*+\d[\d,.]*+\s?(?:million |billion |trillion )?"
    r"(?:dollars|euros|pounds|yen|yuan)\b",
    re.I,
)
CALENDAR = re.compile(_CALENDAR, re.I)
COUNT = re.compile(rf"\b\d[\d,.]*\b|\b(?:{NUMBER_WORDS})\b", re.I)
DATE = re.compile(
    rf"\b{_CALENDAR}\b|\b{_YEAR}\b"
    r"|\b(?:today|yesterday|tomorrow|tonight|(?:last|next|this) (?:week|month|year|weekend))\b",
    re.I,
)


def _gazetteer(names: str) -> re.Pattern[str]:
    """Space-separated names ("_" joins the words of one name) → one pattern, longest names first."""
    alts = sorted((n.replace("_", r"\s++") for n in names.split()), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alts) + r")\b")


STATE = _gazetteer(US_STATES)
COUNTRY = _gazetteer(COUNTRIES)
MATCHERS: dict[str, re.Pattern[str]] = {
    "year": YEAR,
    "percent": PERCENT,
    "money": MONEY,
    "count": COUNT,
    "date": DATE,
    "state": STATE,
    "country": COUNTRY,
}


_SPACES_COMMAS = re.compile(r"[\s,]+")


def _norm(s: str) -> str:
    return _SPACES_COMMAS.sub(" ", s.lower()).strip()


# The most characters of a question read: far beyond any question (the UI refuses more than 2,000). The
# patterns are linear; this bounds what one oversized question (CLI, API) can cost all the same.
MAX_QUESTION_CHARS = 20_000


@lru_cache(maxsize=1024)
def _asked(question: str) -> tuple[str, str]:
    """(the kind of answer asked for, the question normalised for "already mentioned" checks), computed
    once per question: sentence scoring calls holds_kind for every sentence of every candidate."""
    question = question[:MAX_QUESTION_CHARS]
    kind = next((kind for kind, pattern in KINDS if pattern.search(question)), "other")
    return kind, _norm(question)


def expected_kind(question: str) -> str:
    return _asked(question)[0]


def holds_kind(question: str, sentence: str, q_terms: set[str]) -> float:
    """1.0 when the sentence holds something of the kind asked for that the question does not mention,
    0.0 when it holds nothing of that kind, 0.5 when the question's kind is unknown and the sentence says
    little beyond the question."""
    kind, q = _asked(question)
    if kind in MATCHERS:
        found = {_norm(m.group(0).lstrip(",.")) for m in MATCHERS[kind].finditer(sentence)}
        return 1.0 if any(f not in q for f in found) else 0.0
    words = tokens(sentence)
    if kind == "name":
        new_names = [
            w
            for i, w in enumerate(words)
            if i > 0 and w[0].isupper() and stem(w.lower()) not in q_terms and not CALENDAR.fullmatch(w)
        ]
        return 1.0 if new_names else 0.0
    new_terms = {stem(w.lower()) for w in words} - q_terms
    return 1.0 if len(new_terms) >= 3 else 0.5


# A name (a capitalised word) or a number: what two reports of one answer share. Linear: one pass.
_NAME_OR_NUMBER = re.compile(r"\b[A-Z][\w'-]*+|\d[\d,.]*+")


def names_and_numbers(text: str) -> set[str]:
    """The capitalised words and numbers of a text, lowercased (the first character is skipped: a
    sentence's opening capital says nothing)."""
    return {m.group(0).strip(",.").lower() for m in _NAME_OR_NUMBER.finditer(text[:MAX_QUESTION_CHARS], 1)}
