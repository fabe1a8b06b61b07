"""What every ``logfleet`` command shares: its settings and running a coroutine with the project's
error-to-exit-code mapping.

:func:`settings_from` loads the settings once per invocation (``--config``/``LOGFLEET_CONFIG``, the
stack record, ``LOGFLEET_*``), so a command and the group above it see the same ones; :func:`run`
turns a :class:`~logfleet.core.errors.LogfleetError` into one line on stderr and its exit code, never a
traceback. ``logfleet/cli.py`` and every module in ``logfleet/commands/`` use these two.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from logfleet.core.config import Settings, load_settings
from logfleet.core.errors import LogfleetError
from logfleet.core.telemetry import configure_logging

T = TypeVar("T")


def run(coro_factory: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine ``coro_factory()`` to its end; a LogfleetError ends the process with one
    line on stderr and the error's exit code, Ctrl-C with 130."""
    try:
        return asyncio.run(coro_factory())  # type: ignore[arg-type]
    except LogfleetError as exc:
        click.echo(f"logfleet: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


def settings_from(ctx: click.Context, daemon: bool = False) -> Settings:
    """The invocation's settings (loaded on first use, with ``--config`` from the root group); a bad
    setting ends the process with one line and exit code 2. ``daemon`` also routes the libraries'
    own logs into the JSON self-log."""
    root = ctx.find_root()
    root.ensure_object(dict)
    settings: Settings | None = root.obj.get("settings")
    if settings is None:
        try:
            settings = load_settings(root.obj.get("config"))
        except LogfleetError as exc:
            click.echo(f"logfleet: {exc}", err=True)
            sys.exit(exc.exit_code)
        configure_logging(settings.log_level, libraries=daemon)
        root.obj["settings"] = settings
    return settings
