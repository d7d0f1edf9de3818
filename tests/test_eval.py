from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assistant.cli import app
from assistant.textutil import contains_answer, normalize_answer


def write_split(folder: Path) -> Path:
    folder.mkdir()
    arts = [
        {
            "id": "a1",
            "title": "Volcano erupts in Iceland",
            "url": "https://n.example/volcano",
            "source": "n.example",
            "published": "2024-03-18",  # the Monday of the questions' week ("this week")
            "text": "A volcano on the Reykjanes peninsula erupted on Saturday. Lava flowed towards Grindavik.",
        },
        {
            "id": "a2",
            "title": "Chess title for teenager",
            "url": "https://n.example/chess",
            "source": "n.example",
            "published": "2024-03-17",
            "text": "A 15-year-old from Leeds won the national chess championship on Sunday.",
        },
        {
            "id": "a3",
            "title": "Bank holds rates",
            "url": "https://n.example/rates",
            "source": "n.example",
            "published": "2024-03-19",
            "text": "The central bank kept its benchmark rate at 5.25 percent on Wednesday.",
        },
    ]
    qs = [
        {
            "id": "q1",
            "question": "Which town did lava flow towards this week?",
            "answer": "Grindavik",
            "gold_article_ids": ["a1"],
            "date": "2024-03-20",
        },
        {
            "id": "q2",
            "question": "Where is the new national chess champion from?",
            "answer": "Leeds",
            "gold_article_ids": ["a2"],
            "date": "2024-03-20",
        },
    ]
    (folder / "articles.jsonl").write_text("\n".join(json.dumps(a) for a in arts) + "\n")
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in qs) + "\n")
    return folder


def test_eval_json_has_exactly_the_documented_keys(tmp_path: Path) -> None:
    split = write_split(tmp_path / "split")
    r = CliRunner().invoke(
        app, ["eval", str(split), "--json", "--backend", "extractive", "--index-dir", str(tmp_path / "idx")]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) == {
        "questions",
        "art@1",
        "art@5",
        "ans@1",
        "ans@5",
        "mrr@10",
        "answer_contains",
        "quotes_verbatim",
        "refusal_rate",
        "p50_ms",
        "p95_ms",
        "baselines",
    }
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert all(
        f"`{k}`" in readme or k in ("questions", "baselines")
        for k in out
        if not k.startswith(("art@", "ans@", "p"))
    )
    assert set(out["baselines"]) == {"bm25", "dense"}
    assert set(out["baselines"]["bm25"]) == {"art@1", "art@5", "ans@1", "ans@5", "mrr@10"}
    assert out["questions"] == 2 and out["quotes_verbatim"] == 1.0
    assert out["art@1"] == 1.0 and out["answer_contains"] == 1.0
    assert out["refusal_rate"] == 1.0  # with the answer-bearing article removed there is nothing to quote


def test_eval_refuses_a_folder_without_the_split_files(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["eval", str(tmp_path)])
    assert r.exit_code == 2 and "articles.jsonl" in r.output


def test_answer_normalisation() -> None:
    assert normalize_answer("The U.S. Open") == "us open"
    assert normalize_answer("1,000%") == "1000 percent"
    assert normalize_answer("Rep. Glenn Thompson (R-Pa.)") == "glenn thompson"
    assert normalize_answer("Dr. Émile Zola") == "emile zola"
    assert contains_answer("…talks with U.S. officials…", "the U.S.")
    assert not contains_answer("Ukraine", "UK")


def test_eval_conversation_figures(tmp_path: Path) -> None:
    split = write_split(tmp_path / "split")
    conv = tmp_path / "conversations.jsonl"
    conv.write_text(
        json.dumps(
            {
                "id": "c1",
                "first_id": "q2",
                "follow_up": "How old is she?",
                "antecedent": ["chess"],
                "answer": "15-year-old",
            }
        )
        + "\n"
        + json.dumps(
            {"id": "c2", "first_id": "not-in-split", "follow_up": "Why?", "antecedent": ["x"], "answer": "y"}
        )
        + "\n"
    )
    r = CliRunner().invoke(
        app,
        [
            "eval",
            str(split),
            "--json",
            "--backend",
            "extractive",
            "--index-dir",
            str(tmp_path / "idx"),
            "--conversation",
            "--conversations",
            str(conv),
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)["conversation"]
    assert out == {
        "answer_contains_alone": 1.0,
        "answer_contains_after_unrelated": 1.0,  # both questions name their own subject
        "standalone_changed": 0.0,
        "follow_ups": 1,  # a line about a question outside the split is skipped
        "follow_ups_carrying_antecedent": 1.0,
        "follow_ups_with_antecedent_in_conversation": 1.0,
        "carrying_antecedent_where_in_conversation": 1.0,
        "follow_up_answer_contains": 1.0,
    }
    missing = CliRunner().invoke(
        app, ["eval", str(split), "--conversation", "--conversations", str(tmp_path / "no.jsonl")]
    )
    assert missing.exit_code == 2 and "no.jsonl not found" in missing.output
