"""``logfleet deadletter list|replay``: what the pipeline refused, and sending it through again.

``list`` only searches the dead-letter stream of the namespace (and the target streams, to tell
which dead letters have become events since). ``replay`` also produces to the raw topic and writes
``logfleet.replay`` into the dead letters it sent. The logic is in :mod:`logfleet.ops.replay`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
import orjson

from logfleet.commands.context import run, settings_from

F = TypeVar("F", bound=Callable[..., Any])
_TIME_HELP = "now, a duration back from now (15m, 2h, 7d) or RFC 3339 (2024-05-01T12:00:00Z)"
_TABLE = ("@timestamp", "reason", "container", "state", "replays", "original")


def _selection_options(limit: int) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        for option in reversed(
            [
                click.option("--since", default="", help=f"Dead letters from this time on: {_TIME_HELP}."),
                click.option("--until", default="", help=f"Dead letters up to this time: {_TIME_HELP}."),
                click.option("--container", default="", help="Only this container name."),
                click.option(
                    "--reason", default="", help="Only this reason (error.type: not_json, missing_field:..., ...)."
                ),
                click.option(
                    "--limit", default=limit, show_default=True, type=click.IntRange(1, 1_000_000),
                    help="At most N dead letters, oldest first.",
                ),
            ]
        ):
            func = option(func)
        return func

    return decorate


@click.group("deadletter")
def deadletter_group() -> None:
    """Dead letters: lines the format policy or Elasticsearch refused, kept with their original.

    \b
    list     dead letters of the namespace with reason, container, time and state
    replay   send their lines through the processor again (after a policy or schema change)

    \b
    States: pending (never replayed), replayed (sent again, no event yet), resolved (its event
    is stored: nothing left to do), not_replayable (a whole unreadable raw record, or a line
    that cannot be rebuilt; the reason is in the json output).
    """


@deadletter_group.command("list")
@_selection_options(limit=100)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "ndjson"]), default="table", show_default=True,
    help="Output format.",
)
@click.pass_context
def list_command(ctx: click.Context, /, fmt: str, limit: int, **filters: str) -> None:
    """Show dead letters (oldest first): time, reason, container, state, how often replayed, original."""
    from logfleet.clients.search import connect
    from logfleet.ops.audit.output import table
    from logfleet.ops.replay import Selection, find

    settings = settings_from(ctx)

    async def go() -> list[dict[str, Any]]:
        async with connect(settings) as client:
            found = await find(client, settings.namespace, Selection(limit=limit, **filters))
            return [letter.row() for letter in found]

    rows = run(go)
    if fmt == "json":
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
    elif fmt == "ndjson":
        for row in rows:
            click.echo(orjson.dumps(row).decode())
    elif rows:
        cells = [[_cell(row[c]) for c in _TABLE] for row in rows]
        click.echo(table([c.upper() for c in _TABLE], cells, right=(4,)), nl=False)
    else:
        click.echo("no dead letters match", err=True)


@deadletter_group.command("replay")
@_selection_options(limit=1000)
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and change nothing.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
    help="Output format of the summary (json lists every line sent).",
)
@click.pass_context
def replay_command(ctx: click.Context, /, fmt: str, limit: int, dry_run: bool, **filters: str) -> None:
    """Send the original lines of the selected dead letters back into the raw topic.

    The processor then handles them under the current policy and schema: after a service's
    policy went from strict to warn, or a schema or a bug was fixed, they become events. Each
    line goes back with its identity (container, Docker timestamp, stream, ordinal), so as an
    event it gets exactly the _id it would have had: however often it is replayed, it is stored
    once (a second copy is a 409 in Elasticsearch). A line that is refused again becomes the same
    dead letter again (also a 409).

    \b
    Dead letters whose event is already stored (resolved) are never sent again, so replaying the
    same selection once the pipeline caught up sends nothing. Sent ones get logfleet.replay
    (count, last time) written into them. The text sent is the one the dead letter kept: its
    secrets were masked before it was stored; a line longer than 256 KiB comes back cut and
    flagged truncated. Whole raw records that could not be read, and documents over Kafka's
    message limit (only their start was kept), are not replayed.
    Needs write access to the raw topic and to the dead-letter stream.
    """
    from logfleet.clients.search import connect
    from logfleet.ops.replay import Selection, replay

    settings = settings_from(ctx)

    async def go() -> dict[str, Any]:
        async with connect(settings) as client:
            return await replay(settings, client, Selection(limit=limit, **filters), dry_run=dry_run)

    report = run(go)
    if fmt == "json":
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    verb = "would send" if dry_run else "sent"
    done = report["selected"] if dry_run else report["sent"]
    skipped = report["skipped"]
    click.echo(
        f"{verb} {done} lines in {report['records']} records to {report['topic']}; "
        f"skipped {skipped['resolved']} resolved and {skipped['not_replayable']} not replayable"
    )
    for why, count in sorted(report["not_replayable"].items()):
        click.echo(f"  not replayable ({count}): {why}")
    if not dry_run and report["sent"]:
        changed = report["mark_conflicts"]
        click.echo(f"recorded the replay in {report['marked']} dead letters ({changed} changed meanwhile)")


def _cell(value: Any) -> str:
    text = "" if value is None else value if isinstance(value, str) else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= 60 else text[:59] + "…"
