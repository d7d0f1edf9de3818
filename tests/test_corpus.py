from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.corpus import load_paths, normalize_date
from tests.conftest import ARTICLES, DEV_SPLIT, SEED, write_corpus


def test_txt_markdown_and_ids(tmp_path: Path) -> None:
    write_corpus(tmp_path)
    res = load_paths([tmp_path], max_bytes=10**6)
    assert res.failed == []
    by_id = {a.id: a for _, a in res.articles}
    # url when there is one, else the path relative to the corpus root
    assert set(by_id) == {"https://news.example.org/volcano", "rates.txt", "chess.txt"}
    volcano = by_id["https://news.example.org/volcano"]
    assert volcano.title == "Volcano erupts near Reykjavik"
    assert volcano.published == "2024-03-17" and volcano.published_int == 20240317
    assert volcano.source == "example.org"
    assert volcano.text.startswith("A volcano on Iceland")
    rates = by_id["rates.txt"]
    assert rates.title == "Central bank holds interest rates steady"  # headline first line
    assert rates.text.startswith("The central bank kept")


def test_txt_without_headline_uses_opening_sentence_for_hash_names() -> None:
    res = load_paths([SEED], max_bytes=10**6)
    ((_, art),) = res.articles
    assert art.id == SEED.name
    assert art.title.startswith("WASHINGTON — Russian President Vladimir Putin")
    assert art.text.startswith("WASHINGTON — Russian President")  # nothing cut from the body


def test_fingerprint_is_stable_and_sensitive(tmp_path: Path) -> None:
    write_corpus(tmp_path)
    a = {x.id: x.fingerprint for _, x in load_paths([tmp_path], 10**6).articles}
    b = {x.id: x.fingerprint for _, x in load_paths([tmp_path], 10**6).articles}
    assert a == b
    (tmp_path / "rates.txt").write_text(ARTICLES["rates.txt"].replace("5.25", "5.50"))
    c = {x.id: x.fingerprint for _, x in load_paths([tmp_path], 10**6).articles}
    assert c["rates.txt"] != a["rates.txt"] and c["chess.txt"] == a["chess.txt"]


def test_html_extracted_with_metadata(tmp_path: Path) -> None:
    body = " ".join(["The city council approved a new bicycle lane network on Tuesday."] * 6)
    (tmp_path / "page.html").write_text(
        f"""<html><head><title>Council backs bike lanes</title>
        <meta property="og:title" content="Council backs bike lanes">
        <meta property="article:published_time" content="2024-05-02T10:00:00Z">
        <meta property="og:url" content="https://city.example.com/bike-lanes">
        <meta property="og:site_name" content="City News"></head>
        <body><nav>Home | Sports</nav><article><h1>Council backs bike lanes</h1><p>{body}</p>
        <p>Work starts in June and will take two years.</p></article><footer>Contact us</footer></body></html>"""
    )
    res = load_paths([tmp_path], 10**6)
    assert res.failed == []
    ((_, art),) = res.articles
    assert art.title == "Council backs bike lanes"
    assert "bicycle lane network" in art.text and "Work starts in June" in art.text
    assert art.published == "2024-05-02"
    assert art.url == "https://city.example.com/bike-lanes"


@pytest.mark.skipif(not DEV_SPLIT.exists(), reason="shared eval split not present")
def test_realtimeqa_articles_jsonl_loads_as_is() -> None:
    res = load_paths([DEV_SPLIT / "articles.jsonl"], max_bytes=50_000_000)
    assert res.failed == []
    assert len(res.articles) == 917
    first = json.loads((DEV_SPLIT / "articles.jsonl").open().readline())
    art = res.articles[0][1]
    assert art.id == first["url"] and art.title == first["title"] and art.text == first["text"]
    assert art.published == first["published"] and art.source == first["source"]


BAD = {
    "empty.txt": (b"", "empty file"),
    "blank.md": (b"  \n\n ", "empty file"),
    "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary file"),
    "latin1.txt": ("Caf\u00e9 news".encode("latin-1") + b"\nmore text here", "not valid UTF-8"),
    "notes.pdf": (b"%PDF-1.4 whatever", "unsupported file type '.pdf'"),
    "broken.json": (b'{"title": "x", "text": ', "malformed JSON"),
    "notext.json": (b'{"title": "x"}', "record has no text"),
    "frontmatter.md": (b"---\ntitle: [unclosed\n---\nbody text", "invalid YAML front matter"),
}


def test_each_bad_file_is_reported_with_a_reason_and_good_ones_load(tmp_path: Path) -> None:
    write_corpus(tmp_path)
    for name, (data, _) in BAD.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "big.txt").write_bytes(b"word " * 3000)
    (tmp_path / "mixed.jsonl").write_text(
        '{"title": "Good one", "text": "Fine text here.", "url": "https://x.example/1"}\n'
        "{not json\n"
        "\n"
        '{"title": "Good two", "text": "More fine text.", "url": "https://x.example/2"}\n'
        "[1, 2]\n"
    )
    res = load_paths([tmp_path], max_bytes=10_000)
    reasons = {
        Path(f.path.split(":")[0] if f.path.endswith(tuple("0123456789")) else f.path).name: f.error
        for f in res.failed
    }
    for name, (_, reason) in BAD.items():
        assert reason in reasons[name], (name, reasons.get(name))
    assert "over the limit of 10,000" in reasons["big.txt"]
    jsonl_fail = sorted(f.path.rsplit(":", 1)[1] for f in res.failed if "mixed.jsonl" in f.path)
    assert jsonl_fail == ["2", "5"]
    ids = {a.id for _, a in res.articles}
    assert {"rates.txt", "chess.txt", "https://news.example.org/volcano"} <= ids
    assert {"https://x.example/1", "https://x.example/2"} <= ids
    assert all("\n" not in f.error for f in res.failed)  # one line each


def test_oversize_file_is_refused_without_reading_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "huge.txt"
    big.write_bytes(b"x" * 2_000_000)
    opened: list[str] = []
    real_open = Path.open

    def spy(self: Path, *a, **k):  # type: ignore[no-untyped-def]
        opened.append(self.name)
        return real_open(self, *a, **k)

    monkeypatch.setattr(Path, "open", spy)
    res = load_paths([big], max_bytes=1_000_000)
    assert "huge.txt" not in opened
    assert "over the limit" in res.failed[0].error


def test_file_that_vanishes_mid_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_corpus(tmp_path)
    import assistant.corpus.files as corpus

    real_iter = corpus.iter_files

    def vanishing(root: Path):  # type: ignore[no-untyped-def]
        for p in real_iter(root):
            if p.name == "chess.txt":
                p.unlink()  # listed, then gone before it is read
            yield p

    monkeypatch.setattr(corpus, "iter_files", vanishing)
    res = load_paths([tmp_path], 10**6)
    assert [(Path(f.path).name, f.error) for f in res.failed] == [
        ("chess.txt", "file disappeared before it could be read")
    ]
    assert len(res.articles) == 2


def test_missing_path_and_hidden_files(tmp_path: Path) -> None:
    write_corpus(tmp_path)
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    res = load_paths([tmp_path, tmp_path / "nope"], 10**6)
    assert [(f.path, f.error) for f in res.failed] == [(str(tmp_path / "nope"), "no such file or folder")]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-03-17", "2024-03-17"),
        ("2024-03-17T10:00:00Z", "2024-03-17"),
        ("2024/3/7", "2024-03-07"),
        ("", ""),
        (None, ""),
        ("March 2024", ""),
        ("2024-13-45", ""),
    ],
)
def test_normalize_date(value: object, expected: str) -> None:
    assert normalize_date(value) == expected
