"""The ``logfleet`` command line: run each part, set up the servers, ask audit questions.

Every command reads its settings from defaults, the local stack's record, ``--config``/``LOGFLEET_CONFIG``
and ``LOGFLEET_*`` environment variables. Errors end the command with one line on stderr and a
distinct exit code (see :mod:`logfleet.core.errors`), never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from logfleet import __version__
from logfleet.commands.audit import audit_group
from logfleet.commands.bench import bench_group
from logfleet.commands.config import config_group
from logfleet.commands.context import run, settings_from
from logfleet.commands.deadletter import deadletter_group
from logfleet.commands.kibana import kibana_setup_command
from logfleet.commands.stack import stack_group
from logfleet.commands.status import status_command
from logfleet.core.config import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="logfleet")
@click.option(
    "--config",
    "config_file",
    envvar="LOGFLEET_CONFIG",
    type=click.Path(dir_okay=False),
    help="TOML settings file (env: LOGFLEET_CONFIG). LOGFLEET_* variables override it.",
)
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """logfleet: collect every Docker container's logs through Kafka into Elasticsearch.

    \b
    A shipper on each host reads container logs through the Docker Engine API and produces them
    to Kafka; processors parse them and enforce the log format; indexers write them to
    Elasticsearch; `logfleet audit` answers who logged what, when, from which container.

    \b
    Quick start on one machine:
      logfleet stack up        # dockerd (if none), Kafka and Elasticsearch on 127.0.0.1
      logfleet setup           # topics and index templates
      logfleet run             # shipper + processor + indexer in one process
      logfleet audit search --since 15m
    """
    ctx.ensure_object(dict)
    ctx.obj["config"] = config_file


@cli.group(invoke_without_command=True)
@click.option("--kafka/--no-kafka", default=True, help="Create the Kafka topics.")
@click.option("--elasticsearch/--no-elasticsearch", default=True, help="Put the Elasticsearch templates.")
@click.pass_context
def setup(ctx: click.Context, kafka: bool, elasticsearch: bool) -> None:
    """Create the Kafka topics and Elasticsearch templates the pipeline needs (safe to repeat).

    \b
    logfleet setup                       topics and templates (the same as kafka + elasticsearch)
    logfleet setup kafka                 only the Kafka topics
    logfleet setup elasticsearch         only the index templates (and ILM policy where supported)
    logfleet setup kibana --url URL      import the dashboards, data views and saved searches
    """
    if ctx.invoked_subcommand is not None:
        return
    _setup_servers(ctx, kafka, elasticsearch)


def _setup_servers(ctx: click.Context, kafka: bool, elasticsearch: bool) -> None:
    from logfleet.ops import provision as setup_mod

    settings = settings_from(ctx)

    async def go() -> list[str]:
        lines: list[str] = []
        if kafka:
            lines += await setup_mod.setup_kafka(settings)
        if elasticsearch:
            lines += await setup_mod.setup_elasticsearch(settings)
        return lines

    for line in run(go):
        click.echo(line)


@setup.command("kafka")
@click.pass_context
def setup_kafka_command(ctx: click.Context) -> None:
    """Create the raw, events and dead-letter Kafka topics when missing (safe to repeat)."""
    _setup_servers(ctx, kafka=True, elasticsearch=False)


@setup.command("elasticsearch")
@click.pass_context
def setup_elasticsearch_command(ctx: click.Context) -> None:
    """Put the Elasticsearch component and index templates (and the ILM policy where the server has ILM)."""
    _setup_servers(ctx, kafka=False, elasticsearch=True)


def _daemon_command(name: str, help_text: str, factory: Callable[[Settings], list[Any]]) -> click.Command:
    @click.pass_context
    def command(ctx: click.Context) -> None:
        from logfleet.ops.runner import run_until_signalled

        settings = settings_from(ctx, daemon=True)
        run(lambda: run_until_signalled(*factory(settings), metrics_port=settings.metrics_port))

    return click.Command(name, callback=command, help=help_text)


def _shipper(settings: Settings) -> list[Any]:
    from shipper.daemon import Shipper

    return [Shipper(settings)]


def _processor(settings: Settings) -> list[Any]:
    from processor.daemon import Processor

    return [Processor(settings)]


def _indexer(settings: Settings) -> list[Any]:
    from indexer.daemon import Indexer

    return [Indexer(settings)]


for _name, _help, _factory in (
    (
        "shipper",
        "Read every container's logs through the Docker Engine API (DOCKER_HOST) and produce them to "
        "Kafka; checkpoints in LOGFLEET_STATE_DIR advance only after Kafka acknowledged.",
        _shipper,
    ),
    (
        "processor",
        "Consume raw lines from Kafka, parse them into ECS events and produce them to the events topic "
        "(dead letters to the dead-letter topic); offsets are committed after the output was acknowledged.",
        _processor,
    ),
    (
        "indexer",
        "Consume events and dead letters from Kafka and bulk-write them to Elasticsearch with "
        "deterministic ids; offsets are committed only when every item is stored.",
        _indexer,
    ),
):
    _group = click.Group(_name, help=f"The {_name}: {_help.split(';')[0].split(' (')[0]}.")
    _group.add_command(_daemon_command("run", _help + " Stops cleanly on SIGTERM/SIGINT.", _factory))
    cli.add_command(_group)

cli.add_command(
    _daemon_command(
        "run",
        "Run shipper, processor and indexer in one process (a single host). Stops cleanly on SIGTERM/SIGINT.",
        lambda s: _shipper(s) + _processor(s) + _indexer(s),
    )
)


cli.add_command(stack_group)
cli.add_command(audit_group)
setup.add_command(kibana_setup_command)
cli.add_command(bench_group)
cli.add_command(config_group)
cli.add_command(status_command)
cli.add_command(deadletter_group)


def main() -> None:
    """Console-script entry point."""
    cli(obj={})
