"""Regex benchmark: do the regexes on user and article text, and the functions that apply them, run in
linear time? Prints figures, asserts nothing.

Targets: every public text-taking function of ``answertype``, ``textutil``, ``rewrite``, ``timescope``,
``sentences`` and ``answer/*``, and every compiled pattern of those modules applied directly (``finditer``,
which tries every start position, as ``search``, ``sub`` and ``split`` do). Inputs: repetitions of
generic hostile units ("(", '"', "a ", digits, runs without spaces, unicode, whitespace) and of each
pattern's own keywords and separators ("in what ", "what" followed by a run of spaces, "1,").

A screening pass at 1 KB and 8 KB picks each target's worst inputs (slowest, fastest-growing); those are
timed at two sizes, 50 KB and 100 KB by default, and the ratio is printed: about 2 is linear, about 4
quadratic. An input that would take more than --max-call seconds at 100 KB if it were quadratic (judged
from its time at 8 KB) is timed at smaller sizes, printed beside the row.

    .venv/bin/python bench/regex_fuzz.py [--sizes 50000 100000] [--top 15] [--only NAME] [--others]

``--others`` adds the text-taking functions of modules this audit may not change (ui/, corpus/,
chunking.py), for their verdicts. tests/test_regex_bounds.py runs the same inputs
through each function at 100 KB (a quadratic one would hang the test suite); speed is judged here.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from assistant import sentences, textutil  # noqa: E402
from assistant.answer import (  # noqa: E402
    answertype,  # noqa: E402
    boilerplate,
    citations,
    extractive,
    llm,
    quotes,
    refusal,
    scoring,
    types,
)
from assistant.ask import followup, rewrite, subject, timescope  # noqa: E402
from assistant.store import StoredChunk  # noqa: E402

MODULES: tuple[ModuleType, ...] = (
    answertype,
    textutil,
    followup,
    subject,
    rewrite,
    timescope,
    sentences,
    citations,
    quotes,
    refusal,
    boilerplate,
)


@dataclass(frozen=True)
class Spec:
    """A hostile input: ``prefix + unit * k + suffix`` at about the requested number of characters."""

    unit: str
    prefix: str = ""
    suffix: str = ""

    def build(self, size: int) -> str:
        k = max(1, (size - len(self.prefix) - len(self.suffix)) // len(self.unit))
        return self.prefix + self.unit * k + self.suffix

    def label(self) -> str:
        out = f"{self.unit!r}×k"
        if self.prefix:
            out = f"{self.prefix!r}+" + out
        if self.suffix:
            out += f"+{self.suffix!r}"
        return out


# Generic hostile units: brackets and quotation marks that never close, digit runs with separators,
# whitespace runs, one long word, capitalised runs, markers, unicode, and the first words of the rules.
GENERIC: tuple[Spec, ...] = (
    Spec("a "),
    Spec(" "),
    Spec(" ", "x", "x"),
    Spec("\t \n"),
    Spec("\n"),
    Spec("a\n"),
    Spec("x"),
    Spec("abcdefghij"),
    Spec("("),
    Spec(")"),
    Spec("(a"),
    Spec('"'),
    Spec('"a '),
    Spec("'"),
    Spec("'a "),
    Spec("‘"),
    Spec("’"),
    Spec("“"),
    Spec("“a ”"),
    Spec("["),
    Spec("[1"),
    Spec("[1,"),
    Spec("[1] "),
    Spec(" [1", "x"),
    Spec(". [1"),
    Spec("1"),
    Spec("1,"),
    Spec("1."),
    Spec("1, "),
    Spec("12 "),
    Spec("1", suffix="x"),
    Spec("$1"),
    Spec("-1"),
    Spec("A"),
    Spec("A "),
    Spec("A. "),
    Spec("Ab "),
    Spec("AB-"),
    Spec("a.b."),
    Spec(". "),
    Spec("? "),
    Spec("..."),
    Spec("…"),
    Spec("- "),
    Spec("—"),
    Spec("'s "),
    Spec("’s "),
    Spec("é"),
    Spec("日本語"),
    Spec("\u00a0"),
    Spec("\u200b"),
    Spec("🙂"),
    Spec("state is "),
    Spec("it "),
    Spec("it takes "),
    Spec("he "),
    Spec("He said "),
    Spec("the "),
    Spec("The "),
    Spec("what "),
    Spec("and "),
    Spec("since "),
    Spec("last "),
    Spec("in march "),
    Spec("New "),
    Spec("mr. "),
    Spec("u.s. "),
    Spec("don't "),
)

_ESCAPE = re.compile(r"\\(.)", re.S)
_CLASS = re.compile(r"\[\^?\]?[^\]]*\]")
_GROUP_SYNTAX = re.compile(r"\(\?(?:P?<\w+>|[A-Za-z]+\)|[:=!>]|<[=!])")
_WORD = re.compile(r"[A-Za-z][A-Za-z']+")
_PUNCT = re.compile(r"[^\w\s|()*+?{}^$]")


def pattern_words(pattern: re.Pattern[str]) -> tuple[list[str], list[str]]:
    """(the words of a pattern in the order written, with repeats; its punctuation): what its hostile
    inputs repeat."""
    src = pattern.pattern
    punct = set(_PUNCT.findall(_ESCAPE.sub(lambda m: m.group(1) if not m.group(1).isalnum() else " ", src)))
    for cls in _CLASS.findall(src):
        punct.update(ch for ch in cls if not ch.isalnum() and ch not in "[]^\\-")
    plain = _GROUP_SYNTAX.sub(" ", _CLASS.sub(" ", _ESCAPE.sub(" ", src)))
    words = [w.replace("_", " ") for w in _WORD.findall(plain)]
    return words, sorted(punct)


def keyword_specs(words: list[str], punct: list[str], limit: int = 40) -> list[Spec]:
    """Hostile inputs from a rule's own words and separators: each word repeated, each word followed
    by a long run of spaces, neighbouring words repeated together ("in what "), punctuation runs."""
    distinct = list(dict.fromkeys(w.lower() for w in words))
    kinds: list[list[Spec]] = [
        [Spec(w + " ") for w in distinct],
        [Spec(" ", w, "x") for w in distinct],
        *(
            [Spec(" ".join(words[i : i + n]).lower() + " ") for i in range(len(words) - n + 1)]
            for n in (2, 3)
        ),
        [Spec(p) for p in punct],
        [Spec("1" + p) for p in punct],
        [Spec("a" + p + " ") for p in punct],
    ]
    specs: list[Spec] = []
    for i in range(max(map(len, kinds), default=0)):  # round robin: any limit keeps a mix
        specs += [k[i] for k in kinds if i < len(k)]
    return list(dict.fromkeys(specs))[:limit]


def module_patterns(modules: tuple[ModuleType, ...] = MODULES) -> list[tuple[str, re.Pattern[str]]]:
    """Every compiled pattern a module holds at its top level, alone or in a list, tuple or dict."""

    def walk(name: str, value: Any) -> Iterator[tuple[str, re.Pattern[str]]]:
        if isinstance(value, re.Pattern):
            yield name, value
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                key = v[0] if isinstance(v, tuple) and v and isinstance(v[0], str) else i
                yield from walk(f"{name}[{key}]", v[1] if isinstance(key, str) else v)
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from walk(f"{name}[{k}]", v)

    out: dict[int, tuple[str, re.Pattern[str]]] = {}
    for mod in modules:
        short = mod.__name__.removeprefix("assistant.")
        for attr, value in vars(mod).items():
            for name, pat in walk(f"{short}.{attr}", value):
                out.setdefault(id(pat), (name, pat))
    return list(out.values())


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[str], object]
    specs: tuple[Spec, ...] = field(default=(), repr=False)


def _patterns_specs(modules: tuple[ModuleType, ...]) -> list[Spec]:
    specs: list[Spec] = []
    for _, pat in module_patterns(modules):
        specs += keyword_specs(*pattern_words(pat), limit=20)
    return list(dict.fromkeys(specs))


def _chunk(text: str, title: str = "Story") -> StoredChunk:
    return StoredChunk("s:0", "s", text, 0, len(text), title, "", "", 20240317)


NORMAL_ARTICLE = (
    "The central bank kept its benchmark interest rate at 5.25 percent on Wednesday. "
    "Governor Jane Smith of Ohio said inflation was slowing. The vote was 7 to 2 in 2023."
)
HISTORY: list[tuple[str, str]] = [
    ("user", "Who won the Halvard Prize in 2023?"),
    ("assistant", "Idris Penhallow won the Halvard Prize for Salt Lanterns [1]."),
]
KIND_QUESTIONS = {
    "year": "In what year did the bank open?",
    "percent": "What percentage of voters backed it?",
    "money": "How much money did the city raise?",
    "count": "How many people were evacuated?",
    "date": "When did the volcano erupt?",
    "state": "Which state is the senator from?",
    "country": "Which country won the cup?",
    "name": "Who won the Halvard Prize?",
    "other": "Why did the bank keep rates steady?",
}


class _Embedder:
    def encode(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0]


class _Model:
    """A chat model that answers with the hostile text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def invoke(self, messages: Any) -> Any:
        return type("Reply", (), {"content": self.text})()


