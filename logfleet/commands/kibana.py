"""``logfleet setup kibana``: import the dashboards, data views and saved searches into Kibana."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from logfleet.commands.context import run


@click.command("kibana")
@click.option(
    "--url",
    required=True,
    envvar="LOGFLEET_KIBANA_URL",
    help="Kibana's base URL, with its base path if it has one (env: LOGFLEET_KIBANA_URL).",
)
@click.option("--space", default="", help="Kibana space id to import into (default: the default space).")
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML file with api_key, or username and password (keep it mode 600). Without it: "
    "LOGFLEET_KIBANA_API_KEY, or LOGFLEET_KIBANA_USERNAME and LOGFLEET_KIBANA_PASSWORD, or none.",
)
@click.option(
    "--file",
    "objects",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="NDJSON of saved objects to import (default: kibana/logfleet.ndjson).",
)
@click.option(
    "--timeout", default=60.0, show_default=True, type=click.FloatRange(1), help="Seconds to wait for Kibana."
)
def kibana_setup_command(
    url: str, space: str, credentials_file: str | None, objects: Path | None, timeout: float
) -> None:
    """Import logfleet's Kibana objects: data views, dashboards, Lens panels, saved searches.

    Posts kibana/logfleet.ndjson (built for Kibana 8.11 and later) to the saved objects import API
    with overwrite=true, so running it again replaces the objects in place. Prints one line per
    object (ok, or the error Kibana gave) and exits with 1 if any object failed. Credentials are
    never taken from the command line: use the environment or --credentials-file.
    """
    from logfleet.ops import kibana as kibana_mod

    def prepare() -> tuple[bytes, Any]:
        path = objects or kibana_mod.objects_file()
        return path.read_bytes(), kibana_mod.load_credentials(credentials_file)

    async def go() -> Any:
        payload, credentials = prepare()
        return await kibana_mod.import_objects(url, payload, space, credentials, request_timeout=timeout)

    if credentials_file and Path(credentials_file).exists() and kibana_mod.loosely_readable(credentials_file):
        click.echo(f"logfleet: warning: {credentials_file} can be read by other users (chmod 600 it)", err=True)
    report = run(go)
    width = max((len(r.type) for r in report.results), default=0)
    id_width = max((len(r.id) for r in report.results), default=0)
    for result in report.results:
        status = "ok    " if result.ok else "FAILED"
        click.echo(f"{status}  {result.type:<{width}}  {result.id:<{id_width}}  {result.title}  ({result.detail})")
    failed = len(report.failed)
    total = len(report.results)
    where = f"space {space}" if space else "the default space"
    if failed:
        click.echo(f"logfleet: {failed} of {total} objects failed to import into {report.url}", err=True)
        sys.exit(1)
    click.echo(f"imported {total} objects into Kibana ({where}) at {report.url}")
