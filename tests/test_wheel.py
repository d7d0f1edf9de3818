"""The wheel built from the repository answers with the LLM and runs every command, installed into a fresh
venv, from a folder outside the checkout: the prompts and the default follow-up set travel as package
data (the repository keeps one copy of each)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from assistant.cli import app
from tests.conftest import REPO, SEED

pytestmark = [pytest.mark.slow, pytest.mark.llm]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the built wheel; its dependencies come from the test venv's
    site-packages by a path entry (not a site dir, so the checkout's editable install is not seen)."""
    root = tmp_path_factory.mktemp("wheel")
    # built from a copy of what the wheel is made of, so the build writes nothing into the checkout
    src = root / "src"
    for part in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "prompts", "assistant"):
        if (REPO / part).is_dir():
            shutil.copytree(REPO / part, src / part, ignore=shutil.ignore_patterns("__pycache__", "_shipped"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy(REPO / part, src / part)
    (src / "bench").mkdir()
    shutil.copy(REPO / "bench" / "conversations.jsonl", src / "bench")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(root / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (root / "dist").glob("news_assistant-*.whl")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "deps-from-test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    inst = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert inst.returncode == 0, inst.stderr[-3000:]
    return env_dir


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_") and k != "PYTHONPATH"}
    env |= {"ASSISTANT_INDEX_DIR": str(work / "index"), "ASSISTANT_UPLOAD_DIR": str(work / "uploads")}
    return env


def test_the_wheel_ships_its_prompts_and_data(wheel_venv: Path, tmp_path: Path) -> None:
    py = str(wheel_venv / "bin" / "python")
    code = (
        "import assistant, json; from assistant import prompts; "
        "from assistant.evaluate.conversation import DEFAULT_CONVERSATIONS as c; "
        "print(json.dumps([assistant.__file__, str(prompts.PROMPTS_DIR), str(c), c.is_file(), "
        "{n: prompts.load(n) for n in prompts.VARIABLES}]))"
    )
    r = _run([py, "-c", code], tmp_path, _env(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    package, prompts_dir, conversations, exists, texts = json.loads(r.stdout)
    assert str(wheel_venv) in package and str(REPO) not in package
    assert str(wheel_venv) in prompts_dir and str(wheel_venv) in conversations and exists
    for name, text in texts.items():  # the same bytes as the repository's one copy
        assert text == (REPO / "prompts" / f"{name}.txt").read_text(encoding="utf-8")
    assert not list(REPO.joinpath("assistant").glob("_shipped")), "the build wrote into the checkout"


def test_every_command_of_the_wheel_runs(wheel_venv: Path, tmp_path: Path) -> None:
    exe = str(wheel_venv / "bin" / "assistant")
    names = [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore[union-attr]
    groups = [g.name for g in app.registered_groups]
    for name in [*names, *groups]:
        r = _run([exe, str(name), "--help"], tmp_path, _env(tmp_path), timeout=120)
        assert r.returncode == 0 and "Usage" in r.stdout, (name, r.stderr[-2000:])


def test_the_wheel_indexes_and_answers_with_the_llm(wheel_venv: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    corpus = work / "seeds"
    corpus.mkdir(parents=True)
    shutil.copy(SEED, corpus / SEED.name)
    exe = str(wheel_venv / "bin" / "assistant")
    env = _env(work)
    r = _run([exe, "index", str(corpus), "--json"], work, env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout)["added"] == 1
    r = _run(
        [exe, "ask", "What did Putin agree to limit attacks on?", "--backend", "llamacpp", "--json"],
        work,
        env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    answer = json.loads(r.stdout)
    assert answer["backend"] == "llamacpp" and not answer["refused"]
    assert answer["timings"].get("ttft_ms", 0) > 0, answer  # the model wrote, from the wheel's prompts
    text = SEED.read_text(encoding="utf-8")
    assert answer["citations"]
    for c in answer["citations"]:
        assert c["quote"] and c["quote"] in text
    assert "energy" in answer["answer"].lower()
