"""The answering chain end to end with the extractive answerer, on a real index."""

from __future__ import annotations

import json
from dataclasses import replace

from typer.testing import CliRunner

from assistant.answer.refusal import CLOSEST_LEAD
from assistant.cli import app
from assistant.service import Assistant
from tests.conftest import SEED


def check_quotes(assistant: Assistant, answer) -> None:  # type: ignore[no-untyped-def]
    import re

    # every citation is marked in the answer, or in the quotes shown before a model's answer
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", f"{answer.text} {answer.quotes}")}
    assert markers == {c.n for c in answer.citations}
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert assistant.index.article(c.article_id).text[c.start : c.end] == c.quote


def test_seed_question_is_answered_with_the_exact_sentence(seeded: Assistant) -> None:
    answer = seeded.ask("What did Putin agree to limit attacks on?")
    assert not answer.refused
    assert "energy infrastructure" in answer.text and "[1]" in answer.text
    assert answer.citations[0].article_id == SEED.name
    assert "limit attacks on Ukraine's energy infrastructure" in answer.citations[0].quote
    check_quotes(seeded, answer)


def test_unsupported_question_is_refused(seeded: Assistant) -> None:
    answer = seeded.ask("What is the population of Brazil?")
    assert answer.refused and answer.citations == []
    assert answer.text.startswith("The indexed articles don't say")


def test_a_weak_passage_on_the_topic_is_shown_as_the_closest_not_as_an_answer(seeded: Assistant) -> None:
    """Below the support threshold, an on-topic passage is quoted as "the closest passage", visibly not
    an answer; an off-topic question still gets the bare refusal."""
    settings = seeded.settings.model_copy(deep=True)
    settings.answer.min_support = 1.0  # nothing is supported: the hedge or the refusal decides
    strict = replace(seeded, settings=settings, _chains={})
    answer = strict.ask("What did Putin agree to limit attacks on?")
    assert answer.kind == "closest" and answer.refused
    assert answer.text.startswith(CLOSEST_LEAD) and answer.text.endswith("[1]")
    assert len(answer.citations) == 1 and f"“{answer.citations[0].quote}”" in answer.text
    check_quotes(seeded, answer)
    off = strict.ask("What is the population of Brazil?")
    assert off.kind == "none" and off.refused and off.citations == []
    assert off.text.startswith("The indexed articles don't say")
    # the hedge needs the passage to cover the question's words
    settings.answer.closest_coverage = 1.01
    assert replace(strict, _chains={}).ask("What did Putin agree to limit attacks on?").kind == "none"
    # an answer says so too
    assert seeded.ask("What did Putin agree to limit attacks on?").kind == "answer"


def test_extractive_stream_yields_only_the_checked_answer(seeded: Assistant) -> None:
    parts = list(seeded.stream("Who will lead the US delegation to Saudi Arabia?"))
    assert [list(p) for p in parts] == [["answer"]]  # quotes only: nothing unchecked is streamed
    final = parts[-1]["answer"]
    assert "Rubio" in final.text
    check_quotes(seeded, final)
    assert final.timings["total_ms"] > 0


def test_follow_up_retrieves_zelenskiy_statement(seeded: Assistant) -> None:
    history = [
        ("user", "What did Putin agree to limit attacks on?"),
        ("assistant", "Energy infrastructure. [1]"),
    ]
    answer = seeded.ask("and what did Zelenskiy say?", history)
    assert "Putin" in answer.standalone_question and answer.rewrite == "rule"
    # His statement is found and quoted. With the weights fitted without age this one-article corpus
    # sits just below the threshold (0.60 against 0.65), so it comes as an answer or as the closest
    # passage: the rewrite and the retrieval are what is tested here.
    assert answer.kind in ("answer", "closest"), answer.text
    assert any("Zelenskiy" in c.quote or "Putin effectively rejected" in c.quote for c in answer.citations)
    check_quotes(seeded, answer)


