"""Swap points: each optional backend missing gives a one-line 'install the extra' error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assistant.providers import ConfigError, MissingExtra, make_chat_model, resolve_embedding_path
from assistant.settings import EmbeddingSettings, Settings


@pytest.mark.parametrize(
    "backend, module, extra",
    [
        ("ollama", "langchain_ollama", "news-assistant[ollama]"),
        ("openai", "langchain_openai", "news-assistant[openai]"),
        ("llamacpp", "llama_cpp", "news-assistant[local-llm]"),
    ],
)
def test_missing_backend_names_the_extra(
    backend: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # simulate the package being absent
    s = Settings()
    s.llm.backend = backend  # type: ignore[assignment]
    s.llm.model = "m"
    with pytest.raises(MissingExtra, match=r"pip install '" + extra.replace("[", r"\[").replace("]", r"\]")):
        make_chat_model(s)


def test_auto_falls_back_to_quotes_only_when_no_local_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    s = Settings()
    assert make_chat_model(s) == ("extractive", None)


def test_openai_needs_a_model_name() -> None:
    s = Settings()
    s.llm.backend = "openai"
    with pytest.raises(ConfigError, match="ASSISTANT_LLM__MODEL"):
        make_chat_model(s)


def test_gguf_path_must_exist(tmp_path: Path) -> None:
    s = Settings()
    s.llm.backend = "llamacpp"
    s.llm.model_path = str(tmp_path / "nope.gguf")
    with pytest.raises(ConfigError, match="not found"):
        make_chat_model(s)


def test_embedding_model_setting() -> None:
    assert Path(resolve_embedding_path(EmbeddingSettings())).is_dir()
    with pytest.raises(ConfigError, match="ASSISTANT_EMBEDDING__MODEL"):
        resolve_embedding_path(EmbeddingSettings(model="/no/such/model"))


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", "/tmp/x")
    monkeypatch.setenv("ASSISTANT_LLM__BACKEND", "extractive")
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__K", "7")
    s = Settings()
    assert s.index_dir == Path("/tmp/x") and s.llm.backend == "extractive" and s.retrieval.k == 7


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    s = Settings()
    names = []
    for field in Settings.model_fields:
        value = getattr(s, field)
        if hasattr(value, "model_fields"):
            names += [f"ASSISTANT_{field.upper()}__{sub.upper()}" for sub in type(value).model_fields]
        else:
            names.append(f"ASSISTANT_{field.upper()}")
    missing = [n for n in names if n not in readme]
    assert not missing, f"undocumented settings: {missing}"


def test_importing_the_package_loads_nothing_heavy() -> None:
    import subprocess

    code = (
        "import sys, assistant.service, assistant.cli, assistant.store, assistant.ask.retrieve;"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'llama_cpp', 'chromadb', 'gradio') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
