from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from tests.conftest import REPO, write_corpus

runner = CliRunner()
REPORT_KEYS = {
    "added",
    "updated",
    "unchanged",
    "removed",
    "failed",
    "chunks_embedded",
    "seconds",
    "repaired",
    "relinked",
}


def test_every_command_has_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"index", "stats"} <= set(commands)
    for name in commands:
        r = runner.invoke(app, [name, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output, name


def test_index_json_report_and_exit_status(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    idx = tmp_path / "idx"
    r = runner.invoke(app, ["index", str(corpus), "--index-dir", str(idx), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert set(report) == REPORT_KEYS and report["added"] == 3 and report["failed"] == []

    (corpus / "bad.txt").write_bytes(b"\x00\x01\x02")
    r = runner.invoke(app, ["index", str(corpus), "--index-dir", str(idx), "--json"])
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["chunks_embedded"] == 0 and report["unchanged"] == 3
    assert report["failed"] == [
        {"path": "corpus/bad.txt", "error": "binary file (contains NUL bytes), not a text article"}
    ]


def test_index_dir_from_env_and_stats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "env-idx"))
    assert runner.invoke(app, ["index", str(corpus)]).exit_code == 0
    assert (tmp_path / "env-idx" / "chroma").is_dir()
    r = runner.invoke(app, ["stats", "--json"])
    info = json.loads(r.stdout)
    assert info["articles"] == 3 and info["embedding_model"] == "all-MiniLM-L6-v2" and info["last_sync"]


def test_default_path_is_seeds(tmp_path: Path) -> None:
    """Run as a user would: the console script from the repo root, no path given."""
    exe = Path(sys.executable).with_name("assistant")
    env = dict(os.environ, ASSISTANT_INDEX_DIR=str(tmp_path / "idx"))
    p = subprocess.run(
        [str(exe), "index", "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["added"] == 1
    p = subprocess.run(
        [str(exe), "index", "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert json.loads(p.stdout)["chunks_embedded"] == 0


def test_user_mistakes_give_one_line_errors(tmp_path: Path) -> None:
    r = runner.invoke(app, ["index", str(tmp_path / "missing"), "--index-dir", str(tmp_path / "i"), "--json"])
    assert r.exit_code == 1
    assert json.loads(r.stdout)["failed"][0]["error"] == "no such file or folder"
    env = {"ASSISTANT_STORE__MODE": "server", "ASSISTANT_STORE__PORT": "9"}
    r = runner.invoke(app, ["stats"], env=env)
    assert r.exit_code == 2
    assert "cannot reach the Chroma server at 127.0.0.1:9" in r.stderr and "Traceback" not in r.output


@pytest.mark.slow
def test_folder_of_10000_files(tmp_path: Path) -> None:
    """10,000 files: bad ones are reported one by one, good ones indexed, nothing chokes."""
    corpus = tmp_path / "many"
    corpus.mkdir()
    for i in range(10_000):
        kind = i % 4
        if kind == 0:
            (corpus / f"a{i:05d}.txt").write_text(f"Item {i}\nShort note number {i} about topic {i % 97}.\n")
        elif kind == 1:
            (corpus / f"e{i:05d}.txt").write_bytes(b"")
        elif kind == 2:
            (corpus / f"u{i:05d}.docx").write_bytes(b"PK\x03\x04")
        else:
            (corpus / f"b{i:05d}.jsonl").write_text("{oops\n")
    r = runner.invoke(app, ["index", str(corpus), "--index-dir", str(tmp_path / "idx"), "--json"])
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["added"] == 2_500 and len(report["failed"]) == 7_500
    assert report["chunks_embedded"] == 2_500


def test_bad_setting_is_one_line_naming_the_variable() -> None:
    r = runner.invoke(app, ["stats"], env={"ASSISTANT_STORE__COLLECTION": "ab"})
    assert r.exit_code == 2
    assert (
        r.stderr.strip()
        == "error: invalid setting: ASSISTANT_STORE__COLLECTION: String should have at least 3 characters"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "No such file"),
        (b"", "Expecting value"),
        (b"\xff\xfe\x00binary", "codec can't decode"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"rerank": {"w_bogus": 1}}', "unexpected keyword argument 'w_bogus'"),
        (b'{"sentence": 3}', "argument after ** must be a mapping"),
    ],
)
def test_a_bad_weights_file_is_one_line_naming_it(tmp_path: Path, content: bytes | None, reason: str) -> None:
    weights = tmp_path / "weights.json"
    if content is not None:
        weights.write_bytes(content)
    r = runner.invoke(
        app,
        ["ask", "Who won?", "--index-dir", str(tmp_path / "idx")],
        env={"ASSISTANT_ANSWER__WEIGHTS_FILE": str(weights)},
    )
    assert r.exit_code == 2, r.output
    line = r.stderr.strip()
    assert "\n" not in line and "Traceback" not in r.output
    assert line.startswith(f"error: cannot read the fitted weights {weights}: ") and reason in line


def test_a_list_setting_that_is_not_json_is_one_line_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_UI__ALLOWED_HOSTS", "news.example.org")
    r = runner.invoke(app, ["stats", "--index-dir", str(tmp_path / "idx")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "ASSISTANT_UI__ALLOWED_HOSTS: not valid JSON" in r.stderr