def test_cli_ask_json(seeded: Assistant) -> None:
    r = CliRunner().invoke(
        app,
        [
            "ask",
            "What did Putin agree to limit attacks on?",
            "--json",
            "--backend",
            "extractive",
            "--index-dir",
            str(seeded.settings.index_dir),
            "--date",
            "2025-03-20",
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {"answer", "citations", "refused", "answer_kind", "timings"} <= set(out)
    assert out["answer_kind"] == "answer" and not out["refused"]
    assert "energy infrastructure" in out["answer"] and out["citations"][0]["quote"] in SEED.read_text()
    bad = CliRunner().invoke(
        app, ["ask", "x", "--date", "20/03/2025", "--index-dir", str(seeded.settings.index_dir)]
    )
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


class Recorder:
    """A chat model (a LangChain runnable) that always writes `reply` and keeps every prompt it is sent."""

    def __init__(self, reply: str) -> None:
        from langchain_core.messages import AIMessage
        from langchain_core.runnables import RunnableLambda

        self.prompts: list[str] = []

        def answer(prompt):  # type: ignore[no-untyped-def]
            self.prompts.append(prompt.to_string() if hasattr(prompt, "to_string") else str(prompt))
            return AIMessage(reply)

        self.runnable = RunnableLambda(answer)


def with_model_reply(seeded: Assistant, reply: str) -> tuple[Assistant, Recorder]:
    """The seeded assistant with a chat model that always writes `reply` (tests of what we do with it)."""
    from dataclasses import replace

    rec = Recorder(reply)
    return replace(seeded, backend="llamacpp", chat_model=rec.runnable, _chains={}), rec


def check_prompt(rec: Recorder, question: str) -> None:
    """The model was asked the question, with numbered sources and today's date."""
    (prompt,) = rec.prompts
    assert f"Question: {question}" in prompt and "Today is " in prompt
    assert "[1] " in prompt and "energy infrastructure" in prompt


def test_model_answer_is_kept_with_its_verified_citation(seeded: Assistant) -> None:
    reply = "Putin agreed to limit attacks on energy infrastructure. [1]"
    model, rec = with_model_reply(seeded, reply)
    parts = list(model.stream("What did Putin agree to limit attacks on?"))
    check_prompt(rec, "What did Putin agree to limit attacks on?")
    assert "".join(p["draft"] for p in parts if "draft" in p) == reply  # the draft, streamed
    answer = parts[-1]["answer"]
    assert answer.text == reply and not answer.refused and answer.from_model
    assert "energy infrastructure" in answer.citations[0].quote
    check_quotes(seeded, answer)


def test_the_verified_quotes_come_before_the_model_writes(seeded: Assistant) -> None:
    """Evidence first: the quotes, checked, before the first token of the model; the model's answer then
    keeps them (numbered in one series with its own citations)."""
    model, _ = with_model_reply(seeded, "Putin agreed to limit attacks on energy infrastructure. [1]")
    parts = list(model.stream("What did Putin agree to limit attacks on?"))
    kinds = [next(iter(p)) for p in parts]
    assert kinds[0] == "evidence" and kinds[1] == "draft" and kinds[-1] == "answer"
    evidence, answer = parts[0]["evidence"], parts[-1]["answer"]
    assert "energy infrastructure" in evidence.text and not evidence.from_model
    check_quotes(seeded, evidence)
    assert answer.quotes == evidence.text
    assert {c.quote for c in evidence.citations} <= {c.quote for c in answer.citations}
    assert 0 < answer.timings["useful_ms"] <= answer.timings["ttft_ms"] <= answer.timings["total_ms"]
    # a question the sources do not hold shows no evidence: the refusal is all there is
    off = [next(iter(p)) for p in model.stream("What is the population of Brazil?")]
    assert off == ["answer"]


def test_model_answer_that_only_repeats_the_question_is_replaced_by_quotes(seeded: Assistant) -> None:
    reply = "Putin agreed to limit attacks. [1]"
    model, rec = with_model_reply(seeded, reply)
    answer = model.ask("What did Putin agree to limit attacks on?")
    check_prompt(rec, "What did Putin agree to limit attacks on?")
    assert answer.text != reply and not answer.refused and not answer.from_model
    assert "energy infrastructure" in answer.text
    assert any("only restates the question" in n for n in answer.notes)
    check_quotes(seeded, answer)


def test_model_saying_no_answer_gets_quotes_when_the_gate_passed(seeded: Assistant) -> None:
    reply = "The indexed articles don't say."
    model, rec = with_model_reply(seeded, reply)
    answer = model.ask("What did Putin agree to limit attacks on?")
    check_prompt(rec, "What did Putin agree to limit attacks on?")
    assert not answer.refused and "energy infrastructure" in answer.text and not answer.from_model
    assert any("the model found no answer" in n for n in answer.notes)
    check_quotes(seeded, answer)
    # Raised above the estimate, the setting lets the model's "no" refuse: the on-topic passage is then
    # shown as the closest one, not as an answer.
    cfg = seeded.settings
    strict = cfg.model_copy(update={"answer": cfg.answer.model_copy(update={"confident_support": 1.0})})
    strict_model, _ = with_model_reply(replace(seeded, settings=strict), reply)
    answer = strict_model.ask("What did Putin agree to limit attacks on?")
    assert answer.refused and answer.kind == "closest" and answer.text.startswith(CLOSEST_LEAD)
    check_quotes(seeded, answer)


def test_model_inventing_a_quotation_shows_the_source_s_own_sentence(seeded: Assistant) -> None:
    reply = 'Putin said "we will stop all attacks on Ukraine forever" [1].'
    model, rec = with_model_reply(seeded, reply)
    answer = model.ask("What did Putin agree to limit attacks on?")
    check_prompt(rec, "What did Putin agree to limit attacks on?")
    assert "forever" not in answer.text and answer.citations
    assert any("is not in the source it cites" in n for n in answer.notes)
    check_quotes(seeded, answer)


def test_model_sentence_without_support_is_left_out(seeded: Assistant) -> None:
    reply = (
        "Putin agreed to limit attacks on Ukraine's energy infrastructure [1]. "
        "Zelenskiy announced he would resign on Friday [1]."
    )
    model, rec = with_model_reply(seeded, reply)
    answer = model.ask("What did Putin agree to limit attacks on?")
    check_prompt(rec, "What did Putin agree to limit attacks on?")
    assert answer.from_model and "resign" not in answer.text and "energy infrastructure" in answer.text
    assert any("no source supports it" in n for n in answer.notes)
    check_quotes(seeded, answer)
