"""Small text helpers shared by answering and evaluation: terms, stems, answer normalisation."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "said",
        "says",
        "say",
        "according",
        "week",
        "weeks",
        "year",
        "years",
        "month",
        "day",
        "days",
        "today",
        "yesterday",
        "new",
        "one",
        "two",
        "many",
        "much",
        "last",
        "first",
        "next",
        "time",
        "recent",
        "recently",
        "reported",
        "report",
        "reports",
        "news",
        "announced",
        "per",
        "cent",
        "percent",
        "people",
        "would",
        "could",
        "also",
        "amid",
        "across",
        "among",
        "including",
    ]
)

QUESTION_WORDS = frozenset(["what", "which", "who", "whom", "whose", "where", "when", "why", "how"])

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")


@lru_cache(maxsize=1)
def stemmer():  # type: ignore[no-untyped-def]
    """The one English stemmer (PyStemmer's Snowball), shared by answering and the lexical index; None
    when PyStemmer is not installed."""
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:
        return None


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    s = stemmer()
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    return s.stemWord(w) if s else w.rstrip("s")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def content_terms(text: str) -> list[str]:
    """Stems of the words that carry meaning (no stopwords, no question words). A hyphenated word
    also gives its parts ("15-year-old" holds "old", "Russia-Ukraine" holds "Ukraine")."""
    out = []
    for t in tokens(text):
        low = t.lower().strip("'’-")
        parts = [low, *low.split("-")] if "-" in low else [low]
        for w in parts:
            if (len(w) < 2 and not w.isdigit()) or w in STOPWORDS or w in QUESTION_WORDS:
                continue
            out.append(stem(w))
    return out


def salient_terms(question: str) -> set[str]:
    """Names and numbers in a question (capitalised words not at the start, digits)."""
    out: set[str] = set()
    words = tokens(question)
    for i, w in enumerate(words):
        low = w.lower()
        if low in STOPWORDS or low in QUESTION_WORDS:
            continue
        if any(ch.isdigit() for ch in w) or (i > 0 and w[0].isupper()):
            out.add(stem(low))
    return out


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


HONORIFICS = r"\b(?:mr|mrs|ms|dr|prof|sen|rep|gov|gen|lt|col|sir|president|king|queen|prince|pope)\.?\s+"
_HONORIFIC = re.compile(HONORIFICS)
# "(…)" up to the first ")"; an opening bracket that is never closed runs to the end of the text and is
# kept (tried again from every later "(", the search for a ")" would be quadratic).
_PARENTHETICAL = re.compile(r"\([^)]*+(?:\)|\Z)")
_US = re.compile(r"\bu\.\s?s\.(?:\s?a\.)?")
_UK = re.compile(r"\bu\.\s?k\.")
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}\b)")
_QUOTE_MARKS = re.compile(r"[\"'`]")
# A possessive ending: "Kroger's" holds "Kroger", "the workers'" holds "workers" (on both sides).
_POSSESSIVE = re.compile(r"(?<=\w)'s\b|(?<=s)'(?!\w)")
_NOT_WORD = re.compile(r"[^\w\s]")
_LEADING_ARTICLE = re.compile(r"^\s*+(?:the|a|an)\s+")


def _drop_parenthetical(m: re.Match[str]) -> str:
    return " " if m.group(0).endswith(")") else m.group(0)


def normalize_answer(text: str, possessive: bool = True) -> str:
    """Normalisation for answer matching (as the RealTimeQA README describes): case, accents, quotes,
    "U.S."→"us", "1,000"→"1000", "%"→"percent", leading "the", honorifics, parentheticals; and
    possessive endings dropped ("Kroger's" → "kroger", "workers'" → "workers"), so that an answer
    is found in its possessive form. possessive=False: the metric before that (to compare figures)."""
    t = strip_accents(text).lower()
    t = t.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    t = _PARENTHETICAL.sub(_drop_parenthetical, t)
    t = _US.sub("us", t)
    t = _UK.sub("uk", t)
    t = _THOUSANDS_COMMA.sub("", t)
    t = t.replace("%", " percent")
    t = _HONORIFIC.sub(" ", t)
    if possessive:
        t = _POSSESSIVE.sub("", t)
    t = _QUOTE_MARKS.sub("", t)
    t = _NOT_WORD.sub(" ", t)
    t = _LEADING_ARTICLE.sub("", t)
    return " ".join(t.split())


def contains_answer(haystack: str, answer: str, possessive: bool = True) -> bool:
    """The normalised answer occurs, as whole words, in the normalised haystack. possessive: also
    when it holds only with possessive endings dropped (so the metric only gains on the one before:
    "Macys Inc" still holds "Macy's"); False: the metric before that."""

    def holds(poss: bool) -> bool:
        a = normalize_answer(answer, poss)
        return bool(a) and f" {a} " in f" {normalize_answer(haystack, poss)} "

    return holds(False) or (possessive and holds(True))


def plural(n: int, word: str, many: str = "") -> str:
    """ "1 chunk", "2 chunks", "1 entry", "3 entries" (many: the plural when it is not word + "s")."""
    if n == 1:
        return f"1 {word}"
    if not many:
        many = word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
    return f"{n:,} {many}"
