"""Follow-up questions → standalone questions, before retrieval. Whether a question is a follow-up:
``followup.py``; what it points back at, the conversation's subject: ``subject.py``.

The rule puts the subject where the follow-up's pronoun or ellipsis stands, so the question reads as
one a person would type:
- "Where is he from?" → "Where is Idris Penhallow from?"; "What is her next book about?" → "What is
  Nell Arden's next book about?"; "And what did he demand?" → "What did Vladimir Putin demand?";
- "Who's the superintendent there?" → "Who's the superintendent in Yellowstone?";
- "How much is that deal worth?" → "How much is the LeBron James deal worth?";
- "What about Norway?" → the earlier question with Norway in its subject's place;
- with nowhere to put it ("Why?", "Which island?", "When did that happen?"): "About the Philippines:
  which island?"; with no name in the conversation at all, the earlier question before it.
A question that says what it follows is searched with the earlier question's words beside its own
(``Standalone.context``: they count half when the sources are judged to cover the question); one with
the subject in place is searched as it reads.

With a chat model the model rewrites the follow-up; its rewrite is rejected in favour of the rule's when
it loses a name or number the user typed, adds nothing the conversation said, or leaves out the subject
the rule found.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.ask.followup import AUX, PERSON, POINTING_BEFORE, THING, Turn, is_follow_up
from assistant.ask.subject import (
    MARKERS,
    Exchange,
    Related,
    exchanges,
    kind_of_name,
    pick_exchange,
    subject_for,
)
from assistant.textutil import STOPWORDS, content_terms, stem, tokens

__all__ = ["Standalone", "Turn", "is_follow_up", "kept_what_was_typed", "rule_rewrite", "standalone"]

log = logging.getLogger(__name__)

_OPENING = re.compile(r"^\W*+(?:and|but|also|or|so|then|plus)\b[\s,]*+", re.I)
_WHAT_ABOUT = re.compile(
    r"^\W*+(?:(?:and|but|so)\s++)?(?:what|how)\s++about\s++(?P<x>[^?]{1,200}?)\s*+\??\s*+$", re.I
)
# "And Biden?", "And the Senate?": nothing but a name after the conjunction
_AND_NAME = re.compile(
    r"^\W*+(?i:and|but|or|also)\s++(?P<x>(?:the\s++)?[A-Z][\w’'.-]*+(?:\s++[A-Z][\w’'.-]*+){0,4})\s*+\??\s*+$"
)
_PRONOUN = re.compile(r"\b(?:he|she|him|his|her|they|them|their|it|its)\b", re.I)
_THERE = re.compile(r"\bthere\b(?=\s*+(?:[?.!,]|$|\b(?:now|today|yet|before|after|too)\b))", re.I)
# "that fire" after a verb or a preposition, or opening the question (not "the dog that bit him")
_DEMONSTRATIVE = re.compile(
    rf"(?:^\W*+|{POINTING_BEFORE})(?P<d>(?:this|that|these|those)\s++(?P<noun>[a-z][\w-]*+))", re.I
)
_NOT_A_NOUN = (
    STOPWORDS
    | AUX
    | frozenset(
        ["week", "weekend", "year", "month", "morning", "day", "days", "time", "season", "happen", "happened"]
        + ["happens", "mean", "means", "meant"]
    )
)
_WH = frozenset(["what", "which", "who", "whom", "whose", "where", "when", "why", "how"])
# "How long did it take rescuers to…", "It's official": an "it" that stands for nothing.
_EXPLETIVE_IT = re.compile(
    r"^it\s++(?:\w++\s++)??(?:take|takes|took|seem|seems|seemed|appear|appears|appeared)\b.*\b(?:to|that)\b"
    r"|^it(?:['’]s|\s++is|\s++was)\s++(?:true|official|possible|likely|clear|expected|known)\b",
    re.I,
)


@dataclass(frozen=True)
class Standalone:
    question: str
    how: str  # "as asked", "rule", "llm" or "llm rejected"
    # Words of the earlier question the search reads beside the standalone question (not shown), or
    # the earlier question the standalone one says it follows; they count half when the sources are
    # judged to cover the question.
    context: str = ""
    # The question without what it says it follows ("(following “…”)"); "" when it says nothing
    own: str = ""

    @property
    def search(self) -> str:
        """What the search is given: the question and the earlier words (not "following")."""
        return f"{self.own or self.question} {self.context}".strip()


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _kind_of(pronoun: str) -> str:
    return "person" if pronoun in PERSON else "thing"


def _slot(question: str, m: re.Match[str]) -> str:
    """How the pronoun at m is used: "possessive", "object" or "subject"."""
    p = m.group(0).lower()
    if p in ("his", "its", "their"):
        return "possessive"
    if p == "her":
        after = question[m.end() :].split(maxsplit=1)
        word = after[0].strip("?.!,;:").lower() if after else ""
        return (
            "possessive"
            if word and word.isalpha() and word not in STOPWORDS and word not in AUX
            else "object"
        )
    return "object" if p in ("him", "them") else "subject"


def _fill(question: str, exchange: Exchange) -> tuple[str, set[str]]:
    """(the question with the subject where its pronouns, "there" and "that …" stand, what was put in:
    "person", "thing", "place", "that", and "answer" when a name came from the earlier answer)."""
    done: set[str] = set()
    out: list[str] = []
    last = 0
    low = question.lower()
    for m in _PRONOUN.finditer(question):
        p = m.group(0).lower()
        kind = _kind_of(p)
        if kind in done or (p in THING and _EXPLETIVE_IT.match(question[m.start() :])):
            continue
        subject = subject_for(exchange, kind, sure=True)
        if subject is None or subject.name.lower() in low:
            continue
        slot = _slot(question, m)
        out += [
            question[last : m.start()],
            _possessive(subject.name) if slot == "possessive" else subject.name,
        ]
        last = m.end()
        done.add(kind)
        if subject.source != "asked":
            done.add("answer")
    text = "".join(out) + question[last:]
    place = subject_for(exchange, "place", sure=True)
    there = _THERE.search(text)
    if there and place is not None and place.name.lower() not in text.lower():
        text = f"{text[: there.start()]}in {place.name}{text[there.end() :]}"
        done |= {"place"} if place.source == "asked" else {"place", "answer"}
    pointed = [d for d in _DEMONSTRATIVE.finditer(text) if d.group("noun").lower() not in _NOT_A_NOUN]
    if pointed:
        m = pointed[0]
        noun = m.group("noun")
        # "that prize" → "the Halvard Prize"; else "that deal" → "the LeBron James deal"
        named = next((x for x in exchange.subjects() if x.name.lower().split()[-1] == noun.lower()), None)
        if named is not None and named.name.lower() not in text.lower():
            text = f"{text[: m.start('d')]}the {named.name}{text[m.end() :]}"
            done.add("that")
    return text, done


def _what_about(question: str, exchange: Exchange) -> str | None:
    """ "What about Norway?" → the earlier question with Norway in its subject's place (None: not that
    form, or the earlier question names no subject)."""
    m = _WHAT_ABOUT.match(question) or _AND_NAME.match(question)
    if not m:
        return None
    x = _fill(m.group("x").strip(), exchange)[0]  # "What about his brother?"
    if not x[:1].isupper():
        return None  # "What about among Republicans?": not a name to put in the subject's place
    kind = kind_of_name(x, question)
    fits = {"person": ("person", ""), "place": ("place", ""), "thing": ("thing", "")}.get(
        kind, ("person", "")
    )
    base = exchange.topic if exchange.asked != exchange.question else exchange.question
    subjects = [s for s in exchange.subjects() if s.name in base and s.kind in fits]
    subjects.sort(key=lambda s: s.kind != "person")  # "And Biden?" stands in for a person first
    if subjects:
        return base.replace(subjects[0].name, x, 1)
    return None


@dataclass(frozen=True)
class _Rewritten:
    question: str
    context: str  # the earlier question's words for the search
    first: str  # the question that began this line of the conversation
    own: str = ""  # the question without "(following “…”)"


def _rewrite(question: str, past: Sequence[Exchange], related: Related | None = None) -> _Rewritten:
    question = question.strip()
    exchange = pick_exchange(question, past, related)
    if exchange is None:
        return _Rewritten(question, "", "")
    about = _what_about(question, exchange)
    if about is not None:  # the earlier question, about what the follow-up names
        text, filled = about, {"about"}
    else:
        body = _capitalised(_OPENING.sub("", question)) or question
        text, filled = _fill(body, exchange)
        if not filled and _PRONOUN.search(body):
            # "he" after an unrelated question that named no one: the latest earlier turn that did
            for other in past:
                if other is not exchange and (got := _fill(body, other))[1]:
                    (text, filled), exchange = got, other
                    break
    # Nowhere to put a name it surely stands for, or a name taken from the earlier answer (which may
    # have quoted more than one): the question it follows, beside it.
    if not filled or "answer" in filled:
        given = next((x.name for x in exchange.subjects() if x.source == "given"), "")
        answered = f": {given}" if given and given.lower() not in text.lower() else ""
        following = f"{exchange.topic}{answered}"
        return _Rewritten(f"{text} (following “{exchange.topic}”{answered})", following, exchange.topic, text)
    return _Rewritten(text, "", exchange.topic)  # it stands alone: searched as it reads


def _past(history: Sequence[Turn], related: Related | None = None) -> list[Exchange]:
    def rewrite(question: str, before: list[Exchange]) -> tuple[str, str]:
        if not _is_follow_up_after(question, before):
            return question, ""
        done = _rewrite(question, before, related)
        return done.question, done.first

    return exchanges(history, rewrite)


def _is_follow_up_after(question: str, before: list[Exchange]) -> bool:
    return is_follow_up(question, [("user", x.question) for x in before])


def rule_rewrite(question: str, history: Sequence[Turn], related: Related | None = None) -> str:
    """The follow-up with the conversation's subject where its pronoun or ellipsis stands."""
    return _rewrite(question, _past(history, related), related).question