def _asked_fresh() -> None:
    answertype._asked.cache_clear()  # the cache would hide the cost of a repeated question


def _expected_kind(t: str) -> str:
    _asked_fresh()
    return answertype.expected_kind(t)


def _holds_kind_question(t: str) -> float:
    _asked_fresh()
    return answertype.holds_kind(t, NORMAL_ARTICLE, set(textutil.content_terms(t)))


def _holds_kind_sentence(kind: str) -> Callable[[str], float]:
    q = KIND_QUESTIONS[kind]
    terms = set(textutil.content_terms(q))
    return lambda t: answertype.holds_kind(q, t, terms)


def _sources(text: str) -> list[types.Source]:
    return types.make_sources([_chunk(text)], [1.0])


def _score(question: str, text: str) -> list[types.Source]:
    srcs = _sources(text)
    _asked_fresh()
    scoring.SentenceScorer(_Embedder()).score(question, srcs)
    return srcs


def function_targets() -> list[Target]:
    """The public functions that take user or article text, each with the inputs built from the
    patterns it applies."""
    today = date(2024, 3, 17)
    normal = _sources(NORMAL_ARTICLE)
    kw_answer = tuple(_patterns_specs((answertype, textutil)))
    kw_text = tuple(_patterns_specs((textutil,)))
    kw_rewrite = tuple(_patterns_specs((followup, subject, rewrite, textutil)))
    kw_time = tuple(_patterns_specs((timescope,)))
    kw_claims = tuple(_patterns_specs((citations, quotes, refusal, answertype, textutil)))
    kw_quotes = tuple(_patterns_specs((quotes,)))
    kw_refusal = tuple(_patterns_specs((refusal,)))
    kw_boiler = tuple(_patterns_specs((boilerplate,)))
    q = "Who won the Halvard Prize?"
    targets = [
        Target("boilerplate.is_boilerplate", boilerplate.is_boilerplate, kw_boiler),
        Target("boilerplate.dateline_end", boilerplate.dateline_end, kw_boiler),
        Target("timescope.time_intent", lambda t: timescope.time_intent(t, today), kw_time),
        Target("answertype.expected_kind", _expected_kind, kw_answer),
        Target("answertype.holds_kind(question)", _holds_kind_question, kw_answer),
        *(
            Target(f"answertype.holds_kind(sentence, {kind})", _holds_kind_sentence(kind), kw_answer)
            for kind in KIND_QUESTIONS
        ),
        Target("textutil.tokens", textutil.tokens, kw_text),
        Target("textutil.content_terms", textutil.content_terms, kw_text),
        Target("textutil.salient_terms", textutil.salient_terms, kw_text),
        Target("textutil.stem", textutil.stem, kw_text),
        Target("textutil.strip_accents", textutil.strip_accents, kw_text),
        Target("textutil.normalize_answer", textutil.normalize_answer, kw_text),
        Target(
            "textutil.contains_answer(haystack)",
            lambda t: textutil.contains_answer(t, "5.25 percent"),
            kw_text,
        ),
        Target(
            "textutil.contains_answer(answer)", lambda t: textutil.contains_answer(NORMAL_ARTICLE, t), kw_text
        ),
        Target("rewrite.is_follow_up", lambda t: rewrite.is_follow_up(t, HISTORY), kw_rewrite),
        Target("rewrite.rule_rewrite", lambda t: rewrite.rule_rewrite(t, HISTORY), kw_rewrite),
        Target(
            "rewrite.rule_rewrite(history question)",
            lambda t: rewrite.rule_rewrite("And why?", [("user", t), ("assistant", "Idris Penhallow [1].")]),
            kw_rewrite,
        ),
        Target(
            "rewrite.rule_rewrite(history answer)",
            lambda t: rewrite.rule_rewrite("Where is he from?", [("user", q), ("assistant", t)]),
            kw_rewrite,
        ),
        Target("subject.names", lambda t: subject.names(t, limit=10**6), kw_rewrite),
        Target("subject.asks_for", subject.asks_for, kw_rewrite),
        Target("subject.answer_body", subject.answer_body, kw_rewrite),
        Target(
            "subject.subjects",
            lambda t: subject.Exchange(t, t).subjects(),
            kw_rewrite,
        ),
        Target("rewrite.standalone(question)", lambda t: rewrite.standalone(t, HISTORY), kw_rewrite),
        Target(
            "rewrite.standalone(history)",
            lambda t: rewrite.standalone("And why?", [("user", t), ("assistant", t)]),
            kw_rewrite,
        ),
        Target(
            "rewrite.kept_what_was_typed", lambda t: rewrite.kept_what_was_typed(t, t + " x", t), kw_rewrite
        ),
        Target(
            "rewrite.llm_rewrite",
            lambda t: rewrite.llm_rewrite(
                "And why?", [("user", q), ("assistant", t)], _Model(t), "{question}"
            ),
            kw_rewrite,
        ),
        Target("timescope.parse_time_scope", lambda t: timescope.parse_time_scope(t, today), kw_time),
        Target("sentences.sentence_spans", sentences.sentence_spans, kw_claims),
        Target("citations.split_claims", citations.split_claims, kw_claims),
        Target("citations.numbers", citations.numbers, kw_claims),
        Target("citations.names", citations.names, kw_claims),
        Target("citations.make_claim", lambda t: citations.make_claim(t, t), kw_claims),
        Target("citations.resolve_citations", lambda t: citations.resolve_citations(t, normal, q), kw_claims),
        Target("citations.restates_question", lambda t: citations.restates_question(t, t), kw_claims),
        Target("quotes.normalise", quotes.normalise, kw_quotes),
        Target("quotes.quoted_spans", quotes.quoted_spans, kw_quotes),
        Target("quotes.occurs(quote)", lambda t: quotes.occurs(t, [NORMAL_ARTICLE]), kw_quotes),
        Target("quotes.occurs(source)", lambda t: quotes.occurs("rate at 5.25 percent", [t]), kw_quotes),
        Target("quotes.unbalanced", quotes.unbalanced, kw_quotes),
        Target("quotes.unverified_quotes", lambda t: quotes.unverified_quotes(t, [t]), kw_quotes),
        Target("refusal.refusal_text", refusal.refusal_text, kw_refusal),
        Target("refusal.is_refusal_sentence", refusal.is_refusal_sentence, kw_refusal),
        Target("refusal.looks_like_refusal", refusal.looks_like_refusal, kw_refusal),
        Target(
            "llm.check_model_answer",
            lambda t: llm.check_model_answer(t, normal, q, refuse_no_answer=False),
            kw_claims,
        ),
        Target("llm.format_sources", lambda t: llm.format_sources(_sources(t)), kw_claims),
        Target("types.make_sources", _sources, kw_claims),
        Target(
            "extractive.extractive_answer", lambda t: extractive.extractive_answer(_score(q, t)), kw_claims
        ),
        Target("scoring.score(question)", lambda t: _score(t, NORMAL_ARTICLE), kw_answer),
        Target("scoring.score(source)", lambda t: _score(q, t), kw_answer),
        Target("answertype.names_and_numbers", answertype.names_and_numbers, kw_answer),
    ]
    return targets


