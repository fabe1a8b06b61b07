"""The core every part stands on: the record model and event id, errors, settings and security,
telemetry and metrics, the ``_bulk`` body and data-stream names, dead letters, backoff.

Imports nothing of logfleet above it (see ARCHITECTURE.md).
"""
