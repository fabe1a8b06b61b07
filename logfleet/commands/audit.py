"""``logfleet audit``: read-only questions to Elasticsearch (search, follow, export, stats, violations).

Every subcommand only searches (it needs the ``read`` privilege on ``logs-*``, nothing else), looks
at the data streams of one namespace (``--namespace``, default the ``namespace`` setting; ``*`` for
all), and ends with one line on stderr and a distinct exit code when it cannot answer: 4 server
unreachable, 5 credentials refused, 6 no data stream yet, 7 bad time expression.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from logfleet.commands.context import run, settings_from
from logfleet.ops.audit.output import FORMATS

F = TypeVar("F", bound=Callable[..., Any])

_TIME_HELP = "now, a duration back from now (15m, 2h, 7d) or RFC 3339 (2024-05-01T12:00:00Z)"


def _filter_options(*, query: bool = True, until: bool = True, since_default: str = "") -> Callable[[F], F]:
    """The filters every audit subcommand shares."""

    def decorate(func: F) -> F:
        options = [
            click.option("--container", default="", help="Only this container name."),
            click.option("--service", default="", help="Only this service (Compose service or container name)."),
            click.option("--host", default="", help="Only this host name."),
            click.option("--level", default="", help="Only this log level (trace, debug, info, warn, error, fatal)."),
            click.option(
                "--since",
                default=since_default,
                show_default=bool(since_default),
                help=f"From this time: {_TIME_HELP}.",
            ),
        ]
        if until:
            options.append(click.option("--until", default="", help=f"Up to this time: {_TIME_HELP}."))
        options.append(
            click.option(
                "--namespace",
                default=None,
                help="Data stream namespace to read (default: the namespace setting, LOGFLEET_NAMESPACE); "
                "* reads every namespace.",
            )
        )
        for option in reversed(options):
            func = option(func)
        if query:
            func = click.argument("query", required=False, default="")(func)
        return func

    return decorate


def _deadletters_option(func: F) -> F:
    return click.option(
        "--dead-letters",
        is_flag=True,
        help="Read the dead-letter stream (records refused by the format policy or by Elasticsearch) instead.",
    )(func)


def _format_option(choices: tuple[str, ...] = FORMATS, default: str = "table") -> Callable[[F], F]:
    return click.option(
        "--format", "fmt", default=default, show_default=True, type=click.Choice(choices), help="Output format."
    )


def _filters(settings: Any, namespace: str | None, **values: Any) -> Any:
    from logfleet.ops.audit.search import Filters

    return Filters(namespace=namespace or settings.namespace, **values)


def _write(text: str) -> None:
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()


@click.group("audit")
def audit_group() -> None:
    """Read-only questions to Elasticsearch: who logged what, when, from which container.

    \b
    search      matching records, in order down to the nanosecond
    follow      new matching records as they arrive (like tail -f)
    export      every matching record to a file (NDJSON or CSV)
    stats       volume by service, level and container over a window
    violations  format violations and dead letters per service and reason

    Needs only read access to the logs-* data streams.
    """


@audit_group.command("search")
@_filter_options()
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000), help="At most N records.")
@click.option(
    "--sort",
    type=click.Choice(["asc", "desc"]),
    default="asc",
    show_default=True,
    help="Print oldest first (asc) or newest first (desc).",
)
@_deadletters_option
@_format_option()
@click.pass_context
def audit_search(
    ctx: click.Context, /, query: str, fmt: str, limit: int, sort: str, namespace: str | None, **filters: Any
) -> None:
    """Find log records (the most recent LIMIT) matching QUERY and the filters.

    QUERY uses Lucene query syntax over the message (e.g. 'timeout AND db'). Records are ordered by
    @timestamp in nanoseconds (the line's own time), then in Docker's order (event.created, then
    event.sequence). For every record in a window, however many, use `logfleet audit export`.
    """
    from logfleet.clients.search import connect
    from logfleet.ops.audit.output import render
    from logfleet.ops.audit.search import search

    settings = settings_from(ctx)

    async def go() -> list[dict[str, Any]]:
        wanted = _filters(settings, namespace, query=query, **filters).validate()
        async with connect(settings) as client:
            return await search(client, wanted, limit, newest_first=sort == "desc")

    _write(render(run(go), fmt))


@audit_group.command("follow")
@_filter_options(until=False)
@click.option(
    "-n", "--lines", default=10, show_default=True, type=click.IntRange(0, 10000),
    help="Show the last N matching records first (ignored with --since, which shows all since then).",
)
@click.option(
    "--interval", default=1.0, show_default=True, type=click.FloatRange(0.1, 3600), help="Seconds between polls."
)
@click.option(
    "--grace",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="Also show records that arrive up to this many seconds behind the newest one shown.",
)
@click.option(
    "--max-seconds", default=0.0, type=click.FloatRange(0), help="Stop after this many seconds (0: until Ctrl-C)."
)
@_deadletters_option
@_format_option()
@click.pass_context
def audit_follow(
    ctx: click.Context,
    /,
    query: str,
    fmt: str,
    lines: int,
    interval: float,
    grace: float,
    max_seconds: float,
    namespace: str | None,
    **filters: Any,
) -> None:
    """Print new records matching QUERY and the filters as they arrive, until Ctrl-C.

    Polls Elasticsearch every INTERVAL seconds for records after the newest one shown
    (search_after on @timestamp, event.created, event.sequence, event.id). Records reach Elasticsearch out of
    time order across containers; one that arrives late is still shown if it is at most GRACE
    seconds older than the newest one shown. Ctrl-C (or --max-seconds) ends it with exit code 0.
    """
    from logfleet.clients.search import connect
    from logfleet.ops.audit.follow import follow
    from logfleet.ops.audit.output import StreamPrinter

    settings = settings_from(ctx)
    printer = StreamPrinter(fmt)

    async def go() -> None:
        wanted = _filters(settings, namespace, query=query, until="", **filters).validate()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if max_seconds:
            loop.call_later(max_seconds, stop.set)
        async with connect(settings) as client:
            started = False
            async for batch in follow(client, wanted, lines=lines, interval=interval, grace=grace, stop=stop):
                if not started:
                    _write(printer.start())
                    started = True
                _write(printer.rows(batch))
            if not started:
                _write(printer.start())
        _write(printer.end())

    try:
        run(go)
    except BrokenPipeError:  # the reader went away (| head): nothing more to say
        with contextlib.suppress(OSError):
            sys.stdout.close()


@audit_group.command("export")
@_filter_options()
@click.option(
    "-o", "--output", "output", required=True, type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    help="File to write (- for stdout). Written beside it and renamed when complete.",
)
@click.option(
    "--page-size", default=10_000, show_default=True, type=click.IntRange(1, 10000), help="Records per request."
)
@_deadletters_option
@_format_option(("ndjson", "csv"), "ndjson")
@click.pass_context
def audit_export(
    ctx: click.Context,
    /,
    query: str,
    fmt: str,
    output: str,
    page_size: int,
    namespace: str | None,
    **filters: Any,
) -> None:
    """Write every record matching QUERY and the filters to a file, oldest first.

    Reads through a point in time with search_after, so it sees one consistent snapshot and any
    number of records works. NDJSON keeps whole documents; CSV keeps the audit columns (time,
    Docker's time and sequence, event id, host, container, service, stream, level, format,
    violations, message).
    Shows a progress bar on a terminal and ends with a summary line on stderr.
    """
    from logfleet.clients.search import connect
    from logfleet.ops.audit.export import export

    settings = settings_from(ctx)
    bar: dict[str, Any] = {}
    show_bar = sys.stderr.isatty() and output != "-"

    def on_total(total: int) -> None:
        if show_bar and total:
            bar["bar"] = click.progressbar(length=total, label="exporting", file=sys.stderr, show_pos=True)
            bar["bar"].__enter__()

    def on_page(count: int) -> None:
        if "bar" in bar:
            bar["bar"].update(count)

    async def go() -> Any:
        wanted = _filters(settings, namespace, query=query, **filters).validate()
        async with connect(settings, request_timeout=300) as client:
            return await export(client, wanted, output, fmt, page_size, on_total, on_page)

    started = time.monotonic()
    try:
        result = run(go)
    finally:
        if "bar" in bar:
            bar["bar"].__exit__(None, None, None)
    where = "stdout" if output == "-" else output
    click.echo(
        f"exported {result.written} of {result.total} matching records to {where} "
        f"({fmt}, {time.monotonic() - started:.1f} s)",
        err=True,
    )


@audit_group.command("stats")
@_filter_options(since_default="24h")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 1000), help="Show the N largest of each.")
@_format_option()
@click.pass_context
def audit_stats(ctx: click.Context, /, query: str, fmt: str, top: int, namespace: str | None, **filters: Any) -> None:
    """Count log records by service, by level and by container over a window.

    Counts records matching QUERY and the filters between --since and --until, with each one's
    share of the total, and the number of dead letters in the same window apart.
    """
    from logfleet.clients.search import connect
    from logfleet.ops.audit.output import render_report
    from logfleet.ops.audit.reports import stats, stats_rows, stats_table

    settings = settings_from(ctx)

    async def go() -> dict[str, Any]:
        wanted = _filters(settings, namespace, query=query, **filters).validate()
        async with connect(settings) as client:
            return await stats(client, wanted, top)

    report = run(go)
    _write(render_report(report, stats_rows(report), fmt, stats_table(report)))


@audit_group.command("violations")
@_filter_options(query=False, since_default="24h")
@_format_option()
@click.pass_context
def audit_violations(ctx: click.Context, /, fmt: str, namespace: str | None, **filters: Any) -> None:
    """Who breaks the log format: violations and dead letters per service and reason.

    Over the window, per service: all records, those kept with format violations
    (logfleet.violations, under the warn policy), those dead-lettered (strict policy, or refused
    by Elasticsearch), and the share of non-compliant records; then per reason (not_json,
    missing_field:..., unknown_level, ...) the number of violations and of dead letters.
    """
    from logfleet.clients.search import connect
    from logfleet.ops.audit.output import render_report
    from logfleet.ops.audit.reports import violations, violations_rows, violations_table

    settings = settings_from(ctx)

    async def go() -> dict[str, Any]:
        wanted = _filters(settings, namespace, **filters).validate()
        async with connect(settings) as client:
            return await violations(client, wanted)

    report = run(go)
    _write(render_report(report, violations_rows(report), fmt, violations_table(report)))
