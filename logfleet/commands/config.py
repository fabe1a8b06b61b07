"""``logfleet config``: show the effective configuration (secrets masked) and check a settings file.

``show`` prints every setting as the commands see it (defaults, the local stack's record, the TOML file,
then ``DOCKER_HOST`` and ``LOGFLEET_*``), in TOML (the file format, so the output can be edited into a
file) or JSON; credentials (passwords, API keys, credentials in URLs) are always shown as ``***``,
whether they came from the file, the environment or a ``*_file`` secret file. ``check FILE`` reads one
TOML file the way every command does (through :func:`logfleet.core.config.load_settings`) and says ``ok`` or
names the bad key in one line, exit 2.
"""

from __future__ import annotations

import re
import sys
import tomllib
from typing import Any

import click
import orjson

from logfleet.commands.context import settings_from
from logfleet.core.config import PARSE_PATTERNS, Settings, load_settings
from logfleet.core.errors import ConfigError

MASK = "***"
_SECRET_WORDS = ("password", "secret", "token", "api_key")


def masked(settings: Settings) -> dict[str, Any]:
    """Every setting by name, with credentials in URLs masked and secret-looking settings hidden."""
    out = settings.redacted()
    for key, value in out.items():
        if any(word in key.lower() for word in _SECRET_WORDS) and value not in ("", None):
            out[key] = MASK
    return out


def to_toml(values: dict[str, Any]) -> str:
    """Flat settings as TOML key/value lines (strings as JSON-escaped basic strings, valid TOML)."""
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = repr(value)
        else:
            text = orjson.dumps(str(value)).decode()
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


@click.group("config")
def config_group() -> None:
    """Show the effective settings or check a settings file.

    Settings come from defaults, the local stack's record, the TOML file (--config or
    LOGFLEET_CONFIG) and DOCKER_HOST/LOGFLEET_* environment variables, later ones winning.
    """


@config_group.command("show")
@click.option(
    "--format", "fmt", type=click.Choice(["toml", "json"]), default="toml", show_default=True, help="Output format."
)
@click.pass_context
def config_show(ctx: click.Context, fmt: str) -> None:
    """Print every setting as the other commands would use it, with secrets masked.

    Credentials in URLs become ***@host, and any setting whose name contains password, secret,
    token or api_key (es_password, es_api_key, kafka_sasl_password) is shown as ***, also when it
    was read from a *_file secret file. The TOML output can be used as a settings file.
    """

    values = masked(settings_from(ctx))
    if fmt == "json":
        click.echo(orjson.dumps(values, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(to_toml(values), nl=False)


def _line_of(path: str, key: str) -> int | None:
    """The line number where ``key`` is set in the file, for pointing at it (None if not found)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                if re.match(rf"""\s*["']?{re.escape(key)}["']?\s*=""", line):
                    return number
    except OSError:
        return None
    return None


def _not_scalar(path: str) -> str | None:
    """A key whose value is a table or array (no setting takes one; load_settings would stringify it)."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    for key, value in data.items():
        if isinstance(value, dict | list) and key != PARSE_PATTERNS:  # the one table a setting takes
            kind = "a table" if isinstance(value, dict) else "an array"
            field = Settings.__dataclass_fields__.get(key)
            return f"setting {key!r}: {kind} is not a {field.type if field else 'str'}"
    return None


@config_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def config_check(file: str) -> None:
    """Validate a TOML settings FILE: print ok (exit 0), or one line naming the bad key (exit 2).

    Checks that the file can be read and parsed, that every key is a known setting, that each
    value has the setting's type, and that named parse patterns compile. The environment is not
    consulted: only the file is checked.
    """
    try:
        # Only the file: no LOGFLEET_* variables (the stack record, if any, holds valid values).
        settings = load_settings(file, env={})
        if settings.parse_patterns.strip():  # named parse patterns: compiled the way the processor will
            from processor.parse import compile_named_patterns

            compile_named_patterns(settings.parse_patterns)
        problem = _not_scalar(file)
        if problem:
            raise ConfigError(problem)
    except ConfigError as exc:
        message = str(exc)
        found = re.search(r"setting '([^']+)'", message)
        line = _line_of(file, found.group(1)) if found else None
        where = f"{file}:{line}" if line else file
        if file in message:  # unreadable or not TOML: the message names the file already
            click.echo(f"logfleet: {message}" + (f" (line {line})" if line else ""), err=True)
        else:
            click.echo(f"logfleet: {where}: {message}", err=True)
        sys.exit(exc.exit_code)
    click.echo("ok")
