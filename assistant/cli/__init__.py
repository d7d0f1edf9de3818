"""Command line: `assistant index | stats | check | ask | chat | eval | serve | feeds | watch | store-server |
worker | enqueue | db-server`.

Answers and JSON go to stdout; progress and diagnostics to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.cli.common import (
    Backend,
    IndexDir,
    JsonOut,
    Today,
    build,
    err,
    fail,
    make_settings,
    parse_day,
    parse_days_list,
    progress_bar,
)

app = typer.Typer(
    help="Grounded question answering over news articles, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from assistant.providers import offline_env

    offline_env()


@app.command()
def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders of articles (default: seeds/).")
    ] = None,
    index_dir: IndexDir = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the index and embed everything again.")
    ] = False,
    as_json: JsonOut = False,
) -> None:
    """Bring the index in step with article files: embed new or changed ones, drop vanished ones.

    Exits 1 when any file failed (the others are still indexed), 2 on a configuration error.
    """
    settings = make_settings(index_dir)
    assistant = build(settings)
    if rebuild:
        assistant.index.rebuild()
    from assistant.store import IndexError_

    try:
        with progress_bar("embedding") as update:
            report = assistant.sync(paths or None, progress=update)
    except IndexError_ as e:  # the store or the embedder is broken for every article: nothing recorded
        err(f"error: {e}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for f in report.failed:
            err(f"failed: {f.path}: {f.error}")
        typer.echo(report.summary())
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def stats(index_dir: IndexDir = None, as_json: JsonOut = False) -> None:
    """Articles, chunks, embedding model and last sync of the index."""
    assistant = build(make_settings(index_dir))
    info = assistant.index.stats()
    if as_json:
        typer.echo(json.dumps(info))
    else:
        for k, v in info.items():
            typer.echo(f"{k:16} {v}")


def _print_answer(answer: Any) -> None:
    if answer.standalone_question and answer.standalone_question != answer.question.strip():
        err(f"(understood as: {answer.standalone_question})")
    typer.echo(answer.text)
    for c in answer.citations:
        when = f", {c.published}" if c.published else ""
        typer.echo(f"  [{c.n}] {c.title}{when} {c.url or c.article_id}")
        typer.echo(f"      “{c.quote}” (chars {c.start}-{c.end})")


def _stream_answer(
    assistant: Any, question: str, history: list[Any], day: date | None, filters: Any = None
) -> Any:
    """Evidence first: the verified quotes on stderr as soon as they are found, then the model's draft
    while it writes, marked as not yet checked (dimmed on a terminal); returns the final, checked
    Answer."""
    answer = None
    streamed = False
    tty = sys.stderr.isatty()
    for part in assistant.stream(question, history, today=day, filters=filters):
        if "evidence" in part:
            quotes = part["evidence"]
            err(f"(quotes, checked against the sources; {assistant.backend_label} is writing its answer)")
            err(quotes.text)
            for c in quotes.citations:
                err(f"  [{c.n}] {c.title}{f', {c.published}' if c.published else ''} {c.url or c.article_id}")
        elif "draft" in part:
            if not streamed:
                err(f"({assistant.backend_label}; draft, not yet checked against the sources:)")
                if tty:
                    sys.stderr.write("\x1b[2m")
            streamed = True
            sys.stderr.write(part["draft"])
            sys.stderr.flush()
        elif "answer" in part:
            answer = part["answer"]
    if streamed:
        sys.stderr.write("\x1b[0m\n" if tty else "\n")
        err("(checked answer:)")
    return answer


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    day: Today = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Only articles from this source (repeatable), e.g. cnn.com."),
    ] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="Only articles published on or after YYYY-MM-DD.")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Only articles published on or before YYYY-MM-DD.")
    ] = None,
    backend: Backend = None,
    index_dir: IndexDir = None,
    as_json: JsonOut = False,
) -> None:
    """Answer one question from the indexed articles, with verbatim quoted citations."""
    from assistant.ask.retrieve import Filters

    filters = Filters(date_from=parse_day(date_from), date_to=parse_day(date_to), sources=tuple(source or ()))
    assistant = build(make_settings(index_dir, backend), with_llm=True)
    if assistant.index.stats()["articles"] == 0:
        fail("the index is empty: run `assistant index [PATH]` first")
    from assistant.damage import StoreUnavailable

    try:
        if as_json:
            answer = assistant.ask(question, today=parse_day(day), filters=filters)
        else:
            answer = _stream_answer(assistant, question, [], parse_day(day), filters)
    except StoreUnavailable as e:  # cluster mode: the database went away after the index was opened
        fail(str(e))
    if as_json:
        d = answer.to_dict()
        typer.echo(
            json.dumps(
                {
                    "answer": d["answer"],
                    "citations": d["citations"],
                    "refused": d["refused"],
                    "answer_kind": d["kind"],
                    "timings": d["timings"],
                    "backend": d["backend"],
                    "standalone_question": d["standalone_question"],
                    "rewrite": d["rewrite"],
                    "from_model": d["from_model"],
                    "quotes": d["quotes"],
                    "notes": d["notes"],
                },
                ensure_ascii=False,
            )
        )
    else:
        _print_answer(answer)


@app.command()
def chat(
    day: Today = None,
    backend: Backend = None,
    index_dir: IndexDir = None,
) -> None:
    """A conversation in the terminal: follow-up questions use what was asked before. Empty line or Ctrl-D ends."""
    assistant = build(make_settings(index_dir, backend), with_llm=True)
    err(f"answerer: {assistant.backend_label}; {assistant.index.stats()['articles']} articles indexed")
    history: list[tuple[str, str]] = []
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question:
            break
        answer = _stream_answer(assistant, question, history, parse_day(day))
        _print_answer(answer)
        history += [("user", question), ("assistant", answer.text)]


@app.command("eval")
def eval_(
    split_dir: Annotated[Path, typer.Argument(help="Folder with articles.jsonl and questions.jsonl.")],
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N questions.")] = None,
    backend: Backend = None,
    index_dir: Annotated[
        Path | None,
        typer.Option("--index-dir", help="Index folder to (re)use (default: <index dir>/eval-<split>)."),
    ] = None,
    conversation: Annotated[
        bool,
        typer.Option(
            "--conversation",
            help="Also ask every question after an unrelated one, and the follow-up set (--conversations).",
        ),
    ] = False,
    conversations: Annotated[
        list[Path] | None,
        typer.Option(
            "--conversations",
            help="Follow-up set, JSON lines (repeatable; default: bench/conversations.jsonl).",
        ),
    ] = None,
    llm_rewrites: Annotated[
        bool,
        typer.Option(
            "--llm-rewrites",
            help="With --conversation: also rewrite every follow-up with the local LLM (answers stay "
            "with --backend, extractive by default).",
        ),
    ] = False,
    folds: Annotated[
        bool,
        typer.Option(
            "--folds/--no-folds",
            help="Also refit the weights on half of the weeks and measure on the other half (out-of-fold).",
        ),
    ] = True,
    shipped: Annotated[
        bool,
        typer.Option(
            "--shipped/--no-shipped",
            help="Also measure the packaged weights (--no-shipped: out-of-fold only).",
        ),
    ] = True,
    asked_later: Annotated[
        str,
        typer.Option(
            "--asked-later",
            help="Also ask every question N days after its own date, a row per N (e.g. 60,365).",
        ),
    ] = "",
    as_json: JsonOut = False,
) -> None:
    """Retrieval, answer, citation and refusal figures on a QA split: as shipped and out-of-fold, beside
    BM25-only and dense-only baselines; where the answers were lost; with --asked-later, the same
    questions asked later than their date."""
    from assistant.evaluate.conversation import (
        DEFAULT_CONVERSATIONS,
        format_conversation,
        run_conversation_eval,
    )
    from assistant.evaluate.report import format_table, run_eval

    for name in ("articles.jsonl", "questions.jsonl"):
        if not (split_dir / name).is_file():
            fail(f"{split_dir / name} not found: a split folder holds articles.jsonl and questions.jsonl")
    later = parse_days_list(asked_later)
    conv_files = conversations or [DEFAULT_CONVERSATIONS]
    if conversation and not shipped:
        fail("--conversation compares with the shipped answers: drop --no-shipped")
    for conv_file in conv_files if conversation else []:
        if not conv_file.is_file():
            fail(f"{conv_file} not found: the follow-up set is a JSON-lines file")
    answerer = backend
    if llm_rewrites:  # the model is loaded for the rewrites; the answers stay extractive unless asked
        answerer = backend or "extractive"
        backend = "auto"
    settings = make_settings(None, backend)
    settings.index_dir = index_dir or settings.index_dir / f"eval-{split_dir.resolve().name}"
    assistant = build(settings, with_llm=True)
    from assistant.evaluate.split import SplitError

    try:
        with progress_bar("questions") as update:
            out = run_eval(
                assistant,
                split_dir,
                limit=limit,
                backend=answerer,
                folds=folds,
                shipped=shipped,
                asked_later=later,
                progress=update,
            )
    except SplitError as e:
        fail(str(e))
    convs: dict[str, dict[str, Any]] = {}
    for conv_file in conv_files if conversation else []:
        with progress_bar(f"conversations ({conv_file.name})") as update:
            convs[conv_file.name] = run_conversation_eval(
                assistant,
                out["questions"],
                out["answers"],
                conv_file,
                backend=answerer,
                llm_rewrites=llm_rewrites,
                progress=update,
            )
    if as_json:
        result = dict(out["result"])
        if len(convs) == 1:
            result["conversation"] = next(iter(convs.values()))["result"]
        elif convs:
            result["conversation"] = {name: conv["result"] for name, conv in convs.items()}
        typer.echo(json.dumps(result))
    else:
        typer.echo(format_table(out["result"], out["details"]))
        for name, conv in convs.items():
            typer.echo(f"[{name}] {format_conversation(conv['result'])}")
    err(json.dumps(out["details"]))
    for conv in convs.values():
        err(json.dumps({k: v for k, v in conv.items() if k != "result"}, ensure_ascii=False))


@app.command()
def serve(
    port: Annotated[
        int | None, typer.Option("--port", help="Port (default $ASSISTANT_UI__PORT or 7860).")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Host (default 127.0.0.1).")] = None,
    index_dir: IndexDir = None,
    backend: Backend = None,
) -> None:
    """Sync the article folders (only what changed) and serve the chat page."""
    from assistant.ui.serve import serve as serve_ui

    settings = make_settings(index_dir, backend)
    if port:
        settings.ui.port = port
    if host:
        settings.ui.host = host
    serve_ui(settings)


from assistant.cli.cluster import db_server, enqueue, worker  # noqa: E402
from assistant.cli.feeds import feeds_app, watch  # noqa: E402 - the commands register on `app`
from assistant.cli.health import check  # noqa: E402
from assistant.cli.store import store_server  # noqa: E402

app.add_typer(feeds_app, name="feeds")
app.command()(watch)
app.command("store-server")(store_server)
app.command()(check)
app.command()(worker)
app.command()(enqueue)
app.command("db-server")(db_server)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
