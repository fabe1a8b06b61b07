"""Subcommand groups of the ``logfleet`` CLI, each registered in :mod:`logfleet.cli`."""
