from __future__ import annotations

from pathlib import Path

import pytest

from assistant.providers import SentenceEmbedder
from assistant.settings import EmbeddingSettings, Settings
from assistant.store import EmbeddingMismatch, Index
from tests.conftest import ARTICLES, open_index, write_corpus


def all_chunk_ids(index: Index) -> list[str]:
    return sorted(index.chunks.get(include=[])["ids"])


def test_first_index_then_noop(settings: Settings, embedder: SentenceEmbedder) -> None:
    corpus = write_corpus(settings.corpus_dirs[0])
    index = open_index(settings, embedder)
    r1 = index.sync([corpus])
    assert (r1.added, r1.updated, r1.unchanged, r1.removed, r1.failed) == (3, 0, 0, 0, [])
    assert r1.chunks_embedded == index.chunks.count() > 0
    ids = all_chunk_ids(index)
    assert "rates.txt:0" in ids and "https://news.example.org/volcano:0" in ids

    r2 = index.sync([corpus])
    assert (r2.added, r2.updated, r2.unchanged, r2.removed, r2.chunks_embedded) == (0, 0, 3, 0, 0)
    assert all_chunk_ids(index) == ids

    # a fresh process (new Index on the same store) sees the same state and still does nothing
    again = open_index(settings, embedder)
    assert again.sync([corpus]).chunks_embedded == 0
    stats = again.stats()
    assert stats["articles"] == 3 and stats["chunks"] == len(ids)
    assert stats["embedding_model"] == "all-MiniLM-L6-v2" and stats["last_sync"]
    assert stats["newest_article"] == "2024-03-17"


def test_edit_one_article_reembeds_only_it(settings: Settings, embedder: SentenceEmbedder) -> None:
    corpus = write_corpus(settings.corpus_dirs[0])
    index = open_index(settings, embedder)
    index.sync([corpus])
    before = {
        c: index.chunks.get(ids=[c], include=["documents"])["documents"][0] for c in all_chunk_ids(index)
    }

    # the edited article becomes shorter: its old tail chunks must not survive
    (corpus / "chess.txt").write_text("Teenager wins national chess title\nShe won in 42 moves.\n")
    r = index.sync([corpus])
    assert (r.added, r.updated, r.unchanged, r.removed) == (0, 1, 2, 0)
    assert r.chunks_embedded == 1
    after = all_chunk_ids(index)
    assert [c for c in after if c.startswith("chess.txt:")] == ["chess.txt:0"]
    assert (
        index.chunks.get(ids=["chess.txt:0"], include=["documents"])["documents"][0] == "She won in 42 moves."
    )
    for cid, doc in before.items():
        if not cid.startswith("chess.txt"):
            assert index.chunks.get(ids=[cid], include=["documents"])["documents"][0] == doc
    # the lexical index follows
    assert index.lexical_search("42 moves", 3)[0][0] == "chess.txt:0"
    assert index.article("chess.txt").text == "She won in 42 moves."


def test_deleted_article_disappears(settings: Settings, embedder: SentenceEmbedder) -> None:
    corpus = write_corpus(settings.corpus_dirs[0])
    index = open_index(settings, embedder)
    index.sync([corpus])
    assert index.lexical_search("chess championship", 5)
    (corpus / "chess.txt").unlink()
    r = index.sync([corpus])
    assert (r.removed, r.unchanged, r.chunks_embedded) == (1, 2, 0)
    assert not [c for c in all_chunk_ids(index) if c.startswith("chess.txt")]
    assert index.article("chess.txt") is None
    assert all(not cid.startswith("chess.txt") for cid, _ in index.lexical_search("chess championship", 5))
    hits = index.dense_search("chess championship", 10)
    assert hits and all(c.article_id != "chess.txt" for c, _ in hits)


def test_removal_is_scoped_to_the_synced_folders(
    settings: Settings, embedder: SentenceEmbedder, tmp_path: Path
) -> None:
    a = write_corpus(tmp_path / "a", {"rates.txt": ARTICLES["rates.txt"]})
    b = write_corpus(tmp_path / "b", {"chess.txt": ARTICLES["chess.txt"]})
    index = open_index(settings, embedder)
    index.sync([a])
    r = index.sync([b])
    assert (r.added, r.removed) == (1, 0)  # syncing b does not remove what came from a
    assert index.stats()["articles"] == 2


def test_bad_files_never_cost_indexed_articles(settings: Settings, embedder: SentenceEmbedder) -> None:
    corpus = write_corpus(settings.corpus_dirs[0])
    index = open_index(settings, embedder)
    index.sync([corpus])
    n_chunks = index.chunks.count()
    # an indexed file is damaged, and new junk arrives
    (corpus / "chess.txt").write_bytes(b"\xff\xfe broken \x00 bytes")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (corpus / "good.md").write_text("# Fresh news\n\nA new bridge opened in Porto on Monday.\n")
    r = index.sync([corpus])
    assert sorted(Path(f.path).name for f in r.failed) == ["chess.txt", "empty.txt", "photo.jpg"]
    assert (r.added, r.removed) == (1, 0)
    assert index.article("chess.txt") is not None  # the last good version stays searchable
    assert index.chunks.count() > n_chunks


def test_embedding_model_mismatch_is_refused_with_the_fix(
    local_settings: Settings, embedder: SentenceEmbedder, tmp_path: Path
) -> None:
    index = open_index(local_settings, embedder)
    index.sync([write_corpus(local_settings.corpus_dirs[0])])
    other_model = tmp_path / "other-model"
    other_model.mkdir()
    other = SentenceEmbedder(EmbeddingSettings(model=str(other_model)))
    with pytest.raises(EmbeddingMismatch, match="rebuild it with `assistant index --rebuild`"):
        open_index(local_settings, other)


def test_rebuild_reembeds_everything(local_settings: Settings, embedder: SentenceEmbedder) -> None:
    corpus = write_corpus(local_settings.corpus_dirs[0])
    index = open_index(local_settings, embedder)
    first = index.sync([corpus])
    index.rebuild()
    assert index.chunks.count() == 0 and index.lexical_search("chess", 3) == []
    again = index.sync([corpus])
    assert again.added == 3 and again.chunks_embedded == first.chunks_embedded


def test_changing_chunk_settings_reembeds(local_settings: Settings, embedder: SentenceEmbedder) -> None:
    corpus = write_corpus(local_settings.corpus_dirs[0])
    open_index(local_settings, embedder).sync([corpus])
    local_settings.chunks.size = 100
    local_settings.chunks.overlap = 0
    r = open_index(local_settings, embedder).sync([corpus])
    assert r.updated == 3 and r.chunks_embedded > 3