def pattern_targets() -> list[Target]:
    out = []
    for name, pat in module_patterns():
        specs = tuple(keyword_specs(*pattern_words(pat)))
        out.append(Target(f"re {name}", lambda t, p=pat: sum(1 for _ in p.finditer(t)), specs))
    return out


def other_targets() -> list[Target]:
    """Text-taking functions of modules this audit may not change (ui/, corpus/, chunking.py), for
    their verdicts. Each is looked up when the bench runs: those modules change under other hands."""
    import importlib

    tags = (
        Spec("<"),
        Spec('<div class="understood">'),
        Spec('<div class="draft-label">'),
        Spec("\\[1"),
        Spec("www"),
        Spec("https"),
        Spec("---\n"),
        Spec("#"),
    )

    def call(module: str, attr: str, wrap: Callable[[Any], Callable[[str], object]]) -> Target | None:
        try:
            fn = getattr(importlib.import_module(f"assistant.{module}"), attr)
        except Exception as e:  # noqa: BLE001 - another engineer may be mid-edit
            print(f"{module}.{attr} skipped: {e}", file=sys.stderr)
            return None
        return Target(f"{module}.{attr}", wrap(fn), tags)

    def article(t: str) -> Any:
        from assistant.corpus import Article

        return Article(id="a", title="T", text=t, path="a.txt")

    found = [
        call("ui.render", "inert", lambda f: f),
        call("ui.render", "answer_html", lambda f: f),
        call("ui.render", "plain_title", lambda f: f),
        call("ui.history", "plain_text", lambda f: f),
        call("corpus.files", "normalize_date", lambda f: f),
        call("corpus.files", "json_too_deep", lambda f: lambda t: f(t, 20)),
        call("corpus.files", "_title_from_name", lambda f: lambda t: f(Path("000_f3.txt"), t)),
        call("corpus.files", "_looks_like_headline", lambda f: lambda t: f(t, "rest")),
        call("corpus.files", "_split_front_matter", lambda f: lambda t: f("---\n" + t)),
        call("chunking", "chunk_article", lambda f: lambda t: f(article(t))),
    ]
    return [t for t in found if t is not None]


