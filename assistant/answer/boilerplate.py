"""Sentences of a news article that are never an answer: bylines, credits, datelines standing alone,
timestamps and page furniture ("Advertisement", "Sign up for our newsletter", "All rights reserved").

``is_boilerplate(sentence)`` says whether a whole sentence is one of them; ``dateline_end(sentence)`` is
where a sentence's content starts after a leading dateline ("NEW YORK (AP) — ").

Conservative by design: a false positive hides a real answer. A byline is "By" and one to four
capitalised names ("and" more names) that end the sentence or are followed by a separator (",", "|",
a dash) and a tail in which every word is capitalised, a number, a date or time word or one of a few
byline words ("published", "staff writer"); "By Friday, the toll had risen to 80." has lowercase words
after its comma and is news. Credits, timestamps and "Reporting by …" lines are read the same way: a
fixed opening, then a tail of such words. Sentences over ``MAX_BOILERPLATE_CHARS`` are never
boilerplate.

Every pattern is linear on hostile text: each is anchored at the start of the sentence (or, for "All
rights reserved", fixed words), and every repetition is bounded or possessive.
"""

from __future__ import annotations

import re

MAX_BOILERPLATE_CHARS = 400

_UPPER = "A-ZÀ-ÖØ-Þ"
# A capitalised word of a name: "Jane", "DOE", "O'Neil", "J.", "Smith-Jones".
_NAME_WORD = rf"(?!(?:and|And|AND)\b)[{_UPPER}][\w'’.-]{{0,30}}+"
_PARTICLE = r"(?:de|la|le|van|von|der|den|da|del|di|du|dos|bin|al|el|ibn)"
_NAME = rf"{_NAME_WORD}(?:[ \t]++(?:{_PARTICLE}[ \t]++){{0,2}}+{_NAME_WORD}){{0,3}}+"
# Words that follow a prepositional "By": "By Friday", "By March", "By Christmas".
_NOT_A_NAME = (
    r"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|January|February|March|April|May|June|July|August"
    r"|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Christmas"
    r"|Easter|Thanksgiving|Then|Now|Noon|Midnight|Dawn|Nightfall|Contrast|Comparison|Law|Far)\b"
)
# "By Jane Doe", "By Jane Doe and John Roe", "By Jane Doe, John Roe and Ann Poe", "BY JANE DOE".
_BYLINE = re.compile(
    rf"\A(?:By|BY)[ \t]++(?!{_NOT_A_NAME}){_NAME}"
    rf"(?:(?:[ \t]*+,)?[ \t]++(?:and|AND|&)[ \t]++{_NAME}"
    rf"|[ \t]*+,[ \t]++{_NAME}(?=(?:[ \t]*+,)?[ \t]++(?:and|AND|&)[ \t])){{0,4}}+"
)
# What separates a byline's names from its publication or date.
# (A run of spaces is entered at its first space only: a search through it stays linear.)
_SEPARATOR = re.compile(r"(?!(?<=[ \t])[ \t])[ \t]*+(?:[,|/•·;]|[—–]|--?(?=[ \t]))[ \t]*+")
# "(AP Photo/Evan Vucci)", "Photo: Getty Images", "Photo by Jane Doe/Reuters", "Image credit: NASA".
_MEDIA = r"(?:Photo|Photograph|Image|Picture|Video|Graphic|Illustration)s?"
_PHOTO_CREDIT = re.compile(
    rf"\A[(\[]?[ \t]*+(?:(?!{_MEDIA}\b)[{_UPPER}][\w.&'’-]{{0,20}}+[ \t]++){{0,3}}+{_MEDIA}"
    rf"(?:[ \t]++(?:illustration|credit))?(?:[ \t]*+[/:]|[ \t]++by[ \t]++(?=[{_UPPER}@(])|[ \t]++courtesy\b)"
)
# "Reporting by Jane Doe; Editing by John Roe", "Additional reporting by …", "Writing by …".
_STAFF_CREDIT = re.compile(
    r"\A[(\[]?(?:Additional[ \t]++)?(?:Reporting|reporting|Writing|Editing|Compiled|Produced|Research"
    r"|Graphics|Translation|Translated|Fact-checking)[ \t]++by[ \t]++"
)
# "Contributing: Jane Doe, USA TODAY", "Credit: NASA", "Photo credit: …", "Contributing writers: …".
_LABEL = re.compile(
    r"\A(?:Contributing|Contributors?|Contributed[ \t]++by|(?:(?:Photo|Image|Video)[ \t]++)?Credits?)"
    r"(?:[ \t]++(?:writers?|reporters?|reporting|editors?))?[ \t]*+:"
)
# "Updated 5:02 PM EST, Fri December 1, 2023", "Published 3:14 p.m. ET Nov. 30, 2023", "Posted on …".
_TIMESTAMP = re.compile(
    r"\A(?:(?:Last[ \t]++)?(?:Updated|updated|Modified|modified)|(?:First[ \t]++|Originally[ \t]++)?Published"
    r"|Posted|UPDATED|PUBLISHED|POSTED)(?:[ \t]++(?:on|at))?[ \t]*+:?[ \t]*+"
)
# Page furniture, whole or at the start of a sentence.
_FURNITURE = re.compile(
    r"\A(?:(?:this[ \t]++)?ai[- ]?(?:assisted|generated|powered)[ \t]++summar"
    r"|this[ \t]++summary[ \t]++(?:was|is|has[ \t]++been)\b"
    r"|summary[ \t]++(?:was[ \t]++)?(?:generated|created|produced|written)[ \t]++(?:by|with|using)\b"
    r"|subscribe\b"
    r"|(?:click|tap)[ \t]++(?:here|below|on[ \t]++(?:the|this)|to[ \t]++(?:read|see|watch|sign|subscribe|learn))\b"
    r"|(?:read|see|watch|listen)[ \t]++(?:more|also)(?:[ \t]*+(?:[:…»›|]|\.\.\.)|[\W_]*+\Z"
    r"|[ \t]++(?:about|here|at|on|from|stories|news|coverage|photos|videos|articles)\b)"
    r"|(?:related(?:[ \t]++(?:coverage|stories|articles|content|reading))?|(?-i:MORE)|also[ \t]++read)[ \t]*+:"
    r"|follow[ \t]++us\b"
    r"|(?:advertisement|ad|sponsored(?:[ \t]++content)?|skip[ \t]++advertisement"
    r"|(?:story|article)[ \t]++continues[ \t]++(?:below|after[ \t]++(?:this[ \t]++)?(?:advertisement|ad))"
    r"(?:[ \t]++(?:this[ \t]++)?(?:advertisement|ad))?"
    r"|continue[ \t]++reading(?:[ \t]++(?:the[ \t]++)?(?:main[ \t]++)?(?:story|article))?)[\W_]*+\Z)",
    re.I,
)
_SIGN_UP = re.compile(r"\ASign[ \t]++up[ \t]++(?:for|to|here|now|today)\b", re.I)
_SIGN_UP_FOR = re.compile(r"\b(?:newsletters?|our|here|e-?mails?|inbox|alerts|free|briefing)\b", re.I)
_FOLLOW = re.compile(
    r"\AFollow[ \t]++(?:@|(?:[A-Z@][\w.@'’-]{0,30}+[ \t]++){1,4}+on[ \t]++"
    r"(?:Twitter|X|Facebook|Instagram|Threads|Bluesky|TikTok|LinkedIn|YouTube|Mastodon|Telegram)\b)"
)
_COPYRIGHT = re.compile(r"\A(?:©|\([cC]\)[ \t]*+\d{4}|Copyright[ \t]*+(?:©|\([cC]\)|\d{4}))")
_ALL_RIGHTS = re.compile(r"\bAll[ \t]++rights[ \t]++reserved\b", re.I)

