"""logfleet: centralized log collection from Docker hosts through Kafka into Elasticsearch.

This package holds what every part shares: configuration, the record model, the Kafka and
Elasticsearch client wrappers, the exception tree, telemetry, the local stack and the CLI.
The parts themselves live in the top-level packages ``shipper``, ``processor`` and ``indexer``.
"""

__version__ = "0.1.0"
