from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.chunking import chunk_article
from assistant.corpus import Article, load_paths
from assistant.sentences import sentence_spans
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


def test_a_heading_starts_a_chunk() -> None:
    para = " ".join(f"Sentence {i} of the first part is here." for i in range(14))
    text = f"{para}\nSecond part\n{para}"
    chunks = chunk_article(Article(id="a", title="t", text=text), 800, 0)
    heading = text.index("Second part")
    assert any(c.start == heading for c in chunks)
    assert not any(c.text.endswith("Second part") for c in chunks)


def test_chunks_are_whole_sentences() -> None:
    art = seed()
    spans = sentence_spans(art.text)
    for c in chunk_article(art, 800, 160):
        assert c.start in {s for s, _ in spans} and c.end in {e for _, e in spans}
        assert c.text.rstrip()[-1] in '.!?"”’)' or c.end == len(art.text.rstrip()), c.text[-40:]


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
    chunks = chunk_article(art, 120, 30)
    assert chunks
    covered = set()
    for c in chunks:
        assert text[c.start : c.end] == c.text and len(c.text) <= 120
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_chunks_are_runs_of_whole_sentences_with_overlap() -> None:
    sentences = [f"Sentence number {i} is about Rep. Ana Silva and the U.S. budget." for i in range(30)]
    text = " ".join(sentences)
    chunks = chunk_article(Article(id="a", title="t", text=text), 200, 70)
    starts = {text.index(s) for s in sentences}
    ends = {text.index(s) + len(s) for s in sentences}
    assert len(chunks) >= 10 and chunks[0].start == 0 and chunks[-1].end == len(text)
    assert chunks[0].end in ends and len(chunks[0].text) <= 200
    for prev, c in zip(chunks, chunks[1:]):
        assert c.start in starts and c.end in ends and len(c.text) <= 200
        assert c.start < prev.end  # the next chunk repeats the last sentence of the one before
        assert prev.end - c.start <= 70


def test_a_sentence_longer_than_a_chunk_is_cut_at_spaces() -> None:
    text = " ".join(["word"] * 100) + ". Short one."
    chunks = chunk_article(Article(id="a", title="t", text=text), 120, 20)
    assert len(chunks) >= 4
    for c in chunks:
        assert len(c.text) <= 120 and text[c.start : c.end] == c.text
        # never inside a word
        assert (c.start == 0 or text[c.start - 1].isspace()) and (
            c.end == len(text) or not text[c.end].isalpha()
        )
    assert chunks[-1].text.endswith("Short one.")
