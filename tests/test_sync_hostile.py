"""Index.sync against hostile corpora: every bad file or article fails alone with one line naming it by its
relative path, nothing indexed is lost, nothing is embedded twice after a failure, writes respect the
client's batch limit, and an article id cannot be taken over by another file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, cast

import pytest

from assistant.providers import SentenceEmbedder, make_chroma_client
from assistant.settings import Settings
from assistant.store import Index, IndexError_, SyncReport
from tests.conftest import ARTICLES, open_index, write_corpus

VOLCANO = "https://news.example.org/volcano"


def assert_still_searchable(index: Index) -> None:
    """The three articles of the base corpus answer dense and lexical queries."""
    for query, aid in [
        ("chess championship 42 moves", "chess.txt"),
        ("interest rate 5.25 percent", "rates.txt"),
        ("volcano Grindavik lava", VOLCANO),
    ]:
        assert index.dense_search(query, 1)[0][0].article_id == aid, query
        assert index.lexical_search(query, 1)[0][0].startswith(aid + ":"), query
        assert index.article(aid) is not None


def failures(report: SyncReport) -> dict[str, str]:
    return {f.path: f.error for f in report.failed}


def assert_no_server_paths(report: SyncReport, tmp_path: Path) -> None:
    for f in report.failed:
        assert str(tmp_path) not in f.path + f.error and "\n" not in f.error, f


class FlakyEmbedder:
    """The real embedder, except that texts holding ``poison`` fail (or everything does when broken);
    remembers every text it was asked to embed."""

    def __init__(self, real: SentenceEmbedder, poison: str = "POISON") -> None:
        self.real, self.name, self.poison = real, real.name, poison
        self.broken = False
        self.calls: list[str] = []

    def encode(self, texts: list[str]) -> list[list[float]]:
        self.calls.extend(texts)
        if self.broken:
            raise RuntimeError("the model crashed")
        if any(self.poison in t for t in texts):
            raise ValueError("this text cannot be embedded")
        return self.real.encode(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.real.embed_query(text)


class LimitedCollection:
    """A Chroma collection that refuses writes bigger than ``limit`` records, as Chroma does past
    get_max_batch_size() (5,461 here)."""

    def __init__(self, inner: Any, limit: int, sizes: list[int]) -> None:
        self.inner, self.limit, self.sizes = inner, limit, sizes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _write(self, op: str, kw: dict[str, Any]) -> Any:
        n = len(kw.get("ids") or [])
        self.sizes.append(n)
        if n > self.limit:
            raise ValueError(f"Batch size of {n} is greater than max batch size of {self.limit}")
        return getattr(self.inner, op)(**kw)

    def upsert(self, **kw: Any) -> Any:
        return self._write("upsert", kw)

    def add(self, **kw: Any) -> Any:
        return self._write("add", kw)

    def update(self, **kw: Any) -> Any:
        return self._write("update", kw)

    def delete(self, **kw: Any) -> Any:
        return self._write("delete", kw)


class LimitedClient:
    def __init__(self, inner: Any, limit: int) -> None:
        self.inner, self.limit = inner, limit
        self.sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_max_batch_size(self) -> int:
        return self.limit

    def get_or_create_collection(self, *a: Any, **k: Any) -> LimitedCollection:
        return LimitedCollection(self.inner.get_or_create_collection(*a, **k), self.limit, self.sizes)


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 6)]
    return "\n".join([*lines, "title: *a5"])


def test_hostile_files_fail_alone_and_cost_nothing_indexed(
    settings: Settings, embedder: SentenceEmbedder, tmp_path: Path
) -> None:
    corpus = write_corpus(settings.corpus_dirs[0])
    index = open_index(settings, embedder)
    index.sync([corpus])
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "hostname.txt").write_text("Server name\nprivate-host-name-7731 runs the index.\n")

    (corpus / "deep.json").write_text("[" * 5000)
    (corpus / "deep.md").write_text("---\ntitle: " + "[" * 5000 + "\n---\nBody text.\n")
    (corpus / "bomb.md").write_text(f"---\n{_alias_bomb()}\n---\nBody text.\n")
    (corpus / "loop.txt").symlink_to("loop.txt")
    (corpus / "hostname.txt").symlink_to(outside / "hostname.txt")
    (corpus / "title.json").write_text(json.dumps({"title": "Headline " * 12_000, "text": "A ferry sank."}))
    (corpus / "bridge.md").write_text("# Bridge opens in Porto\n\nA new bridge opened in Porto on Monday.\n")
    r = index.sync([corpus])

    assert failures(r) == {
        "corpus/deep.json": "JSON is nested deeper than 20 levels (ASSISTANT_CORPUS__MAX_JSON_DEPTH)",
        "corpus/deep.md": "YAML front matter is nested deeper than 20 levels",
        "corpus/bomb.md": "YAML aliases and anchors (* and &) are not allowed in front matter",
        "corpus/loop.txt": "symbolic link loop",
        "corpus/hostname.txt": "symbolic link to outside the synced folder (not followed)",
    }
    assert_no_server_paths(r, tmp_path)
    assert (r.added, r.updated, r.unchanged, r.removed) == (2, 0, 3, 0)
    assert all("private-host" not in c.text for c, _ in index.dense_search("private-host-name-7731", 5))
    # a 100 KB title is not copied into every chunk: it is capped
    meta = index.chunks.get(ids=["title.json#1:0"], include=["metadatas"])["metadatas"][0]
    assert len(meta["title"]) <= settings.corpus.max_title_chars
    assert_still_searchable(index)


def test_an_unexpected_chunking_error_fails_only_its_article(
    local_settings: Settings, embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(local_settings.corpus_dirs[0])
    import assistant.store.sync as index_module

    real = index_module.chunk_article

    def chunk(article, size, overlap):  # type: ignore[no-untyped-def]
        if article.id == "chess.txt":
            raise RecursionError("maximum recursion depth exceeded")
        return real(article, size, overlap)

    monkeypatch.setattr(index_module, "chunk_article", chunk)
    index = open_index(local_settings, embedder)
    r = index.sync([corpus])
    assert failures(r) == {"corpus/chess.txt": "could not be split into chunks: nested too deeply"}
    assert r.added == 2 and index.article("chess.txt") is None


def test_writes_are_cut_to_the_clients_max_batch_size(
    local_settings: Settings, embedder: SentenceEmbedder
) -> None:
    corpus = write_corpus(local_settings.corpus_dirs[0])
    index = open_index(local_settings, embedder)
    index.sync([corpus])
    # then an article of ~60 chunks, through a client that takes 7 records per write
    local_settings.chunks.size, local_settings.chunks.overlap = 100, 0
    client = LimitedClient(make_chroma_client(local_settings), limit=7)
    index = Index(local_settings, embedder, client)
    body = " ".join(f"Paragraph {i} tells how the harbour of town {i} was rebuilt." for i in range(60))
    (corpus / "long.txt").write_text("Harbours rebuilt\n" + body + "\n")
    r = index.sync([corpus])
    assert r.failed == [] and r.added == 1 and r.updated == 3  # the three re-chunked with the new size
    stored = index.chunks.get(where={"article_id": "long.txt"}, include=[])["ids"]
    assert len(stored) > 7 * 5 and max(client.sizes) <= 7
    assert index.article("long.txt") is not None
    assert_still_searchable(index)


class VectorsFromLength:
    """A tiny deterministic embedder, for volume tests where real embeddings do not matter."""

    name = "length-8"

    def encode(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, *[float((len(t) >> i) & 1) for i in range(7)]] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0]


def test_an_article_of_more_chunks_than_chromas_batch_limit_indexes(local_settings: Settings) -> None:
    corpus = local_settings.corpus_dirs[0]
    corpus.mkdir(parents=True)
    (corpus / "long.txt").write_text(
        "Long article\n" + " ".join(f"Sentence number {i} is here." for i in range(6_000)) + "\n"
    )
    local_settings.chunks.size, local_settings.chunks.overlap = 30, 0
    client = make_chroma_client(local_settings)
    assert client.get_max_batch_size() < 6_000
    index = Index(local_settings, cast(SentenceEmbedder, VectorsFromLength()), client)
    r = index.sync([corpus])
    assert r.failed == [] and r.chunks_embedded == index.chunks.count() == 6_000


def test_text_over_the_limit_is_refused_before_embedding(
    local_settings: Settings, embedder: SentenceEmbedder
) -> None:
    corpus = write_corpus(local_settings.corpus_dirs[0])
    local_settings.corpus.max_text_chars = 1_000
    flaky = FlakyEmbedder(embedder)
    index = Index(local_settings, cast(SentenceEmbedder, flaky), make_chroma_client(local_settings))
    (corpus / "huge.txt").write_text("Huge article\n" + "Many words about the harbour. " * 100)
    r = index.sync([corpus])
    assert failures(r) == {
        "corpus/huge.txt": "article text is 2,999 characters, over the limit of 1,000 "
        "(ASSISTANT_CORPUS__MAX_TEXT_CHARS); split it into several articles"
    }
    assert r.added == 3 and not any("harbour" in t for t in flaky.calls)


def test_a_failed_article_is_not_embedded_again_until_it_changes(
    settings: Settings, embedder: SentenceEmbedder
) -> None:
    corpus = write_corpus(settings.corpus_dirs[0])
    flaky = FlakyEmbedder(embedder)
    index = Index(settings, cast(SentenceEmbedder, flaky), make_chroma_client(settings))
    index.sync([corpus])
    old_chess = index.article("chess.txt")
    (corpus / "poison.txt").write_text("Poisoned article\nThis text holds POISON for the embedder.\n")
    # an indexed article whose new version fails keeps its previous version
    (corpus / "chess.txt").write_text(ARTICLES["chess.txt"] + "\nPOISON in the new version.\n")
    (corpus / "bridge.md").write_text("# Bridge opens in Porto\n\nA new bridge opened in Porto on Monday.\n")
    r = index.sync([corpus])
    assert failures(r) == {
        "corpus/poison.txt": "could not be embedded: ValueError: this text cannot be embedded",
        "corpus/chess.txt": "could not be embedded: ValueError: this text cannot be embedded",
    }
    assert (r.added, r.updated, r.unchanged) == (1, 0, 2)
    assert index.article("chess.txt") == old_chess
    assert_still_searchable(index)

    # later syncs report them, and embed nothing
    for again in (index, Index(settings, cast(SentenceEmbedder, flaky), make_chroma_client(settings))):
        flaky.calls.clear()
        r = again.sync([corpus])
        assert flaky.calls == [] and r.chunks_embedded == 0
        assert failures(r) == {
            "corpus/poison.txt": "could not be embedded: ValueError: this text cannot be embedded "
            "(not retried until the file changes)",
            "corpus/chess.txt": "could not be embedded: ValueError: this text cannot be embedded "
            "(not retried until the file changes)",
        }
    # a change is tried again: the fixed one is indexed and its failure forgotten
    (corpus / "poison.txt").write_text("Cured article\nThis text is fine now.\n")
    r = index.sync([corpus])
    assert r.added == 1 and list(failures(r)) == ["corpus/chess.txt"]
    assert set(index.failed_articles()) == {"chess.txt"}
    # a removed file takes its failure record along
    (corpus / "chess.txt").unlink()
    r = index.sync([corpus])
    assert r.failed == [] and r.removed == 1 and index.failed_articles() == {}


def test_a_broken_embedder_stops_the_sync_and_records_nothing(
    local_settings: Settings, embedder: SentenceEmbedder
) -> None:
    corpus = write_corpus(local_settings.corpus_dirs[0])
    flaky = FlakyEmbedder(embedder)
    index = Index(local_settings, cast(SentenceEmbedder, flaky), make_chroma_client(local_settings))
    index.sync([corpus])
    (corpus / "bridge.md").write_text("# Bridge opens in Porto\n\nA new bridge opened in Porto on Monday.\n")
    flaky.broken = True
    with pytest.raises(IndexError_, match="the embedding model fails for everything"):
        index.sync([corpus])
    assert index.failed_articles() == {}  # a broken model is not the article's fault
    assert_still_searchable(index)
    flaky.broken = False
    r = index.sync([corpus])
    assert r.added == 1 and r.failed == []


def test_an_upload_cannot_take_an_indexed_articles_id(
    local_settings: Settings, embedder: SentenceEmbedder
) -> None:
    uploads = local_settings.corpus_dirs[0].parent / "uploads"
    real = {
        "url": "https://news.example.org/harbour",
        "title": "Harbour reopens",
        "text": "The harbour reopened.",
    }
    write_corpus(uploads, {"articles.jsonl": json.dumps(real) + "\n"})
    corpus = write_corpus(local_settings.corpus_dirs[0])
    index = open_index(local_settings, embedder)
    index.sync([corpus, uploads])

    # 0.json comes before articles.jsonl in path order; it replaced the real article before ("1 updated")
    fake = {**real, "title": "Harbour burns", "text": "Fake news about the harbour."}
    (uploads / "0.json").write_text(json.dumps(fake))
    (corpus / "volcano-copy.md").write_text(ARTICLES["volcano.md"].replace("Saturday", "Sunday"))
    r = index.sync([corpus, uploads])
    assert failures(r) == {
        "uploads/0.json": "article id 'https://news.example.org/harbour' is also in uploads/articles.jsonl:1, "
        "which keeps it; rename or remove one",
        "corpus/volcano-copy.md": f"article id '{VOLCANO}' is also in corpus/volcano.md, which keeps it; "
        "rename or remove one",
    }
    assert (r.added, r.updated, r.chunks_embedded) == (0, 0, 0)
    assert index.article(real["url"]).text == real["text"]  # type: ignore[union-attr]

    # a sync of the uploads alone cannot take the volcano article from its file either
    (uploads / "volcano.md").write_text(ARTICLES["volcano.md"].replace("Saturday", "Friday"))
    r = index.sync([uploads])
    assert failures(r)["uploads/volcano.md"] == (
        f"article id '{VOLCANO}' is already indexed from corpus/volcano.md; uploads/volcano.md does not "
        "replace it (rename or remove one of the two)"
    )
    assert "Saturday" in index.article(VOLCANO).text  # type: ignore[union-attr]
    assert_still_searchable(index)


def test_origin_is_recorded_and_follows_a_moved_file(
    local_settings: Settings, embedder: SentenceEmbedder
) -> None:
    corpus = write_corpus(local_settings.corpus_dirs[0])
    index = open_index(local_settings, embedder)
    index.sync([corpus])
    assert index.get_chunks(["rates.txt:0"])[0].origin == "corpus/rates.txt"
    assert index.article(VOLCANO).origin == "corpus/volcano.md"  # type: ignore[union-attr]
    # the same article (same url) in a renamed file: no embedding, its origin follows
    os.rename(corpus / "volcano.md", corpus / "iceland.md")
    r = index.sync([corpus])
    assert (r.unchanged, r.chunks_embedded, r.removed, r.failed) == (3, 0, 0, [])
    chunks = index.chunks.get(where={"article_id": VOLCANO}, include=["metadatas"])["metadatas"]
    assert chunks and {m["origin"] for m in chunks} == {"corpus/iceland.md"}
    assert index.article(VOLCANO).path == str(corpus.resolve() / "iceland.md")  # type: ignore[union-attr]
    started = time.perf_counter()
    assert index.sync([corpus]).chunks_embedded == 0 and time.perf_counter() - started < 10


def test_a_text_of_short_lines_makes_full_chunks_not_one_per_line(local_settings: Settings) -> None:
    corpus = local_settings.corpus_dirs[0]
    corpus.mkdir(parents=True)
    text = "Short lines\n" + "x\n" * 20_000  # 40 KB; it made 19,601 one-line chunks before
    (corpus / "lines.txt").write_text(text)
    index = Index(
        local_settings, cast(SentenceEmbedder, VectorsFromLength()), make_chroma_client(local_settings)
    )
    started = time.perf_counter()
    r = index.sync([corpus])
    assert r.failed == [] and r.chunks_embedded <= len(text) // (local_settings.chunks.size // 2)
    assert time.perf_counter() - started < 20
