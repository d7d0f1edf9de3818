"""What pages and the CLI queue for the cluster mode's ingest workers (assistant/worker.py does the
jobs): the queue of this index, documents kept and queued, a job's state in words."""

from __future__ import annotations

from typing import Any

from assistant.providers import ConfigError
from assistant.service import Assistant
from assistant.store import SyncReport
from assistant.store.postgres.jobs import DOCUMENTS, JobFailed, JobQueue


def queue_of(assistant: Assistant) -> JobQueue:
    stores = assistant.index.stores
    if stores.database is None:
        raise ConfigError("jobs need the cluster store mode: set ASSISTANT_STORE__MODE=cluster")
    return JobQueue(stores.database, stores.name)


def enqueue_documents(assistant: Assistant, docs: dict[str, str]) -> int:
    """Keeps these texts (name → text) and queues their sync; the job's id."""
    queue = queue_of(assistant)
    queue.put_documents(docs)
    return queue.enqueue(DOCUMENTS, {"names": sorted(docs)})


def enqueue_all(assistant: Assistant, batch: int = 200) -> list[int]:
    """Every kept document queued again (the page's Re-index), ``batch`` documents a job."""
    queue = queue_of(assistant)
    names = queue.document_names()
    return [queue.enqueue(DOCUMENTS, {"names": names[i : i + batch]}) for i in range(0, len(names), batch)]


def job_line(state: Any) -> str:
    """A job's state in words, for the page and the CLI."""
    if state is None:
        return "the job is gone"
    if state.state == "queued":
        return f"queued as job {state.id}: a worker indexes it (`assistant worker`)"
    result = state.result or {}
    if state.state == "failed":
        return f"job {state.id} failed on {state.worker}: {result.get('error', '?')}"
    return f"indexed by worker {state.worker}: " + SyncReport.from_dict(result).summary()


def wait_jobs(queue: JobQueue, jobs: list[int], wait_s: float) -> tuple[SyncReport | None, str]:
    """Waits, up to wait_s in all, for these documents jobs: (their reports together, "") when all are
    done (None when there were none), (None, the line of the first one still queued) otherwise. A
    failed one raises JobFailed with its line."""
    import time

    deadline = time.monotonic() + wait_s
    index: SyncReport | None = None
    for job in jobs:
        st = queue.wait(job, max(0.0, deadline - time.monotonic()))
        if st is not None and st.state == "failed":
            raise JobFailed(job_line(st))
        if st is None or st.state != "done":
            return None, job_line(st)
        index = (index or SyncReport()).absorb(SyncReport.from_dict(st.result or {}))
    return index, ""