def lift_limits() -> None:
    """Lifts the modules' limits on how much of a question they read, so that the patterns behind them
    are measured on the whole input."""
    for mod in (answertype, timescope):
        mod.MAX_QUESTION_CHARS = sys.maxsize  # type: ignore[attr-defined]


def _time(fn: Callable[[str], object], text: str, budget: float = 0.15, reps: int = 5) -> float:
    """The fastest of a few runs (one run when it is slow)."""
    best = math.inf
    spent = 0.0
    for _ in range(reps):
        gc.disable()  # a collection in the middle of a run is noise, not the target's cost
        try:
            t0 = time.perf_counter()
            fn(text)
            dt = time.perf_counter() - t0
        finally:
            gc.enable()
        best = min(best, dt)
        spent += dt
        if spent > budget:
            break
    return best


@dataclass
class Result:
    target: str
    spec: Spec
    small: float
    large: float
    sizes: tuple[int, int]

    @property
    def ratio(self) -> float:
        return self.large / max(self.small, 1e-7)


SCREEN = (1000, 8000)


def screen(target: Target, keep: int = 3) -> list[tuple[Spec, float]]:
    """The target's inputs that look worst at 1 KB and 8 KB (the slowest, the fastest-growing), each
    with its time at 8 KB."""
    rows = []
    for spec in dict.fromkeys(GENERIC + target.specs):
        t1 = _time(target.run, spec.build(SCREEN[0]), budget=0.02, reps=3)
        t8 = _time(target.run, spec.build(SCREEN[1]), budget=0.05, reps=3)
        growth = math.log(max(t8, 1e-7) / max(t1, 1e-7), SCREEN[1] / SCREEN[0])
        rows.append((spec, t8, growth if t8 > 2e-4 else 0.0))
    slowest = [(r[0], r[1]) for r in sorted(rows, key=lambda r: -r[1])[:keep]]
    growing = [(r[0], r[1]) for r in sorted(rows, key=lambda r: -r[2])[:keep]]
    return list(dict.fromkeys(slowest + growing))


