"""Whether a question is a follow-up: it is only when it cannot stand alone:
- it opens with a conjunction or asks "what about …" ("and what did Zelenskiy say?", "and Biden?");
- a pronoun has nothing in the question it could stand for ("What did he say?", "Which asteroid did it
  hit?", but not "Actor Brannon Vale retired. He is best remembered for…" or "Which shipping firm said it
  would…");
- it ends on "it", "that", "there"… ("What did Zelenskiy say about it?", "When was that?"), a
  demonstrative is the subject of its verb ("What did that mean?") or points back ("How much is that
  deal worth?"), or it asks for "the same" or "else";
- it names nothing of its own: no name, no number and at most two content words ("Why?", "For how
  long?", "What was the final score?").
A question that names its own subject is left exactly as typed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import accumulate

from assistant.sentences import sentence_spans
from assistant.textutil import QUESTION_WORDS, STOPWORDS, tokens

Turn = tuple[str, str]  # (role, text): role is "user" or "assistant"


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Every run of spaces (or of non-word characters) in these patterns is taken whole ("\s++", "\W*+"):
# a word follows it, so no match needs part of one, and a failed match gives nothing back.
OPENS_WITH_ELLIPSIS = re.compile(
    r"^\W*+(?:and|but|also|or|so|then|plus)\b|^\W*+(?:what|how)\s++about\b|^\W*+(?:what|who|where|when)\s++else\b",
    re.I,
)
PERSON = _set("he she him his her hers himself herself")
GROUP = _set("they them their theirs themselves")
THING = _set("it its itself")
POSSESSIVE = _set("his her their its")
ENDING = _set("it that this these those there them")
AUX = _set(
    "is was are were be been am do does did has have had will would can could should may might must shall"
)
DETERMINERS = _set(
    "the a an this that these those which what whose some many several all both each every any his her their "
    "its our my your no other another one two three four five six seven eight nine ten dozens hundreds"
)
TIME_NOUNS = _set(
    "week weekend year month morning afternoon evening night summer winter spring fall autumn season time past "
    "upcoming coming day days century decade quarter"
)
# Words for people that a "he"/"she" can stand for ("Which actor said he…").
PERSON_NOUNS = _set(
    "man woman men women boy girl person people child children actor actress singer rapper musician artist "
    "player star athlete coach president minister leader ceo founder author writer novelist journalist judge "
    "senator governor mayor officer suspect victim king queen prince princess pope lawmaker politician "
    "candidate chief director executive official spokesperson spokesman spokeswoman father mother son daughter "
    "husband wife brother sister teenager student teacher doctor scientist astronaut host comedian winner "
    "champion member representative congressman congresswoman billionaire entrepreneur owner"
)
# "How long did it take rescuers to reach…": an "it" that stands for what follows ("How much did it
# cost?" has nothing following: its "it" is something said before). EXPLETIVE_IT is matched at an "it"
# (the shortest match first); whether a "to", "that" or "for" (EXPLETIVE_IT_OBJECT) follows it is read
# once per sentence, as ".*\b(?:to|that|for)\b" searched from every "it" would be quadratic.
EXPLETIVE_IT = re.compile(
    r"it\s++(?:\w++\s++)??(?:take|takes|took|cost|costs|seem|seems|seemed|appear|appears|appeared)\b"
)
EXPLETIVE_IT_OBJECT = re.compile(r"\b(?:to|that|for)\b")
# "It's official: …", "Is it true that …": an "it" that stands for nothing.
EXPLETIVE_IT_TYPED = re.compile(
    r"(?:\bit(?:['’]s|\s++is|\s++was|\s++will\s++be|\s++would\s++be)|\b(?:is|was|isn't|wasn't)\s++it)\s++"
    r"(?:true|official|possible|likely|unlikely|"
    r"clear|expected|known|estimated|reported|confirmed|said|believed|thought)\b",
    re.I,
)
DEMONSTRATIVE_SUBJECT = re.compile(
    r"(?:^|\b(?:what|why|how|when|where|who|did|does|do|is|was|will|would|and|but)\s++)"
    r"(?:this|that|these|those)\s++(?:is|was|are|were|be|been|will|would|could|has|had|mean|means|meant|"
    r"happen|happened|happens|affect|affects|affected|cost|costs|start|started|end|ended|include|includes)\b",
    re.I,
)
# "What's that fire called?", "How much is that deal worth?": a demonstrative after a verb or a
# preposition points back at something said before (unlike "said that lava…", a conjunction).
POINTING_BEFORE = (
    r"(?:\b(?:is|was|are|were|about|of|for|with|did|does|do|in|on|at|from|to|by|after|before|during|behind|"
    r"over|under|against|into|like|than|through|without)|['’]s)\s++"
)
DEMONSTRATIVE_NOUN = re.compile(POINTING_BEFORE + r"(?:this|that|these|those)\s++([a-z][\w-]*+)", re.I)
SAME_OR_ELSE = re.compile(r"\bthe same\b(?!-)|\belse\b", re.I)
_CONTRACTION = re.compile(r"['’](?:s|re|ll|d|ve|m)$", re.I)
OPENING_PREPOSITIONS = _set("with in after at on during for since before despite by")
_WH = _set("what which who whom whose where when why how")


def _is_content(word: str) -> bool:
    return word not in STOPWORDS and word not in QUESTION_WORDS and word not in AUX


def _sentences(question: str) -> list[tuple[list[str], list[str]]]:
    """Per sentence: its words as typed, and lowercased without contractions ("Who's" → "who")."""
    out = []
    for s, e in sentence_spans(question):
        typed = tokens(question[s:e])
        out.append((typed, [_CONTRACTION.sub("", w.lower().replace("’", "'")) for w in typed]))
    return out


def _stands_for(typed: list[str], words: list[str], k: int, pronoun: str) -> bool:
    """Whether word k can be what the pronoun stands for: a name, a word for a person, or (not for
    "he"/"she") a noun after a determiner."""
    w = words[k]
    if w in PERSON_NOUNS or w.rstrip("s") in PERSON_NOUNS:
        return True
    if not _is_content(w):
        return False
    if typed[k][0].isupper():
        return True
    return pronoun not in PERSON and k > 0 and words[k - 1] in DETERMINERS


_PRONOUNS = PERSON | GROUP | THING
_NOT_POINTED_AT = TIME_NOUNS | STOPWORDS  # "this week", "that the…"


class _Sentence:
    """What the pronoun checks read of one sentence, each computed once (checked again for every
    pronoun, they made a long question quadratic)."""

    def __init__(self, typed: list[str], words: list[str]) -> None:
        self.typed, self.words = typed, words
        self._first: dict[bool, int] = {}
        self._expletive_typed: bool | None = None
        self._joined = ""
        self._starts: list[int] = []
        self._last_object = -1

    def first_antecedent(self, pronoun: str) -> int:
        """The first word that can stand for the pronoun (len(words) when none can)."""
        person = pronoun in PERSON
        if person not in self._first:
            found = (k for k in range(len(self.words)) if _stands_for(self.typed, self.words, k, pronoun))
            self._first[person] = next(found, len(self.words))
        return self._first[person]

    def expletive_it(self, i: int) -> bool:
        """Whether the "it" at word i stands for what follows it, or for nothing."""
        if not self._starts:
            self._joined = " ".join(self.words)
            self._starts = list(accumulate((len(w) + 1 for w in self.words), initial=0))
            self._last_object = max(
                (m.start() for m in EXPLETIVE_IT_OBJECT.finditer(self._joined)), default=-1
            )
        head = EXPLETIVE_IT.match(self._joined, self._starts[i])
        if head and self._last_object >= head.end():
            return True
        if self._expletive_typed is None:
            self._expletive_typed = bool(EXPLETIVE_IT_TYPED.search(" ".join(self.typed)))
        return self._expletive_typed


def _unbound_pronoun(sentences: list[tuple[list[str], list[str]]]) -> bool:
    """True when a pronoun has nothing in the question it could stand for."""
    for typed, words in sentences:
        sentence = _Sentence(typed, words)
        for i, w in enumerate(words):
            if w not in _PRONOUNS:
                continue
            if w in THING and sentence.expletive_it(i):
                continue
            # "Which asteroid did it hit?": the question's own subject cannot stand for itself.
            own_subject = words[0] in _WH and i > 0 and words[i - 1] in AUX
            if not own_subject and sentence.first_antecedent(w) < i:
                continue
            # "With her third title, which Dutch cyclist…": a name after a possessive that opens the sentence
            opens = i == 1 and words[0] in OPENING_PREPOSITIONS
            if (
                w in POSSESSIVE
                and opens
                and any(typed[k][0].isupper() and _is_content(words[k]) for k in range(i + 1, len(words)))
            ):
                continue
            return True
        if sentence.first_antecedent("it") < len(words):
            return False  # a pronoun in a later sentence can stand for a word of this one
    return False


def is_follow_up(question: str, history: Sequence[Turn]) -> bool:
    if not any(role == "user" and text.strip() for role, text in history):
        return False
    if OPENS_WITH_ELLIPSIS.search(question):
        return True
    sentences = _sentences(question)
    words = [w for _, ws in sentences for w in ws]
    if not any(_is_content(w) for w in words):
        return True
    typed = [t for ts, _ in sentences for t in ts]
    named = any(t[0].isupper() and _is_content(w) for t, w in zip(typed[1:], words[1:]))
    named = named or any(ch.isdigit() for t in typed for ch in t)
    if not named and sum(_is_content(w) for w in words) <= 2:
        return True  # "For how long?", "Who won?", "What was the final score?": nothing of its own
    context = len(sentences) > 1 and any(_is_content(w) for w in sentences[0][1])
    if words[-1] in ENDING and not context:
        return True
    if DEMONSTRATIVE_SUBJECT.search(question) or SAME_OR_ELSE.search(question):
        return True
    if any(m.group(1).lower() not in _NOT_POINTED_AT for m in DEMONSTRATIVE_NOUN.finditer(question)):
        return True
    return _unbound_pronoun(sentences)


