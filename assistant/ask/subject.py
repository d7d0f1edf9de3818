"""What a follow-up points back at: the conversation's subject.

Each earlier exchange (a question, made standalone, and its answer) offers its subjects in order: for a
question that asks for someone or something ("Who won…?", "Which company…?") the name its answer gave
first, then the names the question asked about; for any other question the names it asked about first.
The names every other sentence of the answer mentions are not the subject.

Which exchange: the latest one, unless the follow-up's own words or names belong to an earlier one (it
shares more of them with it), or, when the follow-up names something the conversation never said
("And what about Traficant?"), an earlier subject is mentioned beside that name in the indexed articles
(``related``) and the latest one's is not. A name is kind-checked against the pronoun: "he"/"she" takes
a person's name (two to four capitalised words that are not an organisation, a country or a US state,
and are not written "the …"; or a single word written after a title, or the surname of such a name);
"it"/"they" takes anything else; "there" a place.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from assistant.answer.answertype import COUNTRY, STATE
from assistant.answer.refusal import CLOSEST_LEAD, REFUSAL_LEAD
from assistant.dates import MONTHS
from assistant.sentences import sentence_spans
from assistant.textutil import QUESTION_WORDS, STOPWORDS, content_terms, stem, tokens

Turn = tuple[str, str]  # (role, text): role is "user" or "assistant"
# (a name the follow-up gives, an earlier subject) → whether the indexed articles mention them together
Related = Callable[[str, str], bool]

# A marker and the spaces before it; never started inside a run of spaces (the match from the run's
# first space covers it), so a long run costs one scan, not one per space.
MARKERS = re.compile(r"(?!(?<=\s)\s)\s*+\[\d++(?:\s*+[,;]\s*+\d++)*+\]")
# Nothing follows the repeated group, so the greedy first try always succeeds: taking each run whole
# ("*+", "++") changes no match and rules out backtracking into the nested repetition.
_NAME_RUN = re.compile(
    r"(?:[A-Z][\w’'-]*+(?:\.(?=\s++[A-Z]))?(?:\s++(?:of|de|la|van|von|al|bin)\s++|\s++)?)++"
)
_POSSESSIVE_S = re.compile(r"['’]s$")
# A dateline and a wire tag opening a news sentence: "NEW YORK (CNN Business) — ", "(CNN) ".
_DATELINE = re.compile(r"^(?:[A-Z][A-Z.,' -]+)?\s*(?:\([^)]{1,40}\))?\s*[—–-]*\s*")
_CALENDAR = frozenset(MONTHS) | {d.lower() for d in calendar.day_name} | {"today", "yesterday", "tomorrow"}
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_AUX = _words(
    "is was are were be been am do does did has have had will would can could should may might must shall"
)
_NOT_NAMES = STOPWORDS | QUESTION_WORDS | _AUX
# Words that make a run of capitalised words an organisation, an event or a thing, not a person.
ORG_WORDS = _words(
    """inc corp corporation co company society bowl knights companies group association union council committee commission
    department ministry agency administration bureau office service university college school academy
    club team fc league federation party front movement church court congress senate house parliament
    assembly government army navy force forces police bank fund foundation institute center centre
    hospital museum park festival award awards prize cup games olympics championship championships open
    tour act law treaty fire hurricane storm typhoon airlines airways motors technologies labs news
    times post journal network studios records series show film book island islands river lake mountain
    county city state states republic kingdom empire street avenue bridge airport station stadium
    """
)
_TITLES = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|Rep|Sen|Gov|Gen|Lt|Col|Sgt|Capt|President|Prime\s+Minister|Minister|Secretary|"
    r"Chancellor|King|Queen|Prince|Princess|Pope|Judge|Justice|Mayor|Senator|Governor|Representative|"
    r"Ambassador|Coach|CEO|actor|actress|singer|rapper|star|player|author|director)\.?\s+$"
)
# A title inside a run of capitalised words: the name is what follows it ("Embattled Rep. George Santos").
_TITLE_IN_NAME = re.compile(
    r"^.*?\b(?:(?:Rep|Sen|Gov|Dr|Mr|Mrs|Ms|Gen|Lt|Col|Sgt|Capt|Prof|St)\.|(?:President|Senator|Governor|"
    r"Representative|Judge|Justice|Mayor|Pope|Queen|King|Prince|Princess|MP|Chancellor|Minister|Secretary|Coach|Director|Chairman|CEO))\s++"
    r"(?=[A-Z])"
)
_ROMAN = re.compile(r"[IVX]+")
_PLACE_BEFORE = re.compile(r"\b(?:in|at|near|from)\s+(?:the\s+)?$", re.I)
_WHO_ASKS = re.compile(
    r"^\W*(?:who|whom|whose|which\s+\w+|what\s+(?:is|was|are|were)\s+the\s+name|name\s+the)\b", re.I
)


def names(text: str, limit: int = 6) -> list[str]:
    """Runs of capitalised words ("Idris Penhallow", "Halvard Prize") in each sentence, without a dateline,
    leading stopwords ("The") or a lone capitalised word that only opens its sentence."""
    out: list[str] = []
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        sentence = sentence[_DATELINE.match(sentence).end() :]  # type: ignore[union-attr]
        opening = len(sentence) - len(sentence.lstrip(" \t\n“”\"'‘’(["))  # where its first word starts
        for q in _QUOTED_TITLE.finditer(sentence):  # ‘Only Murders in the Building’: a title, whole
            if q.group(1) not in out:
                out.append(q.group(1))
        titles = [q.span() for q in _QUOTED_TITLE.finditer(sentence)]
        for m in _NAME_RUN.finditer(sentence):
            if any(a <= m.start() < b for a, b in titles):
                continue  # a word of a title found whole
            words = m.group(0).split()
            if len(words) == 1 and m.start() <= opening and not _is_place(words[0].strip(".,;:")):
                continue  # one capitalised word opening a sentence is not known to be a name
            start = 0
            while start < len(words) and (
                words[start].lower().strip(".,;:") in _NOT_NAMES or _EPITHET.match(words[start])
            ):
                start += 1
            words = words[start:]
            name = _POSSESSIVE_S.sub("", " ".join(words)).strip(".,;:’'")
            if all(w.lower().strip(".,;:") in _CALENDAR for w in words):
                continue  # "Friday", "March": when, not who or what
            if name and name not in out:
                out.append(name)
            if len(out) >= limit:
                return out
    return out


def untitled(name: str) -> str:
    """The name without a title before it ("Rep. George Santos" → "George Santos") or a place after a
    person's name ("Ada Quill of Leeds" → "Ada Quill"; not "Bank of America")."""
    name = _TITLE_IN_NAME.sub("", name) or name
    head, of, _ = name.partition(" of ")
    words = head.split()
    if of and 2 <= len(words) <= 3 and not any(w.lower() in ORG_WORDS for w in words):
        return head
    return name