def measure(target: Target, sizes: tuple[int, int], max_call: float) -> Result:
    """The worst ratio among the screened inputs. Sizes shrink for an input that would take more than
    max_call seconds at the larger size if it were quadratic (judged from its time at 8 KB)."""
    worst: Result | None = None
    for spec, t8 in screen(target):
        lo, hi = sizes
        fits = int(SCREEN[1] * math.sqrt(max_call / max(t8, 1e-9)))
        if fits < hi:
            lo, hi = max(fits, 2 * SCREEN[1]) // 2, max(fits, 2 * SCREEN[1])
        small = _time(target.run, spec.build(lo))
        large = _time(target.run, spec.build(hi))
        r = Result(target.name, spec, small, large, (lo, hi))
        if worst is None or (r.ratio, r.large) > (worst.ratio, worst.large):
            worst = r
    assert worst is not None
    return worst


def _row(r: Result) -> str:
    note = "" if r.sizes == SIZES else f"  (at {r.sizes[0] / 1000:.0f}/{r.sizes[1] / 1000:.0f} KB)"
    label = r.spec.label()
    label = label if len(label) <= 34 else label[:33] + "…"
    return f"{r.target:<46} {label:<35} {r.small:>9.4f} {r.large:>9.4f} {r.ratio:>6.2f}{note}"


