"""The store layer, one job per module:

- vectors.py: chunk vectors in Chroma (embedded or a `chroma run` server);
- dense.py: the filtered dense search (vectors, checked against the records);
- filters.py: what a search may return, read by both searches;
- lexical.py: lexical search (tantivy, BM25), changed article by article, shared by processes;
- records.py: article records, failures and state in SQLite (WAL);
- sync.py: `Index`, the crash-safe sync protocol over the three stores (one writer at a time across
  processes: assistant/locks.py), and reading them.
"""

from assistant.store.filters import ChunkFilter
from assistant.store.sync import (
    FAULT_POINTS,
    EmbeddingMismatch,
    Index,
    IndexError_,
    ProgressFn,
    SyncReport,
    embed_text,
    texts_to_embed,
)
from assistant.store.vectors import StoredChunk

__all__ = [
    "ChunkFilter",
    "FAULT_POINTS",
    "EmbeddingMismatch",
    "Index",
    "IndexError_",
    "ProgressFn",
    "StoredChunk",
    "SyncReport",
    "embed_text",
    "texts_to_embed",
]
