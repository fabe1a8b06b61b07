"""The operator's tools: audit queries, dead-letter replay, pipeline status, provisioning of topics,
templates and dashboards, and running the three parts in one process. Stands on the core, the
clients and the parts; the command line (``logfleet/cli.py``, ``logfleet/commands/``) sits above it.
"""
