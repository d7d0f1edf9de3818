"""Files the package reads that live outside it in the repository (the prompt templates in
``prompts/``, the default follow-up set in ``bench/``): in a built wheel they are package data under
``assistant/_shipped/`` (setup.py copies them); in a checkout (editable install) they are read where
they are, so the repository keeps one copy."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_SHIPPED = _PACKAGE / "_shipped"
_REPO = _PACKAGE.parent


def shipped(in_wheel: str, in_repo: str) -> Path:
    """The wheel's copy when there is one, else the repository's file or folder."""
    packaged = _SHIPPED / in_wheel
    return packaged if packaged.exists() else _REPO / in_repo


def prompts_dir() -> Path:
    return shipped("prompts", "prompts")


def default_conversations() -> Path:
    return shipped("conversations.jsonl", "bench/conversations.jsonl")
