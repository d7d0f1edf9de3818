"""Follow-up questions → standalone questions (assistant/ask/rewrite.py)."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from assistant import prompts
from assistant.ask.rewrite import is_follow_up, kept_what_was_typed, rule_rewrite, standalone

HISTORY = [
    ("user", "What did Putin agree to limit attacks on?"),
    ("assistant", "Putin agreed to limit attacks on Ukraine's energy infrastructure. [1]"),
]
PRIZE = [
    ("user", "Who won the Halvard Prize?"),
    ("assistant", "Welsh poet Idris Penhallow won the Halvard Prize for his collection Salt Lanterns. [1]"),
]


@pytest.mark.parametrize(
    "question",
    [
        "and what did Zelenskiy say?",
        "And Biden?",
        "What about Norway?",
        "how about Zelenskiy?",
        "What did he say?",
        "Where is she from?",
        "What is his next book about?",
        "How did they react?",
        "What did Zelenskiy say about it?",
        "When was that?",
        "Who else was there?",
        "What did that mean for energy prices?",
        "Why?",
        "How many?",
        "For how long?",
        "Who won?",
        "Which comet did it photograph?",
        "Which union is behind that walkout?",
        "Who was their playoff MVP?",
        "Who's their leader?",
        "Who lent it to her?",
        "Which bestselling novel did she write?",
        "How much is that deal worth?",
        "Since when?",
        "What was the final score?",
        "How much did it cost?",
        "Who was the runner-up?",
    ],
)
def test_questions_that_cannot_stand_alone_are_follow_ups(question: str) -> None:
    assert is_follow_up(question, HISTORY)
    assert not is_follow_up(question, [])  # nothing to follow


@pytest.mark.parametrize(
    "question",
    [
        "Who is the new CEO of Twitter?",
        "Which state is Senator Edda Morrow from?",
        "Who won the Halvard Prize for poetry this year?",
        "Which river flooded Marlow in March?",
        "Actor Brannon Vale retired on Monday. He is best remembered for which radio drama?",
        "Which shipping firm said it would close 40 depots?",
        "Why did some towns postpone their harvest fairs?",
        "How long did the rescue take?",
        "What did the central bank decide on Wednesday?",
        "It's confirmed: the band's fifth record arrives in October. What is it named?",
        "With his 500th wicket, which Lancashire bowler set the county record?",
        "Engineers say they have traced the fault. What is it?",
        "Is it true that the bridge reopened?",
        "Which typhoon that has hit Okinawa is the strongest?",
        "Who is Edda Morrow?",
        "How long did it take rescuers to reach the miners?",
        "What is the capital of France?",
    ],
)
def test_questions_that_name_their_own_subject_are_left_as_typed(question: str) -> None:
    assert not is_follow_up(question, HISTORY)
    assert standalone(question, HISTORY).question == question
    assert standalone(question, HISTORY).how == "as asked"


def test_the_rule_adds_the_conversation_s_topic() -> None:
    assert rule_rewrite("and what did Zelenskiy say?", HISTORY) == (
        "and what did Zelenskiy say? (Ukraine Putin agree limit attacks)"
    )
    # a pronoun about the person the last answer named gets that name first
    got = rule_rewrite("Where is he from?", PRIZE)
    assert got.startswith("Where is he from? (") and got.index("Idris Penhallow") < got.index("Halvard Prize")
    got = standalone("Where is he from?", PRIZE)
    assert got.how == "rule" and "Idris Penhallow" in got.question


def test_days_and_months_are_not_taken_for_the_topic() -> None:
    history = [
        ("user", "Who won the chess championship?"),
        ("assistant", "On Sunday, a 15-year-old from Leeds won the championship in March. [1]"),
    ]
    got = rule_rewrite("How old is she?", history)
    assert "Leeds" in got and "Sunday" not in got and "March" not in got


def test_a_follow_up_of_a_follow_up_keeps_the_first_topic() -> None:
    history = [*HISTORY, ("user", "and what did Zelenskiy say?"), ("assistant", "He agreed. [1]")]
    assert "Putin" in rule_rewrite("When was that?", history)


def test_rewrites_must_keep_what_was_typed() -> None:
    q = "And what did Zelenskiy say in 2025?"
    assert kept_what_was_typed(q, "What did Zelenskiy say in 2025 about Putin's offer?")
    assert not kept_what_was_typed(q, "What did Putin say in 2025?")  # lost a name
    assert not kept_what_was_typed(q, "What did Zelenskiy say about Putin's offer?")  # lost a number
    assert not kept_what_was_typed(q, q)  # added nothing
    said = "What did Putin agree to limit attacks on? He agreed to limit attacks on energy infrastructure."
    assert kept_what_was_typed(q, "What did Zelenskiy say in 2025 about Putin's offer?", said)
    # what it adds must come from the conversation, not be a vaguer wording of the question
    assert not kept_what_was_typed(q, "What did Zelenskiy say in 2025 about the proposal?", said)


class Recording:
    """A chat model that always replies the same and keeps the prompts it was sent."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def invoke(self, messages):  # type: ignore[no-untyped-def]
        self.prompts.append("\n".join(str(m.content) for m in messages))
        return AIMessage(self.reply)


def fake(reply: str) -> Recording:
    return Recording(reply)


def test_the_model_s_rewrite_is_used_when_it_keeps_what_was_typed() -> None:
    model = fake("What did Zelenskiy say about Putin's offer to limit attacks on energy infrastructure?")
    got = standalone("and what did Zelenskiy say?", HISTORY, model, prompts.load("condense"))
    assert got.how == "llm" and got.question.startswith("What did Zelenskiy say about Putin")
    # the model was shown the conversation (without citation markers) and the question
    (prompt,) = model.prompts
    assert "User: What did Putin agree to limit attacks on?" in prompt
    assert "Assistant: Putin agreed to limit attacks on Ukraine's energy infrastructure." in prompt
    assert "Last question: and what did Zelenskiy say?" in prompt and "[1]" not in prompt


@pytest.mark.parametrize(
    "reply",
    [
        "What did Putin say about energy infrastructure?",  # dropped Zelenskiy
        "What did Zelenskiy say about the proposal?",  # added nothing the conversation said
        "and what did Zelenskiy say?",  # added nothing
        "",
        "What did Zelenskiy say about " + "energy " * 800 + "?",  # keeps the name, but far too long
    ],
)
def test_a_rewrite_that_loses_what_was_typed_is_rejected_for_the_rule(reply: str) -> None:
    got = standalone("and what did Zelenskiy say?", HISTORY, fake(reply), prompts.load("condense"))
    assert got.how == "llm rejected"
    assert got.question == "and what did Zelenskiy say? (Ukraine Putin agree limit attacks)"


def test_a_failing_model_falls_back_to_the_rule() -> None:
    class Broken:
        def invoke(self, _messages):  # type: ignore[no-untyped-def]
            raise ConnectionError("model server down")

    got = standalone("And Biden?", PRIZE, Broken(), prompts.load("condense"))
    assert got.how == "llm rejected" and got.question == rule_rewrite("And Biden?", PRIZE)
    assert got.question.startswith("And Biden? (") and "Halvard Prize" in got.question
