"""`assistant check [--repair] [--json]`: the index's health, store by store and article by article; with
--repair, what it finds is repaired from the stores that are sound and the folders the index is built
from (the corpus folders and the upload folder)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from assistant.cli.common import IndexDir, JsonOut, build, err, make_settings, progress_bar


def check(
    index_dir: IndexDir = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair", help="Repair what is found (rebuilt from the sound stores and the folders)."
        ),
    ] = False,
    as_json: JsonOut = False,
) -> None:
    """Check the index: each store file, and each article's records, vectors and lexical entries.

    A store that cannot be opened is moved aside (never deleted) as soon as it is opened. Exits 0 when
    the index is sound (or was repaired), 1 when something was found and not repaired, 2 when the
    repair failed.
    """
    from assistant.store import IndexError_
    from assistant.updates import Updater

    assistant = build(make_settings(index_dir))
    index = assistant.index
    health = after = index.check("deep")
    report = None
    if repair and not health.sound:
        try:
            with progress_bar("repairing") as update:
                report = index.sync(Updater(assistant).folders(), progress=update, depth="deep")
        except IndexError_ as e:
            err(f"error: {e}")
            raise typer.Exit(2) from None
        after = index.check("deep")
    if as_json:
        out = {"health": health.to_dict()}
        if report is not None:
            out |= {"repair": report.to_dict(), "after": after.to_dict()}
        typer.echo(json.dumps(out, ensure_ascii=False))
    elif health.sound:
        typer.echo("sound: every article's records, vectors and lexical entries agree")
    else:
        for p in health.problems():
            typer.echo(f"found: {p}")
        if report is None:
            typer.echo("run `assistant check --repair` (or start the app) to repair it")
        else:
            typer.echo(f"repaired: {report.summary()}")
            for p in after.problems():
                typer.echo(f"still: {p}")
    raise typer.Exit(0 if after.sound else 1)