# "‘Only Murders in the Building’", "“The Little Mermaid”": a quoted title of up to eight words
_QUOTED_TITLE = re.compile(r"[‘“\"]([A-Z][^‘’“”\"]{0,60}?)[’”\"](?!\w)")
# "Two-time", "Oscar-winning": an epithet opening a run of capitalised words, not part of the name
_EPITHET = re.compile(r"^[A-Z]\w*-[a-z]")


def _is_place(word: str) -> bool:
    return bool(COUNTRY.fullmatch(word) or STATE.fullmatch(word))


@dataclass(frozen=True)
class Subject:
    name: str
    kind: str  # "person", "place" or "thing"; "" when it could be a person or a thing (one word)
    # "asked": the earlier question names it; "given": its answer gave it for what the question asked
    # for; "said": the answer only mentions it
    source: str = "asked"


def kind_of_name(name: str, text: str) -> str:
    """"person", "place", "thing" or "" (could be a person or a thing) for a name in a text."""
    words = name.split()
    low = [w.lower().strip(".,'’") for w in words]
    if COUNTRY.fullmatch(name) or STATE.fullmatch(name):
        return "place"
    before = text[: max(0, text.find(name))]
    if _PLACE_BEFORE.search(before[-12:]):
        return "place"
    if re.search(rf"[‘“\"]{re.escape(name)}[’”\"]", text):
        return "thing"  # a quoted title
    if any(w in ORG_WORDS for w in low) or re.search(rf"\b(?:the|its|their|our)\s+{re.escape(name)}", text, re.I):
        return "thing"
    if any(w.isupper() and len(w) > 1 and not _ROMAN.fullmatch(w) for w in words):  # "NASA", "FBI"
        return "thing"
    if 2 <= len(words) <= 4:
        return "person"
    if _TITLES.search(before[-40:]):
        return "person"
    return ""


