"""``logfleet stack``: start, inspect and stop the local default stack (Docker, Apache Kafka, Elasticsearch)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from logfleet.core.config import default_stack_dir
from logfleet.core.errors import StackError, Unreachable
from logfleet.devstack import stack as local_stack

_STACK_DIR_HELP = ("Folder for the stack's record, logs and data; keep it short (Unix socket paths are "
                   "limited to 108 bytes). Default /var/tmp/logfleet, or $LOGFLEET_STACK_DIR.")


F = TypeVar("F", bound=Callable[..., Any])


def _stack_dir_option(func: F) -> F:
    return click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path),
                        default=None, help=_STACK_DIR_HELP)(func)


@contextlib.contextmanager
def _stack_errors(command: str) -> Iterator[None]:
    """Turn a StackError into one line on stderr and the error's exit code, never a traceback."""
    try:
        yield
    except StackError as exc:
        click.echo(f"logfleet stack {command}: {exc}", err=True)
        raise click.exceptions.Exit(exc.exit_code) from None
    except OSError as exc:  # e.g. a stack dir that cannot be created
        click.echo(f"logfleet stack {command}: {exc}", err=True)
        raise click.exceptions.Exit(StackError.exit_code) from None


@click.group("stack")
def stack_group() -> None:
    """Run a local Docker Engine, Apache Kafka and Elasticsearch for development and tests.

    `up` reuses a Docker Engine that answers (DOCKER_HOST, then /var/run/docker.sock) or starts a
    private dockerd (root only), builds the image local/busybox:1 from the host's busybox, starts
    Apache Kafka in KRaft mode from its own jars (resolved by scripts/install.sh; Java 17+), and
    noida-db as the Elasticsearch stand-in (or, with --search opensearch, a real OpenSearch). It
    records what it started in STACK_DIR/stack.json; the other logfleet commands read their
    addresses from there.
    """


@stack_group.command("up")
@click.option("--kafka-port", type=click.IntRange(1, 65535), default=None,
              help="Kafka port on 127.0.0.1 (default 9092; a free port if that one is taken).")
@click.option("--kafka-brokers", type=click.IntRange(1, 9), default=1, show_default=True,
              help="1: one combined KRaft node (broker and controller). More: a dedicated controller and "
                   "that many brokers, so a broker can fail without the metadata quorum (fault tests).")
@click.option("--es-port", type=click.IntRange(1, 65535), default=None,
              help="Elasticsearch port on 127.0.0.1 (default 9200; a free port if that one is taken).")
@click.option("--search", type=click.Choice(["elasticsearch", "opensearch"]), default="elasticsearch",
              show_default=True,
              help="The search engine: the Elasticsearch stand-in (noida-db), or a real single-node OpenSearch "
                   "2.19 from its Maven Central jars (about 5 s to start, 0.4-0.6 GB).")
@click.option("--private-docker", is_flag=True,
              help="Start a private dockerd under STACK_DIR/docker even if another engine answers.")
@_stack_dir_option
def up_command(kafka_port: int | None, kafka_brokers: int, es_port: int | None, search: str,
               private_docker: bool, stack_dir: Path | None) -> None:
    """Start what is missing of the stack and print its environment.

    Safe to run again: components that still answer are reused, nothing is started twice. Prints
    `export` lines for DOCKER_HOST and LOGFLEET_*; `eval "$(logfleet stack env)"` loads them.
    """
    with _stack_errors("up"):
        record = local_stack.up(stack_dir or default_stack_dir(), kafka_port=kafka_port, es_port=es_port,
                                private_docker=private_docker, kafka_brokers=kafka_brokers, search=search)
    for line in record.started_now:
        click.echo(f"started: {line}", err=True)
    for line in record.reused:
        click.echo(f"reused:  {line}", err=True)
    click.echo("\n".join(local_stack.env_lines(record)))


@stack_group.command("down")
@click.option("--purge", is_flag=True, help="Also delete the stack's data, logs and record.")
@_stack_dir_option
def down_command(purge: bool, stack_dir: Path | None) -> None:
    """Stop what `up` started (nothing it merely reused), by the pids it recorded."""
    with _stack_errors("down"):
        stopped = local_stack.down(stack_dir or default_stack_dir(), purge=purge)
    for line in stopped:
        click.echo(f"stopped: {line}")
    if not stopped:
        click.echo("nothing to stop")


@stack_group.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@_stack_dir_option
def status_command(fmt: str, stack_dir: Path | None) -> None:
    """Show each component, its address and whether it answers, and every Kafka node (id, roles,
    address, pid); `--format json` for scripts.

    Exits with code 4 when a component does not answer, 0 otherwise.
    """
    with _stack_errors("status"):
        info = local_stack.status(stack_dir or default_stack_dir())
    names = ("docker", "kafka", "elasticsearch")
    if fmt == "json":
        click.echo(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode())
    else:
        if not info["recorded"]:
            click.echo(f"no stack recorded in {info['stack_dir']}; showing the default addresses")
        click.echo(f"{'COMPONENT':<14} {'ANSWERS':<8} {'STARTED BY UP':<14} ADDRESS")
        for name in names:
            part = info[name]
            pid = f"pid {part['pid']}" if part["pid"] else "-"
            label = "opensearch" if part.get("engine") == "opensearch" else name
            click.echo(f"{label:<14} {'yes' if part['answers'] else 'NO':<8} {pid:<14} {part['address']}")
        for node in info["kafka"]["nodes"]:
            pid = f"pid {node['pid']}" if node["pid"] else "-"
            label = f"  kafka node {node['node_id']}"
            answers = "yes" if node["answers"] else "NO"
            click.echo(f"{label:<14} {answers:<8} {pid:<14} {node['address']} ({node['roles']})")
    if not all(info[name]["answers"] for name in names):
        raise click.exceptions.Exit(Unreachable.exit_code)


@stack_group.command("env")
@_stack_dir_option
def env_command(stack_dir: Path | None) -> None:
    """Print shell `export` lines for the recorded stack: eval "$(logfleet stack env)"."""
    directory = stack_dir or default_stack_dir()
    with _stack_errors("env"):
        record = local_stack.read_record(directory)
        if record is None:
            raise StackError(f"no stack recorded in {directory}; run `logfleet stack up` first")
    click.echo("\n".join(local_stack.env_lines(record)))
