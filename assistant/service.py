"""The composition root: builds the whole assistant from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.index import Index, ProgressFn, SyncReport
from assistant.providers import make_chroma_client, make_embedder
from assistant.settings import Settings


@dataclass
class Assistant:
    settings: Settings
    index: Index

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        embedder = make_embedder(settings)
        client = make_chroma_client(settings)
        index = Index(settings, embedder, client)
        return cls(settings=settings, index=index)

    def sync(self, paths: list[Path] | None = None, progress: ProgressFn | None = None) -> SyncReport:
        return self.index.sync(paths or list(self.settings.corpus_dirs), progress)