# What a question asks for, read from its wh-word and the noun after "which"/"what".
_PERSON_NOUNS = _words(
    """man woman men women person people actor actress singer rapper musician artist player star athlete
    coach president minister leader ceo founder author writer novelist journalist judge senator governor
    mayor officer suspect king queen prince princess pope lawmaker politician candidate chief director
    executive official golfer cyclist skater swimmer boxer driver quarterback pitcher mp host comedian
    winner champion billionaire entrepreneur owner cartoonist astronaut scientist celebrity model
    filmmaker producer designer chef icon legend"""
)
_PLACE_NOUNS = _words(
    """nation country state city town village island region province county park capital continent
    place area district neighborhood desert river lake sea ocean mountain volcano"""
)
_WH_NOUN = re.compile(r"\b(?:which|what)\s++((?:[\w’'-]++\s++){0,3})([\w’'-]++)", re.I)
_ASKS_WHO = re.compile(r"\b(?:who|whom|whose)\b", re.I)
_ASKS_WHERE = re.compile(r"\bwhere\b", re.I)
# "which …", "what NHL team …", "what is the name …": asks for a named someone or something (not
# "what did …", "what year …", "what percentage …")
_ASKS_ENTITY = re.compile(
    r"\b(?:which|what\s++(?:is|was|are|were)\s++(?:the\s++)?name|name\s++the)\b"
    r"|\bwhat\s++(?!(?:is|was|are|were|do|does|did|has|have|had|will|would|can|could|should|it|that|this|"
    r"year|years|day|days|date|time|month|percentage|percent|share|age|kind|type|sort|happened|happens)\b)"
    r"[A-Za-z]",
    re.I,
)
# A news agency's tag and the names of wire services and outlets: never what a conversation is about.
# "New York (CNN Business) ", "(AP) — ": a dateline with its agency's tag
_SOURCE_TAG = re.compile(
    r"(?:\b[A-Z][\w.'-]*+(?:\s++[A-Z][\w.'-]*+){0,3}\s*+)?\((?:CNN|AP|AFP|Reuters)[^)]{0,30}\)\s*+[—–-]?"
)
_OUTLETS = _words("CNN AP AFP Reuters USA TODAY Bloomberg BBC NPR Fox News NBC CBS ABC")
_PARTY_STATE = re.compile(r"^[RDI]-[A-Z]")  # "R-Pa", "D-Calif"


def asks_for(question: str) -> str | None:
    """The kind of thing a question asks for ("person", "place", "thing"), or None when it asks for
    no one thing (how many, when, why…)."""
    last = question
    spans = sentence_spans(question)
    if spans:
        last = question[spans[-1][0] : spans[-1][1]]
    if _ASKS_WHO.search(last):
        return "person"
    m = _WH_NOUN.search(last)
    if m and _ASKS_ENTITY.search(last):
        words = [w.lower() for w in m.group(1).split()] + [m.group(2).lower()]
        for w in words:
            if w in _PERSON_NOUNS or w.rstrip("s") in _PERSON_NOUNS:
                return "person"
            if w in _PLACE_NOUNS or w.rstrip("s") in _PLACE_NOUNS:
                return "place"
        return "thing"
    if _ASKS_WHERE.search(last):
        return "place"
    return None


