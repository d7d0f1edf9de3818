from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.chunking import chunk_article, sentence_spans
from assistant.corpus import Article, load_paths
from tests.conftest import SEED


def seed() -> Article:
    return load_paths([SEED], 10**6).articles[0][1]


def test_chunks_are_exact_slices_with_deterministic_ids() -> None:
    art = seed()
    chunks = chunk_article(art, 800, 160)
    assert len(chunks) > 3
    assert [c.id for c in chunks] == [f"{art.id}:{n}" for n in range(len(chunks))]
    for c in chunks:
        assert art.text[c.start : c.end] == c.text
        assert len(c.text) <= 800
    assert chunk_article(art, 800, 160) == chunks  # deterministic
    # the whole text is covered
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(art.text) if not ch.isspace())


def test_chunks_end_at_sentence_boundaries() -> None:
    art = seed()
    for c in chunk_article(art, 800, 160):
        assert c.text.rstrip()[-1] in '.!?"”’)' or c.end == len(art.text.rstrip()), c.text[-40:]


def test_sentence_spans() -> None:
    text = 'He said "Yes." Then left. U.S. officials agreed.\nNew para here!'
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        'He said "Yes."',
        "Then left.",
        "U.S. officials agreed.",
        "New para here!",
    ]


words = st.sampled_from(
    ["alpha", "beta", "Gamma.", "delta,", "Echo!", "fox", "\n", "\n\n", "Hotel?", "x" * 30]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(words, min_size=1, max_size=400))
def test_any_text_chunks_into_exact_slices(tokens: list[str]) -> None:
    text = " ".join(tokens)
    if not text.strip():
        return
    art = Article(id="a", title="t", text=text)
    for c in chunk_article(art, 120, 30):
        assert text[c.start : c.end] == c.text
    for s, e in sentence_spans(text):
        assert text[s:e].strip() == text[s:e] and e > s
