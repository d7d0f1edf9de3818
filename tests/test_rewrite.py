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


def test_the_rule_puts_the_subject_where_the_pronoun_stands() -> None:
    # a pronoun about the person the last answer named, asked who: that name, in the pronoun's place
    assert rule_rewrite("Where is he from?", PRIZE).startswith("Where is Idris Penhallow from?")
    assert rule_rewrite("What is his next book about?", PRIZE).startswith(
        "What is Idris Penhallow's next book about?"
    )
    # a person the earlier question named
    assert rule_rewrite("What did he say?", HISTORY) == "What did Putin say?"
    assert rule_rewrite("And what did he demand in return?", HISTORY) == "What did Putin demand in return?"
    got = standalone("Where is he from?", PRIZE)
    assert got.how == "rule" and "Idris Penhallow" in got.question


SANTOS = [
    ("user", "How many House members voted to expel Rep. Corwin Alder?"),
    ("assistant", "The House voted 311-114 to expel embattled Rep. Corwin Alder, R-N.Y., the sixth member ever. [1]"),
]
MERGER = [
    ("user", "Which two grocers plan to merge next year?"),
    ("assistant", "The proposed merger of Fenwick Foods and Dalby Markets would combine two chains. [1]"),
]


def test_names_never_come_as_a_list() -> None:
    for question, history in (
        ("What did he spend his campaign funds on?", SANTOS),
        ("Who was expelled before him?", SANTOS),
        ("Where is she from?", PRIZE),
        ("Why?", HISTORY),
    ):
        got = rule_rewrite(question, history)
        assert "(" not in got or "(following “" in got, got  # no bracket of keywords
        assert got.count("?") <= 2 and len(got) < 3 * len(question) + 120
    assert rule_rewrite("What did he spend his campaign funds on?", SANTOS) == (
        "What did Corwin Alder spend his campaign funds on?"  # the title is not part of the name
    )


def test_that_thing_and_there() -> None:
    assert rule_rewrite("How much is that prize worth?", PRIZE) == "How much is the Halvard Prize worth?"
    yellow = [("user", "Which park closed after the floods in Montana?"), ("assistant", "Quarry Park closed. [1]")]
    assert "Montana" in rule_rewrite("Who's the superintendent there?", yellow)


def test_with_nowhere_to_put_a_name_it_says_what_it_follows() -> None:
    assert rule_rewrite("Why?", HISTORY) == "Why? (following “What did Putin agree to limit attacks on?”)"
    got = rule_rewrite("How much is that deal worth?", MERGER)
    assert got.startswith("How much is that deal worth? (following “Which two grocers plan to merge next year?”")


def test_what_about_puts_the_new_name_in_the_earlier_question() -> None:
    assert rule_rewrite("What about Norway?", HISTORY) == "What did Norway agree to limit attacks on?"
    assert rule_rewrite("And Biden?", HISTORY) == "What did Biden agree to limit attacks on?"
    assert rule_rewrite("What about his brother?", HISTORY) == "What did Putin's brother agree to limit attacks on?"
    # not a name: nothing is put in the subject's place; the question says what it follows
    got = rule_rewrite("What about among young voters?", HISTORY)
    assert got.startswith("What about among young voters? (following “What did Putin agree")


def test_the_subject_comes_from_the_turn_the_follow_up_belongs_to() -> None:
    # an unrelated question in between: the follow-up's own words point at the earlier turn
    history = [
        *SANTOS,
        ("user", "What did Putin agree to limit attacks on?"),
        ("assistant", "Putin agreed to limit attacks on Ukraine's energy infrastructure. [1]"),
    ]
    assert rule_rewrite("Which House members voted against expelling him?", history) == (
        "Which House members voted against expelling Corwin Alder?"
    )
    # a name the conversation never said: the articles that mention it beside an earlier subject decide
    related = {("Traficant", "Corwin Alder")}
    got = rule_rewrite("And what about Traficant?", history, lambda a, b: (a, b) in related)
    assert "Traficant" in got and "Putin" not in got and "limit attacks" not in got
    # without that link, the latest turn
    assert "limit attacks" in rule_rewrite("And what about Traficant?", history, lambda a, b: False)


def test_days_and_months_are_not_taken_for_the_topic() -> None:
    history = [
        ("user", "Who won the chess championship?"),
        ("assistant", "On Sunday, Ada Quill of Leeds won the championship in March. [1]"),
    ]
    got = rule_rewrite("How old is she?", history)
    assert got.startswith("How old is Ada Quill?") and "Sunday" not in got and "March" not in got


def test_a_follow_up_of_a_follow_up_keeps_the_first_topic() -> None:
    history = [*HISTORY, ("user", "and what did Zelenskiy say?"), ("assistant", "He agreed. [1]")]
    assert "Putin" in rule_rewrite("When was that?", history)
    history = [*PRIZE, ("user", "Where is he from?"), ("assistant", "Penhallow was born in Tenby. [1]")]
    assert "Idris Penhallow" in rule_rewrite("How old is he?", history)


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
    assert got.question == rule_rewrite("and what did Zelenskiy say?", HISTORY)


def test_a_model_rewrite_that_leaves_out_the_subject_is_rejected() -> None:
    got = standalone("What did he say?", HISTORY, fake("What did Zelenskiy say about the talks?"), prompts.load("condense"))
    assert got.how == "llm rejected" and got.question == "What did Putin say?"


def test_a_failing_model_falls_back_to_the_rule() -> None:
    class Broken:
        def invoke(self, _messages):  # type: ignore[no-untyped-def]
            raise ConnectionError("model server down")

    got = standalone("And Biden?", PRIZE, Broken(), prompts.load("condense"))
    assert got.how == "llm rejected" and got.question == rule_rewrite("And Biden?", PRIZE)
    assert "Biden" in got.question and "Halvard Prize" in got.question