def answer_body(answer: str) -> str:
    """What an answer says, without a refusal, the closest-passage lead or wire tags."""
    if answer.startswith(REFUSAL_LEAD):
        return ""
    if answer.startswith(CLOSEST_LEAD):
        answer = answer[len(CLOSEST_LEAD) :].lstrip()
    return _SOURCE_TAG.sub(". ", answer)


def _nearness(question: str, answer: str) -> Callable[[str], float]:
    """name → how near the answer puts it to the question's words: the question's words its sentence
    shares, less a tenth per word between the name and the nearest of them (the first three sentences)."""
    asked = set(content_terms(question))
    scores: dict[str, float] = {}
    for s, e in sentence_spans(answer)[:3]:
        words = tokens(answer[s:e])
        stems = [stem(w.lower()) for w in words]
        hits = [i for i, w in enumerate(stems) if w in asked]
        for i in range(len(words)):
            for n in range(1, 5):
                name = " ".join(words[i : i + n])
                if name in scores or i + n > len(words):
                    continue
                gap = min((abs(i - h) for h in hits), default=len(words))
                scores[name] = len(set(stems) & asked) - gap / 10
    return lambda name: max(
        (v for k, v in scores.items() if k == name or k == name.split()[-1]), default=-1e9
    )


def _fits(kind: str, wanted: str) -> bool:
    """Whether a name of this kind can be what a question asking for ``wanted`` was answered with."""
    return kind == wanted or (kind == "" and wanted != "place")


@dataclass(frozen=True)
class Exchange:
    """An earlier question (standalone) and its answer (markers dropped)."""

    question: str
    answer: str
    # The question that began this line of the conversation (its own question when it was no follow-up)
    first: str = ""

    @property
    def text(self) -> str:
        return f"{self.question} {self.answer}"

    @property
    def topic(self) -> str:
        return self.first or self.question

    @property
    def asked(self) -> str:
        """The question without what it said it follows (" (following “…”)" at its end)."""
        cut = self.question.rfind(" (following “")
        return self.question[:cut] if cut >= 0 and self.question.endswith("”)") else self.question

    @cached_property
    def wanted(self) -> str | None:
        """What the question asked for (``asks_for``)."""
        return asks_for(self.asked)

    def subjects(self) -> list[Subject]:
        """Its subjects, the likeliest first: what the answer gave when the question asked for someone
        or something, then the names the question asked about (multi-word names and names known to be
        organisations or people first), then the rest of the answer's. Read once per exchange."""
        return self._subjects

    @cached_property
    def _subjects(self) -> list[Subject]:
        body = answer_body(self.answer)
        text = f"{self.asked} {body}"
        asked = [n for n in names(self.asked) if n not in _OUTLETS]
        asked_terms = {stem(w.lower()) for n in asked for w in untitled(n).split()}
        given = [
            n
            for n in names(body, limit=8)
            if n not in _OUTLETS
            and not _PARTY_STATE.match(n)
            and not {stem(w.lower()) for w in untitled(n).split()} <= asked_terms
        ]

        def subject(n: str, source: str) -> Subject:
            name = untitled(n)
            return Subject(name, "person" if name != n else kind_of_name(n, text), source)

        asked_s = sorted(
            (subject(n, "asked") for n in asked), key=lambda x: (x.kind == "", len(x.name.split()) < 2)
        )
        said_s = [subject(n, "said") for n in given]
        wanted = self.wanted
        fitting = [x for x in said_s if wanted is not None and _fits(x.kind, wanted)]
        near = _nearness(self.asked, body)
        # of the kind asked for before a lone word; then the one nearest the question's words
        fitting.sort(key=lambda x: (x.kind != wanted, -near(x.name)))
        first = [replace(x, source="given") for x in fitting[:1]]
        order = first + asked_s + [x for x in said_s if not first or x.name != first[0].name]
        people = [x.name for x in order if x.kind == "person"]
        out: dict[str, Subject] = {}
        for x in order:
            if not x.kind and any(x.name in p.split() for p in people):
                x = replace(x, kind="person")  # "Santos" of "George Santos"
            out.setdefault(x.name, x)
        return list(out.values())