# A leading dateline: an ALL-CAPS place ("WASHINGTON", "NEW YORK", "ST. LOUIS"), optionally ", Region"
# ("KYIV, Ukraine", "LONDON, Dec 1"), optionally a parenthesised agency or date ("(AP)"), then a dash;
# the content that follows starts with a capital, a digit or a quotation mark.
_PLACE_WORD = rf"[{_UPPER}](?:[{_UPPER}.'’]|-(?=[{_UPPER}])){{1,30}}+"
_REGION_WORD = rf"(?:[{_UPPER}][\w.'’-]{{0,30}}+|\d{{1,4}}+)"
_DATELINE = re.compile(
    rf"\A[ \t]*+{_PLACE_WORD}(?:[ \t]++{_PLACE_WORD}){{0,4}}+"
    rf"(?:,[ \t]++{_REGION_WORD}(?:[ \t]++{_REGION_WORD}){{0,3}}+)?"
    r"(?:[ \t]*+\([^()\n]{1,40}+\))?"
    r"(?:[ \t]*+(?:[—–]|--)|[ \t]++-(?=[ \t]|\Z))[ \t]*+"
    rf"(?=[{_UPPER}0-9\"“‘'(]|\Z)"
)

_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
_WEEKDAYS = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
    ]
)
_TIME_WORDS = (
    frozenset(
        [
            "a.m",
            "am",
            "p.m",
            "pm",
            "at",
            "on",
            "updated",
            "published",
            "posted",
            "modified",
            "last",
            "first",
            "originally",
            "and",
        ]
    )
    | frozenset(
        [
            "et",
            "est",
            "edt",
            "ct",
            "cst",
            "cdt",
            "mt",
            "mst",
            "mdt",
            "pt",
            "pst",
            "pdt",
            "gmt",
            "utc",
            "bst",
            "cet",
            "cest",
            "ist",
            "jst",
            "aest",
            "aedt",
        ]
    )
    | _MONTHS
    | _WEEKDAYS
)
_BYLINE_WORDS = _TIME_WORDS | frozenset(
    [
        "of",
        "the",
        "for",
        "in",
        "staff",
        "writer",
        "writers",
        "reporter",
        "reporters",
        "correspondent",
        "correspondents",
        "editor",
        "editors",
        "contributor",
        "contributors",
        "columnist",
        "news",
        "service",
        "network",
        "and",
        "&",
    ]
)
_CREDIT_WORDS = _BYLINE_WORDS | frozenset(
    [
        "by",
        "via",
        "from",
        "with",
        "courtesy",
        "file",
        "handout",
        "pool",
        "photo",
        "photos",
        "photograph",
        "image",
        "images",
        "video",
        "additional",
        "reporting",
        "writing",
        "editing",
        "compiled",
        "produced",
        "research",
        "graphics",
        "translation",
        "translated",
        "fact-checking",
    ]
)
_STRIP = ",.;:|/()[]{}—–-'\"“”‘’•·"


