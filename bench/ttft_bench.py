"""Time to first token with the local LLM: prints figures, asserts nothing.

In one run, on the first questions of the dev split, each question asked twice, in alternating order:
  * off: no reuse; llama.cpp reads the whole answer prompt (state cache detached, ``Llama.reset()``);
  * on:  the product's configuration (settings.llm.prompt_cache_mb): the constant instructions come
         from a saved state, only the date, sources and question are read.
Between the two, the live context is reset, so "on" always restores from the state cache (the path a
question takes after a follow-up's rewrite) and never reads the same question's prompt back.

Per question it records what llama.cpp evaluated (tokens and seconds of the prompt's first
``Llama.eval``), the time before the model was called (retrieval, reranking), TTFT and total time
(``Answer.timings``) and ``Answer.context_tokens``. The raw prefill rate is measured in the same run,
between questions: ``Llama.eval`` of a fixed prompt of N tokens after ``Llama.reset()``. Target:
TTFT p50 (on) <= 1.3 x (tokens not cached p50 / prefill rate).

    .venv/bin/python bench/ttft_bench.py [SPLIT] --index-dir /tmp/ttft_idx [--questions 40]
    .venv/bin/python bench/ttft_bench.py --sweep      # prefill and writing speed per thread/batch setting

The index directory must hold an index of the split (``assistant index``); it is opened, not changed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_f361700daea0b08c.txt"


@dataclass
class Completion:
    """One call of ``Llama.generate``: the prompt, and what of it was evaluated."""

    started: float
    prompt_tokens: int
    evaluated: int | None = None
    eval_s: float = 0.0


class PromptMeter:
    """Wraps a ``Llama`` object's ``generate`` and ``eval``; the first ``eval`` of a completion is the
    part of the prompt that was not reused."""

    def __init__(self, llm: Any) -> None:
        self.calls: list[Completion] = []
        generate, evaluate = llm.generate, llm.eval

        def metered_generate(tokens: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls.append(Completion(time.perf_counter(), len(tokens)))
            return generate(tokens, *args, **kwargs)

        def metered_eval(tokens: Any) -> None:
            t = time.perf_counter()
            evaluate(tokens)
            if self.calls and self.calls[-1].evaluated is None:
                self.calls[-1].evaluated = len(tokens)
                self.calls[-1].eval_s = time.perf_counter() - t

        llm.generate, llm.eval = metered_generate, metered_eval


def fixed_prompt(llm: Any, n: int) -> list[int]:
    text = SEED.read_text(encoding="utf-8")
    tokens: list[int] = []
    while len(tokens) < n:
        tokens += llm.tokenize(text.encode("utf-8"), add_bos=False)
    return tokens[:n]


def prefill_rate(llm: Any, tokens: list[int]) -> float:
    """Tokens per second evaluating ``tokens`` from an empty context (the state cache is untouched)."""
    llm.reset()
    t = time.perf_counter()
    llm.eval(tokens)
    rate = len(tokens) / (time.perf_counter() - t)
    llm.reset()
    return rate


class OtherLoad:
    """Cores used by other processes since the last ``read()`` (Linux /proc/stat; the machine is shared,
    so every figure is printed with the contention it was measured under)."""

    def __init__(self) -> None:
        self.last = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float]:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except OSError:
            return (0.0, 0.0, time.perf_counter())
        busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
        own = os.times()
        return (busy, own.user + own.system, time.perf_counter())

    def read(self) -> float:
        now = self._now()
        (busy0, own0, t0), (busy1, own1, t1) = self.last, now
        self.last = now
        return max(0.0, ((busy1 - busy0) - (own1 - own0)) / (t1 - t0))


def p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run(args: argparse.Namespace) -> None:
    from assistant.evaluate.split import load_split
    from assistant.service import Assistant

    settings = Settings(index_dir=args.index_dir)
    settings.llm.backend = "llamacpp"
    t = time.perf_counter()
    assistant = Assistant.from_settings(settings)
    load_s = time.perf_counter() - t
    llm = assistant.chat_model.client
    cache = llm.cache
    if cache is None:
        sys.exit("the state cache is off (ASSISTANT_LLM__PROMPT_CACHE_MB=0): nothing to compare")
    meter = PromptMeter(llm)
    _, questions = load_split(args.split)
    questions = questions[: args.questions]
    probe = fixed_prompt(llm, args.prefill_tokens)
    # load the embedding and reranking models before anything is timed (the first question is not
    # charged for them, whichever mode asks it first)
    assistant.ask(questions[0].question, today=questions[0].date, backend="extractive")
    cfg = settings.llm
    print(
        f"model loaded (with the constant prefix read) in {load_s:.1f} s; n_threads={llm.n_threads} "
        f"n_threads_batch={llm.n_threads_batch} n_batch={llm.n_batch} flash_attn={cfg.flash_attn} "
        f"prompt_cache_mb={cfg.prompt_cache_mb}",
        file=sys.stderr,
    )
    whole_run, per_ask = OtherLoad(), OtherLoad()

    rates: list[float] = []
    rows: list[dict[str, Any]] = []
    for i, q in enumerate(questions):
        if i % args.prefill_every == 0:
            rates.append(prefill_rate(llm, probe))
        for mode in ("on", "off") if i % 2 == 0 else ("off", "on"):
            if mode == "off":
                llm.set_cache(None)
                llm.reset()
            n_calls = len(meter.calls)
            per_ask.read()
            t0 = time.perf_counter()
            answer = assistant.ask(q.question, today=q.date, backend="llamacpp")
            llm.set_cache(cache)
            llm.reset()  # the next run never reads this prompt back from the live context
            calls = meter.calls[n_calls:]
            row: dict[str, Any] = {
                "id": q.id,
                "mode": mode,
                "llm": bool(calls),
                "ttft_ms": answer.timings["ttft_ms"],
                "total_ms": answer.timings["total_ms"],
                "context_tokens": answer.context_tokens,
                "text": answer.text,
                "other_cores": round(per_ask.read(), 2),
            }
            if calls:
                c = calls[-1]
                row.update(
                    prompt_tokens=c.prompt_tokens,
                    evaluated=c.evaluated,
                    eval_ms=round(c.eval_s * 1000, 1),
                    before_llm_ms=round((c.started - t0) * 1000, 1),
                )
            rows.append(row)
            print(
                f"{i:3d} {mode:3s} ttft {row['ttft_ms']:8.0f} ms  total {row['total_ms']:8.0f} ms  "
                f"prompt {row.get('prompt_tokens', 0):4d}  evaluated {row.get('evaluated') or 0:4d}",
                file=sys.stderr,
                flush=True,
            )
    rates.append(prefill_rate(llm, probe))

    asked = {r["id"] for r in rows if r["llm"] and r["mode"] == "on"} & {
        r["id"] for r in rows if r["llm"] and r["mode"] == "off"
    }
    by_mode = {m: [r for r in rows if r["mode"] == m and r["id"] in asked] for m in ("off", "on")}
    texts = {m: {r["id"]: r["text"] for r in rs} for m, rs in by_mode.items()}
    same = sum(texts["on"][k] == texts["off"][k] for k in asked)
    rate = p50(rates)

    print(
        f"\n{len(questions)} questions, {len(asked)} answered by the model in both runs "
        f"(the others were refused before it); p50 over those:"
    )
    cols = ["ttft_ms", "total_ms", "context_tokens", "prompt_tokens", "evaluated", "eval_ms", "before_llm_ms"]
    print(f"{'':4s} " + " ".join(f"{c:>15s}" for c in cols) + f" {'other_cores':>12s}")
    summary: dict[str, Any] = {}
    for mode, rs in by_mode.items():
        vals = {c: p50([r[c] for r in rs]) for c in [*cols, "other_cores"]}
        summary[mode] = vals
        print(f"{mode:4s} " + " ".join(f"{vals[c]:15.0f}" for c in cols) + f" {vals['other_cores']:12.2f}")
    in_situ = {
        m: sum(r["evaluated"] for r in rs) / (sum(r["eval_ms"] for r in rs) / 1000) if rs else float("nan")
        for m, rs in by_mode.items()
    }
    print(
        f"\nprefill rate, fixed {args.prefill_tokens}-token prompt: {rate:.1f} tok/s p50 of {len(rates)} "
        f"(min {min(rates):.1f}, max {max(rates):.1f}); in the answers: "
        f"off {in_situ['off']:.1f}, on {in_situ['on']:.1f} tok/s"
    )
    on = summary["on"]
    bound = 1.3 * on["evaluated"] / rate * 1000
    print(
        f"ttft_p50_ms {on['ttft_ms']:.0f} (off {summary['off']['ttft_ms']:.0f}), "
        f"context_tokens_p50 {on['context_tokens']:.0f}, uncached tokens p50 {on['evaluated']:.0f} "
        f"(off {summary['off']['evaluated']:.0f})"
    )
    print(
        f"target: ttft_p50 {on['ttft_ms']:.0f} ms <= 1.3 x {on['evaluated']:.0f} / {rate:.1f} tok/s = "
        f"{bound:.0f} ms: {'met' if on['ttft_ms'] <= bound else 'NOT met'}"
    )
    print(f"answers identical with and without the cache: {same} of {len(asked)}")
    print(f"other processes used {whole_run.read():.2f} of {os.cpu_count()} cores on average during the run")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "summary": summary,
                    "prefill_rates": rates,
                    "in_situ_rates": in_situ,
                    "load_s": load_s,
                    "rows": rows,
                    "settings": cfg.model_dump(exclude={"api_key"}),
                },
                indent=1,
            ),
            encoding="utf-8",
        )


# Thread and batch settings compared by --sweep: (n_threads, n_threads_batch, n_batch, flash_attn).
SWEEP = [
    (2, 2, 512, False),
    (1, 2, 512, False),
    (1, 1, 512, False),
    (2, 2, 512, True),
    (1, 2, 512, True),
    (1, 2, 256, False),
    (1, 2, 128, False),
]


@dataclass
class Speed:
    config: tuple[int, int, int, bool]
    prefill: float
    writing: float
    others: float


def sweep(args: argparse.Namespace) -> None:
    """Prefill (a fixed prompt after a 110-token prefix, as an answer prompt is read) and writing speed
    (one token at a time) per setting, the settings interleaved, ``--reps`` times."""
    from llama_cpp import Llama

    from assistant.llm_model import packaged_model

    path = Settings().llm.model_path or str(packaged_model(Settings().model_cache_dir))
    speeds: list[Speed] = []
    for rep in range(args.reps):
        for config in SWEEP:
            threads, threads_batch, batch, flash = config
            llm = Llama(
                path,
                n_ctx=4096,
                n_threads=threads,
                n_threads_batch=threads_batch,
                n_batch=batch,
                flash_attn=flash,
                verbose=False,
            )
            tokens = fixed_prompt(llm, 110 + args.prefill_tokens + 32)
            prefix, body, written = tokens[:110], tokens[110:-32], tokens[-32:]
            llm.reset()
            llm.eval(prefix)
            others = OtherLoad()
            t = time.perf_counter()
            llm.eval(body)
            prefill = len(body) / (time.perf_counter() - t)
            t = time.perf_counter()
            for tok in written:
                llm.eval([tok])
            writing = len(written) / (time.perf_counter() - t)
            llm.close()
            s = Speed(config, round(prefill, 1), round(writing, 1), round(others.read(), 2))
            speeds.append(s)
            print(rep, asdict(s), file=sys.stderr, flush=True)
    print(
        "n_threads n_threads_batch n_batch flash_attn   prefill tok/s (p50)   writing tok/s (p50)"
        "   other processes (cores, p50)"
    )
    for config in SWEEP:
        got = [s for s in speeds if s.config == config]
        print(
            f"{config[0]:9d} {config[1]:15d} {config[2]:7d} {config[3]!s:>10s}   "
            f"{p50([s.prefill for s in got]):19.1f}   {p50([s.writing for s in got]):19.1f}"
            f"   {p50([s.others for s in got]):28.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("split", type=Path, nargs="?", default=REPO.parent / "shared" / "eval" / "realtimeqa-dev")
    ap.add_argument("--index-dir", type=Path, default=Path("/tmp/ttft_idx"))
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--prefill-tokens", type=int, default=448, help="N of the fixed prefill prompt")
    ap.add_argument("--prefill-every", type=int, default=5, help="measure the prefill rate every k questions")
    ap.add_argument("--json", type=Path, help="write every row and the summary here")
    ap.add_argument("--sweep", action="store_true", help="compare thread and batch settings instead")
    ap.add_argument("--reps", type=int, default=3, help="rounds of --sweep")
    args = ap.parse_args()
    if args.sweep:
        sweep(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
