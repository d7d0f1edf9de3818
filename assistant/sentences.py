"""Sentence boundaries with character offsets: the one segmentation used for chunk boundaries, sentence
scoring, the extractive answerer, quotes and the claims of a model's answer.

Each line (paragraph) is split by sentencex (Wikimedia's rule-based segmenter, which knows news
abbreviations such as "Rep.", "U.S.", "Jan." or "No. 1" and initials such as "R. T. Vance"); the
spans are offsets into the text, so ``text[start:end]`` is always the sentence itself.

sentencex still splits inside some abbreviations ("Rep. Ana Silva, R-N." + "Y., said", "Ft." +
"Bragg", "9 a.m." + "Tuesday"), so a sentence is joined to the next one (``_joins``) when the split is
clearly inside an abbreviation:

- the next one starts with a comma, semicolon, colon or closing bracket (no sentence does);
- the first ends in a title that never ends a sentence ("Gov.", "Sen.", "Rep.", "Lt.", "Gen.",
  "Col.", "Sgt.", "Ft.", "Mt.", "Messrs." …; not "Dr." or "St.", which can be "Drive" or "Street",
  and which sentencex already judges from what follows);
- the first ends in an initial (a capital letter and a period after a non-letter: "R-N.", "D.") and
  the next starts with another ("Y., was", "C. on Friday");
- the first ends in "No.", "Nos." or a month abbreviation ("Jan." … "Sept." … "Dec.") and the next
  starts with a digit ("No. 1", "Jan. 6");
- the first ends in an abbreviation (a word with an inner period, "a.m.", "D.C.", a capitalised word,
  "Inc.", "Calif.", or a lowercase one such as "approx.") and the next starts with an all-lowercase
  word ("Vexa Inc." + "said"); a brand such as "iPhone" or "eBay" may start a sentence;
- the first ends in "a.m." or "p.m." and the next starts with a weekday, a time zone or a month and a
  day ("at 9 a.m. Tuesday", "5 p.m. ET"). Before any other capitalised word sentencex's split after
  a.m./p.m. stands ("It ended at 9 p.m. He left." is two), as after "U.S." ("… in the U.S. The firm …").

The segmenter takes quadratic time on some text (100 KB of opening quotation marks, "‘‘‘…" or "```…",
take 12 s), so it reads at most ``MAX_SEGMENT_CHARS`` characters at once. A longer line is read in
windows: each keeps the sentences that end in its first half (where the rest of the window closes the
quotations they open), and the next starts at the first sentence it did not keep. Only a sentence of
over 3/4 of a window comes out cut, at a space (chunking cuts sentences that long anyway). On the 917
dev articles the spans are those of whole lines; with each article joined into one line, 2.5% of the
sentences differ, where a quotation mark pairs with one over a thousand characters away. The joins
above are made within a window, before it is settled, so they hold across windows too.

Every pattern here is linear on hostile text: each reads one word or a bounded run (possessive
quantifiers, no nested repetition) and is tried at the start of a word only; the word before a split is
read from at most ``_LAST_WORD_CHARS`` characters.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LINE = re.compile(r"[^\n]+")
MAX_SEGMENT_CHARS = 2_000

# Titles that never end a sentence: a sentence that ends in one is joined to the next.
_TITLES = frozenset(
    [
        "Mr",
        "Mrs",
        "Ms",
        "Messrs",
        "Mmes",
        "Gov",
        "Govs",
        "Sen",
        "Sens",
        "Rep",
        "Reps",
        "Lt",
        "Gen",
        "Gens",
        "Col",
        "Sgt",
        "Maj",
        "Capt",
        "Cmdr",
        "Adm",
        "Brig",
        "Cpl",
        "Pvt",
        "Pfc",
        "Prof",
        "Rev",
        "Hon",
        "Msgr",
        "Supt",
        "Atty",
        "Insp",
        "Ft",
        "Mt",
    ]
)
# Abbreviations before a number: "No. 1", "Jan. 6".
_BEFORE_NUMBER = frozenset(
    [
        "No",
        "Nos",
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Sept",
        "Oct",
        "Nov",
        "Dec",
        "Art",
        "Vol",
        "Ch",
        "Sec",
        "Fig",
        "Rte",
        "Hwy",
        "Ste",
        "Apt",
        "p",
        "pp",
    ]
)
# Lowercase abbreviations before a lowercase word ("approx. ten"); "a.m." and the like have an inner period.
_LOWER_ABBREVIATIONS = frozenset(
    ["approx", "est", "etc", "al", "vs", "cf", "ft", "lb", "lbs", "oz", "mph", "sq", "yd"]
)
_LAST_WORD_CHARS = 24  # no abbreviation is longer: a longer last word is not one
_OPENERS = "\"'“‘([{«"
# What starts the next sentence: an all-lowercase word (not "iPhone"; tried at the start of a word only, so
# that a search through a long run of letters stays linear), an initial ("Y.,").
_LOWER_WORD = re.compile(r"(?<![^\W\d_])[a-z]++(?![^\W\d_])")
_INITIAL = re.compile(r"[A-Z]\.")
# After "a.m."/"p.m.": a weekday, a time zone, a month and a day.
_AFTER_TIME = re.compile(
    r"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|[ECMP][SD]?T|GMT|UTC|BST|CET)\b"
    r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}+\.?[ \t]{1,3}+\d"
)


@lru_cache(maxsize=1)
def _segment():  # type: ignore[no-untyped-def]
    from sentencex import segment

    return segment


def _trimmed(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _segmented(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """The sentences the segmenter finds in ``text[lo:hi]`` (part of one line), as offsets into text."""
    out: list[tuple[int, int]] = []
    cursor = lo
    for piece in _segment()("en", text[lo:hi]):
        core = piece.strip()
        if not core:
            continue
        s = text.find(core, cursor, hi)
        # the segmenter changed the text (it never should): keep the rest of the window whole
        s, e = (cursor, hi) if s < 0 else (s, s + len(core))
        s, e = _trimmed(text, s, e)
        if e > s:
            out.append((s, e))
        cursor = e
        if cursor >= hi:
            break
    return _joined(text, out)


def _joined(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans, each joined to the one before when the split between them is inside an abbreviation."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and not text[out[-1][1] : s].strip() and _joins(text, out[-1], s):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _last_word(text: str, s: int, e: int) -> str:
    """The last word of ``text[s:e]`` without the quotation marks or brackets that open it; "" when it
    is longer than any abbreviation."""
    lo = max(s, e - _LAST_WORD_CHARS)
    i = e
    while i > lo and not text[i - 1].isspace():
        i -= 1
    if i == lo > s and not text[i - 1].isspace():
        return ""
    return text[i:e].lstrip(_OPENERS)


def _joins(text: str, first: tuple[int, int], s: int) -> bool:
    """Is the split between the sentence ``first`` and the one starting at ``s`` inside an abbreviation?"""
    head = text[s]
    if head in ",;:)]}":
        return True
    word = _last_word(text, *first)
    if not word.endswith("."):
        return False
    stem = word[:-1]
    if stem in _TITLES:
        return True
    if head.isdigit():
        return stem in _BEFORE_NUMBER
    if head.isupper() and _INITIAL.match(text, s) and len(word) >= 2 and word[-2].isupper():
        return len(word) == 2 or not word[-3].isalnum()  # "D." or "R-N.", "W.E." + "Y."; not "AB."
    if head.islower() and _LOWER_WORD.match(text, s):
        return "." in stem or stem[:1].isupper() or stem in _LOWER_ABBREVIATIONS
    if stem.lower() in ("a.m", "p.m"):
        return _AFTER_TIME.match(text, s) is not None
    return False


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text[start:end]``, as offsets into ``text``; no span is
    empty or starts or ends with whitespace."""
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    for line in _LINE.finditer(text, start, end):
        lo, hi = line.span()
        while lo < hi:
            cut = min(hi, lo + MAX_SEGMENT_CHARS)
            spans = _segmented(text, lo, cut)
            if cut == hi or not spans:
                out += spans
                lo = cut
                continue
            keep, lo = _settled(text, spans, lo, cut)
            out += keep
    return out


def _settled(text: str, spans: list[tuple[int, int]], lo: int, cut: int) -> tuple[list[tuple[int, int]], int]:
    """(the sentences of a window of a longer line that more text would not change, where the next
    window starts, at least a quarter of a window further): the sentences that end in its first half
    (the rest of the window closes the quotations they open) and a longer one that starts in its first
    quarter and ends inside the window. A sentence that starts in the first quarter and runs to the
    window's end (over 3/4 of a window long) is cut at its last space in the second half."""
    half, quarter = lo + MAX_SEGMENT_CHARS // 2, lo + MAX_SEGMENT_CHARS // 4
    k = next((i for i, (_, e) in enumerate(spans) if e > half), len(spans))
    if k < len(spans) - 1 and (k == 0 or spans[k][0] < quarter):
        k += 1
    if k == len(spans):
        return spans, cut
    s, e = spans[k]
    if s >= quarter:
        return spans[:k], s
    space = max(text.rfind(" ", half, cut), text.rfind("\t", half, cut))
    split = space if space > s else cut
    s, e = _trimmed(text, s, min(e, split))
    return spans[:k] + ([(s, e)] if e > s else []), split
