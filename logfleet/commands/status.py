"""``logfleet status``: the pipeline at a glance, for operators (table) and monitoring systems (json)."""

from __future__ import annotations

import click
import orjson

from logfleet.commands.context import run, settings_from
from logfleet.core.errors import Unreachable


@click.command("status")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True, help="Output format."
)
@click.option(
    "--minutes", default=15, show_default=True, type=click.IntRange(1, 7 * 24 * 60),
    help="Window for the documents and dead letters counted per data stream.",
)
@click.pass_context
def status_command(ctx: click.Context, fmt: str, minutes: int) -> None:
    """Show the pipeline at a glance: shipper checkpoints, lag, recent documents, dead letters.

    \b
    - the shipper's checkpoints on this host (state_dir), per container, with their age;
    - each pipeline topic: partitions, replication factor, min.insync.replicas, and the
      partitions that are under-replicated or offline (no leader);
    - consumer-group lag per stage and partition: the processor group on the raw topic, the
      indexer group on the events and dead-letter topics (end offset minus committed offset;
      no group is joined);
    - documents per data stream of the namespace in the last --minutes, and dead letters.
    A section whose server does not answer says so; the others are still shown, and the command
    exits with 4.
    """
    from logfleet.ops import status as status_mod

    settings = settings_from(ctx)
    report = run(lambda: status_mod.gather(settings, minutes))
    if fmt == "json":
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(status_mod.render_table(report), nl=False)
    if report["unreachable"]:
        click.echo(f"logfleet: unreachable: {', '.join(report['unreachable'])}", err=True)
        raise click.exceptions.Exit(Unreachable.exit_code)
