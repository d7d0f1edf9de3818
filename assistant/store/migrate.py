"""Bringing an index written by an earlier version up to date: article records kept in Chroma move to
SQLite. (A lexical index missing or of an older kind is rebuilt from the records by the next sync's
repair: store/health.py.)"""

from __future__ import annotations

import logging

from assistant.store.opening import Stores
from assistant.store.types import RECORD_DEFAULTS
from assistant.store.vectors import VectorStore

log = logging.getLogger(__name__)


def migrate(stores: Stores) -> None:
    client, name = stores.client, stores.name
    names = {getattr(c, "name", c) for c in client.list_collections()}
    legacy, failed = f"{name}_articles", f"{name}_failed"
    if legacy not in names:
        return
    with stores.writer():
        if stores.records.count() == 0:
            _import_legacy(stores, legacy, failed if failed in names else "")
        for old in (legacy, failed):
            if old in names:
                client.delete_collection(old)


def _import_legacy(stores: Stores, articles: str, failures: str) -> None:
    client, records = stores.client, stores.records
    col = client.get_collection(articles, embedding_function=None)
    got = VectorStore.get_all_from(col, ["documents", "metadatas"])
    recs = {aid: {**RECORD_DEFAULTS, **m} for aid, m in zip(got["ids"], got["metadatas"])}
    records.put(recs, dict(zip(got["ids"], got["documents"])))
    if failures:
        fcol = client.get_collection(failures, embedding_function=None)
        for aid, m in zip(*VectorStore.get_all_from(fcol, ["metadatas"]).values()):
            records.put_failure(aid, {**{"path": "", "origin": "", "error": ""}, **m})
    meta = dict(col.metadata or {})
    records.set_state(
        sync_state=str(meta.get("sync_state", "clean")), last_sync=str(meta.get("last_sync", ""))
    )
    log.info("moved %d article records from Chroma to %s", len(recs), records.path)
