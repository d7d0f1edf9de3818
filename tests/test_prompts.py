from assistant import prompts


def test_prompt_files_use_exactly_their_variables() -> None:
    files = {p.stem for p in prompts.PROMPTS_DIR.glob("*.txt")}
    assert files == set(prompts.VARIABLES), "every prompt file is pinned, and every pinned prompt exists"
    for name, expected in prompts.VARIABLES.items():
        assert prompts.variables(prompts.load(name)) == expected, name


def test_answer_prompt_formats_with_sources() -> None:
    from langchain_core.prompts import ChatPromptTemplate

    tpl = ChatPromptTemplate.from_messages(
        [("system", prompts.load("answer_system")), ("human", prompts.load("answer_user"))]
    )
    msgs = tpl.format_messages(today="2025-03-19", sources="[1] T\nText.", question="Q?")
    assert "Today is 2025-03-19" in msgs[1].content and "[1] T\nText." in msgs[1].content


def test_answer_prompt_starts_with_what_is_the_same_for_every_question() -> None:
    """llama.cpp reads the constant instructions once and reuses them (assistant/providers.py): the
    system prompt has no variables, and the user message starts with the first one that changes."""
    assert prompts.variables(prompts.load("answer_system")) == set()
    assert prompts.load("answer_user").startswith("Today is {today}.")
