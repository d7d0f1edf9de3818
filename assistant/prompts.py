"""Prompt templates, kept as files in ``prompts/`` at the repository root (in a wheel: package data,
see assistant/shipped.py)."""

from __future__ import annotations

import string
from pathlib import Path

from assistant.shipped import prompts_dir

PROMPTS_DIR = prompts_dir()

# The variables each template must use, no more and no fewer (tests/test_prompts.py pins them).
VARIABLES: dict[str, set[str]] = {
    "answer_system": set(),
    "answer_user": {"today", "sources", "question"},
    "condense": {"history", "question"},
}


def load(name: str, folder: Path = PROMPTS_DIR) -> str:
    return (folder / f"{name}.txt").read_text(encoding="utf-8")


def variables(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}