def kept_what_was_typed(question: str, rewritten: str, conversation: str = "") -> bool:
    """True when the rewrite keeps every name and number of the question and adds to it something the
    conversation said ("What's the name of the fire?" for "What's that fire called?" adds nothing
    that says which fire)."""
    mine = set(content_terms(rewritten))
    asked = set(content_terms(question))
    typed_names = {stem(w.lower()) for w in tokens(question)[1:] if w[0].isupper() or w[0].isdigit()}
    typed_names |= {stem(w.lower()) for w in tokens(question) if any(ch.isdigit() for ch in w)}
    said = set(content_terms(conversation)) if conversation else mine
    return typed_names <= mine and bool((mine - asked) & said)


def llm_rewrite(
    question: str, history: Sequence[Turn], model: Any, template: str, subject: str = ""
) -> str | None:
    """The model's standalone question, or None when it failed, lost what the user typed or left out
    the subject (when one is given)."""
    from langchain_core.messages import HumanMessage

    convo = "\n".join(
        f"{'User' if role == 'user' else 'Assistant'}: {MARKERS.sub('', text)[:400]}"
        for role, text in history[-6:]
    )
    prompt = template.format(history=convo, question=question)
    try:
        out = str(model.invoke([HumanMessage(prompt)]).content).strip()
    except Exception as e:  # noqa: BLE001 - a failed rewrite falls back to the rule
        log.warning("question rewrite failed (%s); using the rule", e)
        return None
    out = out.splitlines()[0].strip().strip('"“”').strip() if out else ""
    said = " ".join(text for _, text in history[-6:])
    surname = subject.split()[-1].lower() if subject else ""
    if (
        not out
        or len(out) > 4 * len(question) + 200
        or not kept_what_was_typed(question, out, said)
        or (surname and surname not in out.lower())
    ):
        log.info("rejected the model's rewrite %r of %r", out, question)
        return None
    return out


def _put_name(question: str, text: str, past: Sequence[Exchange]) -> str:
    """The name the rule put where the question's pronoun stood ("" when none)."""
    low, asked = text.lower(), question.lower()
    names = (x.name for e in past for x in e.subjects())
    return next((n for n in names if n.lower() in low and n.lower() not in asked), "")


def standalone(
    question: str,
    history: Sequence[Turn],
    model: Any = None,
    template: str = "",
    related: Related | None = None,
) -> Standalone:
    """related: (a name the question gives, an earlier subject) → whether the indexed articles mention
    them together (so "And what about Traficant?" finds the exchange it belongs to)."""
    question = question.strip()
    if not is_follow_up(question, history):
        return Standalone(question, "as asked")
    past = _past(history, related)
    done = _rewrite(question, past, related)
    text, context, own = done.question, done.context, done.own
    if model is not None and template:
        put = "" if own else _put_name(question, text, past)  # the model's rewrite must name it too
        out = llm_rewrite(question, history, model, template, put)
        if out is not None:
            return Standalone(out, "llm")
        return Standalone(text, "llm rejected", context, own)
    return Standalone(text, "rule", context, own)
