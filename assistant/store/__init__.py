"""The store layer, one job per module:

- opening.py: opening the three stores, each checked; a damaged one is moved aside and started afresh;
- health.py: are the stores in step, article by article (missing and extra, both directions)?
- sync.py: the crash-safe sync protocol over the three stores (writing);
- repair.py: what a sync repairs first (lost records taken back, extra entries removed, lexical rebuilt);
- index.py: `Index`, what the rest of the app reads (search, counts, articles);
- migrate.py: an index written by an earlier version brought up to date;
- records.py: article records, failures and state in SQLite (WAL);
- vectors.py: chunk vectors in Chroma (embedded or a `chroma run` server);
- dense.py: the filtered dense search (vectors, checked against the records);
- lexical.py: lexical search (tantivy, BM25), changed article by article, shared by processes;
- filters.py: what a search may return, read by both searches;
- types.py: the sync's report, the store's errors, what is embedded for a chunk.
"""

from assistant.store.filters import ChunkFilter
from assistant.store.health import Health
from assistant.store.index import Index
from assistant.store.types import (
    FAULT_POINTS,
    EmbeddingMismatch,
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
    "Health",
    "Index",
    "IndexError_",
    "ProgressFn",
    "StoredChunk",
    "SyncReport",
    "embed_text",
    "texts_to_embed",
]