def exchanges(
    history: Sequence[Turn], rewrite: Callable[[str, list[Exchange]], tuple[str, str]], limit: int = 6
) -> list[Exchange]:
    """The conversation's last ``limit`` exchanges, the latest first. ``rewrite`` makes each question
    standalone with the exchanges before it (the latest first): (the standalone question, the question
    that began its line, "" when it is that one); oldest first, so each is rewritten once."""
    users = [i for i, (role, text) in enumerate(history) if role == "user" and text.strip()][-limit:]
    done: list[Exchange] = []
    for k, i in enumerate(users):
        end = users[k + 1] if k + 1 < len(users) else len(history)
        answer = " ".join(text for role, text in history[i + 1 : end] if role == "assistant")
        question, first = rewrite(history[i][1].strip(), done[::-1]) if done else (history[i][1].strip(), "")
        done.append(Exchange(question, MARKERS.sub("", answer), first))
    return done[::-1]


def pick_exchange(question: str, past: Sequence[Exchange], related: Related | None = None) -> Exchange | None:
    """The exchange the follow-up points back at (``past``: the latest first)."""
    if not past:
        return None
    words, given = set(content_terms(question)), names(question)
    given_low = [g.lower() for g in given]

    def score(x: Exchange) -> int:
        text = x.text.lower()
        return 2 * sum(g in text for g in given_low) + len(words & set(content_terms(x.text)))

    scores = [score(x) for x in past]
    best = max(range(len(past)), key=lambda i: (scores[i], -i))
    if scores[best] > scores[0]:
        return past[best]
    if related is not None and given and not any(g in past[0].text.lower() for g in given_low):
        def linked(x: Exchange) -> bool:
            return any(related(g, s.name) for g in given for s in x.subjects()[:2])

        if not linked(past[0]):
            for x in past[1:]:
                if linked(x):
                    return x
    return past[0]


def subject_for(exchange: Exchange, kind: str, sure: bool = False) -> Subject | None:
    """The exchange's likeliest subject of a kind ("person", "thing", "place"; "" any). sure: only one
    the earlier question named or its answer gave for what it asked, and known to be of that kind (a
    lone word of the question may be a person)."""
    subjects = exchange.subjects()
    if sure:
        subjects = [s for s in subjects if s.source != "said"]
        if kind and exchange.wanted == kind:  # "Who won…?" → "Where is she from?": the answer
            subjects = [s for s in subjects if s.source == "given"]
    if kind == "person":
        ranked = [s for s in subjects if s.kind == "person"]
        ranked += [s for s in subjects if s.kind == "" and (not sure or s.source == "asked")]
    elif kind == "thing":  # what the earlier answer gave first, then organisations and things
        ranked = [s for s in subjects if s.source == "given" and s.kind in ("thing", "")]
        ranked += [s for k in ("thing", "", "place") for s in subjects if s.kind == k and (k or not sure)]
    elif kind == "place":
        ranked = [s for s in subjects if s.kind == "place"]
    else:  # whoever the exchange was about: a person first
        ranked = [s for s in subjects if s.kind == "person"] + [s for s in subjects if s.kind != "person"]
    return ranked[0] if ranked else None