SIZES = (50_000, 100_000)


def main() -> None:
    global SIZES
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs=2, default=list(SIZES), metavar=("SMALL", "LARGE"))
    ap.add_argument("--top", type=int, default=15, help="rows in the worst-ratio and slowest lists")
    ap.add_argument("--only", default="", help="targets whose name contains this")
    ap.add_argument("--others", action="store_true", help="add ui/, corpus/ and chunking.py")
    ap.add_argument("--max-call", type=float, default=20.0, help="seconds one call may take")
    ap.add_argument(
        "--limits", action="store_true", help="keep the length limits on questions (lifted by default)"
    )
    args = ap.parse_args()
    if not args.limits:
        lift_limits()
    SIZES = (args.sizes[0], args.sizes[1])
    targets = function_targets() + pattern_targets() + (other_targets() if args.others else [])
    targets = [t for t in targets if args.only in t.name]
    print(f"{len(targets)} targets; sizes {SIZES[0]:,} and {SIZES[1]:,} characters", file=sys.stderr)
    head = f"{'target':<46} {'worst input':<35} {'small s':>9} {'large s':>9} {'ratio':>6}"
    print(head)
    results = []
    t0 = time.perf_counter()
    for target in targets:
        r = measure(target, SIZES, args.max_call)
        results.append(r)
        print(_row(r), flush=True)
    print(f"\nWorst ratios (about 2 is linear, about 4 quadratic):\n{head}")
    for r in sorted(results, key=lambda r: -r.ratio)[: args.top]:
        print(_row(r))
    print(f"\nSlowest at the larger size:\n{head}")
    for r in sorted(results, key=lambda r: -r.large)[: args.top]:
        print(_row(r))
    superlinear = [r for r in results if r.ratio > 3.0 and r.large > 0.01]
    print(
        f"\n{len(results)} targets in {time.perf_counter() - t0:.0f} s; ratio > 3 and over 10 ms: "
        f"{len(superlinear)} ({', '.join(r.target for r in superlinear) or 'none'})"
    )


if __name__ == "__main__":
    main()
