"""``python -m logfleet`` runs the CLI."""

from logfleet.cli import main

main()