def is_boilerplate(sentence: str) -> bool:
    """Is the whole sentence a byline, a credit, a dateline standing alone, a timestamp or page
    furniture ("Advertisement", "Subscribe …", "All rights reserved")? Never for a sentence of over
    ``MAX_BOILERPLATE_CHARS`` characters."""
    s = sentence.strip().lstrip("*•·>|").lstrip()
    if not s or len(s) > MAX_BOILERPLATE_CHARS:
        return False
    if (
        _FURNITURE.match(s)
        or _FOLLOW.match(s)
        or _COPYRIGHT.match(s)
        or _LABEL.match(s)
        or _ALL_RIGHTS.search(s)
    ):
        return True
    if _SIGN_UP.match(s) and _SIGN_UP_FOR.search(s):
        return True
    if (end := dateline_end(s)) and end == len(s):
        return True
    if m := _TIMESTAMP.match(s):
        return _tail_of(s[m.end() :], _TIME_WORDS, capitalised=False)
    if m := _BYLINE.match(s):
        rest = s[m.end() :]
        if not rest.strip(" \t."):
            return True
        sep = _SEPARATOR.match(rest)
        return sep is not None and _tail_of(rest[sep.end() :], _BYLINE_WORDS)
    if m := _PHOTO_CREDIT.match(s) or _STAFF_CREDIT.match(s):
        return _tail_of(s[m.end() :], _CREDIT_WORDS)
    return False


def dateline_end(sentence: str) -> int:
    """Where the sentence's content starts after a leading dateline ("WASHINGTON — ", "NEW YORK (AP) — ",
    "KYIV, Ukraine (Reuters) - ", "LONDON, Dec 1 (Reuters) - "), or 0 when it has none. The place must be
    ALL CAPS and followed by a dash (—, –, or " - "); a sentence that is only a dateline gives its
    length."""
    m = _DATELINE.match(sentence)
    return m.end() if m else 0


def _tail_of(tail: str, vocabulary: frozenset[str], capitalised: bool = True) -> bool:
    """Is every word of the tail a number (or holds a digit: "5:02", "2026-12-01"), a month, a weekday,
    in the vocabulary or (when capitalised) capitalised? Without capitalised (a timestamp), the tail
    must also hold a digit, a month or a weekday."""
    words = [w for w in (raw.strip(_STRIP) for raw in tail.split()) if w and any(c.isalnum() for c in w)]
    if not words:
        return False
    dated = False
    for word in words:
        low = word.lower().rstrip(".")
        if any(c.isdigit() for c in word) or low in _MONTHS or low in _WEEKDAYS:
            dated = True
        elif not ((capitalised and word[0].isupper()) or low in vocabulary or word.lower() in vocabulary):
            return False
    return dated or capitalised
