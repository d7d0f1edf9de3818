from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from assistant.corpus import LoadResult, load_paths, normalize_date
from assistant.corpus.files import json_too_deep
from assistant.settings import CorpusSettings
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
    # a path the caller gave is named by its last part when absolute: no server path in a report
    assert [(f.path, f.error) for f in res.failed] == [("nope", "no such file or folder")]
    assert load_paths([Path("no/such/folder")], 10**6).failed[0].path == "no/such/folder"


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


# ---- hostile input: every file fails alone, with one line naming it by its relative path ------------


def _alias_bomb(levels: int) -> str:
    """A "billion laughs" in YAML: each level is nine aliases of the one before."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append(f"title: *a{levels - 1}")
    return "\n".join(lines)


def _failures(res: LoadResult) -> dict[str, str]:
    return {f.path: f.error for f in res.failed}


def test_hostile_files_each_fail_alone_with_a_relative_path(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret headline\nThe server's private notes.\n")
    (corpus / "deep.json").write_text("[" * 5000)  # 5 KB: RecursionError in json before
    (corpus / "deep.md").write_text("---\ntitle: " + "[" * 5000 + "\n---\nBody text.\n")
    (corpus / "bomb.md").write_text(f"---\n{_alias_bomb(6)}\n---\nBody text.\n")
    (corpus / "loop.txt").symlink_to("loop.txt")  # ELOOP aborted the whole load before
    (corpus / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus / "elsewhere").symlink_to(outside, target_is_directory=True)
    (corpus / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    (corpus / "bigint.json").write_text('{"title": "x", "text": "y", "id": ' + "9" * 5000 + "}")
    os.mkfifo(corpus / "pipe.txt")
    (corpus / "inside.txt").symlink_to(corpus / "rates.txt")  # a link within the folder is fine
    (corpus / "sub").mkdir()
    (corpus / "sub" / "up").symlink_to("..", target_is_directory=True)  # no endless walk

    started = time.perf_counter()
    res = load_paths([corpus], 10**6)
    assert time.perf_counter() - started < 5
    reasons = _failures(res)
    assert reasons == {
        "corpus/deep.json": "JSON is nested deeper than 20 levels (ASSISTANT_CORPUS__MAX_JSON_DEPTH)",
        "corpus/deep.md": "YAML front matter is nested deeper than 20 levels",
        "corpus/bomb.md": "YAML aliases and anchors (* and &) are not allowed in front matter",
        "corpus/loop.txt": "symbolic link loop",
        "corpus/secret.txt": "symbolic link to outside the synced folder (not followed)",
        "corpus/elsewhere": "symbolic link to outside the synced folder (not followed)",
        "corpus/dangling.txt": "broken symbolic link (its target does not exist)",
        "corpus/bigint.json": reasons["corpus/bigint.json"],
        "corpus/pipe.txt": "not a regular file",
    }
    assert reasons["corpus/bigint.json"].startswith("malformed JSON: ")
    texts = " ".join(a.text for _, a in res.articles)
    assert "private notes" not in texts
    ids = {a.id for _, a in res.articles}
    assert ids == {"rates.txt", "chess.txt", "https://news.example.org/volcano", "inside.txt"}
    assert {str(corpus / n) for n in ("deep.json", "loop.txt", "secret.txt", "elsewhere")} <= res.failed_files
    for f in res.failed:  # one line, and no path of the server in it
        assert "\n" not in f.error and str(tmp_path) not in f.path + f.error


def test_any_exception_in_one_file_becomes_its_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    import assistant.corpus.files as files

    real = files.parse_txt

    def explode(path: Path, *a, **k):  # type: ignore[no-untyped-def]
        if path.name == "chess.txt":
            raise MemoryError()
        if path.name == "rates.txt":
            raise KeyError(f"bug while reading {path}")
        return real(path, *a, **k)

    monkeypatch.setattr(files, "parse_txt", explode)
    res = load_paths([corpus], 10**6)
    assert _failures(res) == {
        "corpus/chess.txt": "too large to be read (out of memory)",
        "corpus/rates.txt": "could not be read: KeyError: 'bug while reading corpus/rates.txt'",
    }
    assert [a.id for _, a in res.articles] == ["https://news.example.org/volcano"]


def test_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    # 9 levels is the 484-byte bomb that took 54 s and 2.4 GB; 6 keep a regression cheap
    (tmp_path / "bomb.md").write_text(f"---\n{_alias_bomb(6)}\n---\nBody.\n")
    (tmp_path / "anchor.md").write_text("---\ntitle: &t Plain title\n---\nBody.\n")
    started = time.perf_counter()
    res = load_paths([tmp_path], 10**6)
    assert time.perf_counter() - started < 2
    assert {Path(f.path).name: f.error for f in res.failed} == {
        "bomb.md": "YAML aliases and anchors (* and &) are not allowed in front matter",
        "anchor.md": "YAML aliases and anchors (* and &) are not allowed in front matter",
    }


def test_front_matter_takes_single_values_only(tmp_path: Path) -> None:
    (tmp_path / "listtitle.md").write_text("---\ntitle: [a, b]\n---\nBody.\n")
    (tmp_path / "mapsource.md").write_text("---\ntitle: Fine\nsource: {name: x}\n---\nBody.\n")
    # fields this loader does not use may hold anything (tags lists are common); they are ignored
    (tmp_path / "tags.md").write_text(
        "---\ntitle: Bridge opens\ntags: [a, b]\nextra: {k: [1, 2]}\npublished: 2024-05-02\n---\nBody.\n"
    )
    res = load_paths([tmp_path], 10**6)
    assert {Path(f.path).name: f.error for f in res.failed} == {
        "listtitle.md": "field 'title' must be a single value, not a list",
        "mapsource.md": "field 'source' must be a single value, not a mapping",
    }
    ((_, art),) = res.articles
    assert (art.title, art.published, art.text) == ("Bridge opens", "2024-05-02", "Body.")


def test_front_matter_without_closing_line_is_linear(tmp_path: Path) -> None:
    # the old lazy regex took ~6 s on this 40 KB file (quadratic in the blank lines)
    (tmp_path / "open.md").write_text("---" + " \n" * 20_000 + "Some text after.")
    started = time.perf_counter()
    res = load_paths([tmp_path], 10**6)
    assert time.perf_counter() - started < 1
    assert res.failed == [] and res.articles[0][1].text.endswith("Some text after.")


@pytest.mark.parametrize(
    "text, too_deep",
    [
        ("[" * 6, True),
        ("[" * 5 + "]" * 5, False),
        ("[" * 6 + "]" * 6, True),
        ('{"a": [{"b": [1]}]}', False),
        ('{"a": "[[[[[[[[[[[[["}', False),  # brackets in strings do not count
        ('{"a": "x\\"[[[[[[[[[[[[[[", "b": 1}', False),  # nor after an escaped quote
        ('"unterminated [[[[[[[[[[[[', False),
        ("[[]]" * 1000, False),
        ("[]" * 10 + "[" * 6 + "]" * 6, True),
    ],
)
def test_json_depth_check(text: str, too_deep: bool) -> None:
    assert json_too_deep(text, 5) is too_deep


def test_json_depth_and_record_limits(tmp_path: Path) -> None:
    limits = CorpusSettings(max_json_depth=3, max_records_per_file=3)
    (tmp_path / "ok.json").write_text('{"title": "A", "text": "Fine.", "tags": [["x"]]}')
    (tmp_path / "deep.json").write_text('{"title": "A", "text": "Fine.", "tags": [[["x"]]]}')
    (tmp_path / "many.json").write_text(json.dumps([{"text": f"t{i}"} for i in range(4)]))
    (tmp_path / "lines.jsonl").write_text(
        '{"text": "one", "id": 1}\n{"text": "two", "x": [[["deep"]]], "id": 2}\n\n{"text": "three", "id": 3}\n'
    )
    (tmp_path / "toomany.jsonl").write_text("".join(f'{{"text": "t{i}"}}\n' for i in range(4)))
    res = load_paths([tmp_path], 10**6, limits)
    assert _failures(res) == {
        f"{tmp_path.name}/deep.json": "JSON is nested deeper than 3 levels (ASSISTANT_CORPUS__MAX_JSON_DEPTH)",
        f"{tmp_path.name}/many.json": "file holds 4 records, over the limit of 3 "
        "(ASSISTANT_CORPUS__MAX_RECORDS_PER_FILE); split it into smaller files",
        f"{tmp_path.name}/lines.jsonl:2": "JSON line is nested deeper than 3 levels (ASSISTANT_CORPUS__MAX_JSON_DEPTH)",
        f"{tmp_path.name}/toomany.jsonl": "file holds 4 records, over the limit of 3 "
        "(ASSISTANT_CORPUS__MAX_RECORDS_PER_FILE); split it into smaller files",
    }
    assert sorted(a.id for _, a in res.articles) == ["lines.jsonl#1", "lines.jsonl#3", "ok.json#1"]


def test_titles_metadata_and_text_are_capped(tmp_path: Path) -> None:
    limits = CorpusSettings(max_title_chars=40, max_meta_chars=60, max_text_chars=1_000)
    (tmp_path / "bigtitle.json").write_text(
        json.dumps({"title": "Word " * 20_000, "source": "S" * 10_000, "text": "Short text."})
    )
    (tmp_path / "longurl.json").write_text(
        json.dumps({"url": "https://x.example/" + "a" * 100, "title": "T", "text": "Short text."})
    )
    (tmp_path / "heading.md").write_text("# " + "Long heading " * 100 + "\n\nBody.\n")
    (tmp_path / "big.txt").write_text("Big article\n" + "Words and more words. " * 100)
    (tmp_path / "big.jsonl").write_text(json.dumps({"title": "T", "text": "x " * 600}) + "\n")
    res = load_paths([tmp_path], 10**6, limits)
    name = tmp_path.name
    assert _failures(res) == {
        f"{name}/longurl.json": "url is 118 characters, over the limit of 60 (ASSISTANT_CORPUS__MAX_META_CHARS)",
        f"{name}/big.txt": "article text is 2,199 characters, over the limit of 1,000 "
        "(ASSISTANT_CORPUS__MAX_TEXT_CHARS); split it into several articles",
        f"{name}/big.jsonl:1": "article text is 1,200 characters, over the limit of 1,000 "
        "(ASSISTANT_CORPUS__MAX_TEXT_CHARS); split it into several articles",
    }
    by_id = {a.id: a for _, a in res.articles}
    big = by_id["bigtitle.json#1"]
    assert len(big.title) <= 40 and big.title.startswith("Word Word") and big.title.endswith("…")
    assert len(big.source) <= 60
    assert len(by_id["heading.md"].title) <= 40


def test_duplicate_ids_name_both_files_and_the_indexed_file_keeps_its_article(tmp_path: Path) -> None:
    url = "https://news.example.org/same"
    (tmp_path / "0.json").write_text(json.dumps({"url": url, "title": "Newcomer", "text": "Other text."}))
    (tmp_path / "articles.jsonl").write_text(
        json.dumps({"url": url, "title": "Real", "text": "Real text."}) + "\n"
    )
    name = tmp_path.name
    first = load_paths([tmp_path], 10**6)  # nothing indexed yet: the first in path order keeps the id
    assert [a.origin for _, a in first.articles] == [f"{name}/0.json"]
    assert _failures(first) == {
        f"{name}/articles.jsonl:1": f"article id '{url}' is also in {name}/0.json, which keeps it; rename or remove one"
    }
    # the file the article is indexed from keeps it, wherever it comes in the order
    owners = {url: str(tmp_path / "articles.jsonl")}
    res = load_paths([tmp_path], 10**6, owners=owners)
    assert [a.title for _, a in res.articles] == ["Real"]
    assert _failures(res) == {
        f"{name}/0.json": f"article id '{url}' is also in {name}/articles.jsonl:1, which keeps it; rename or remove one"
    }
