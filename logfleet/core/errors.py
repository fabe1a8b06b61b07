"""The project's exception tree.

Errors raised by aiokafka, the Elasticsearch and OpenSearch clients and the Docker Engine API are translated into
these classes at the boundary (the client wrappers), so the rest of the code and the CLI deal with
one vocabulary. Each class carries an exit code the CLI uses when the error ends a command.
"""

from __future__ import annotations


class LogfleetError(Exception):
    """Base of every error logfleet raises on purpose."""

    exit_code = 1


class ConfigError(LogfleetError):
    """A setting is missing or has a value that cannot work."""

    exit_code = 2


class StackError(LogfleetError):
    """The local stack (dockerd, Kafka, the Elasticsearch stand-in) could not be started, stopped or found."""

    exit_code = 3


class Unreachable(LogfleetError):
    """A server (Docker, Kafka, Elasticsearch) did not answer."""

    exit_code = 4


class DockerUnreachable(Unreachable):
    """The Docker Engine API did not answer."""


class KafkaUnreachable(Unreachable):
    """No Kafka broker answered."""


class UntrustedCertificate(Unreachable):
    """A server's TLS certificate is not signed by the configured CA (a setting to fix, not an outage)."""


class ElasticsearchUnreachable(Unreachable):
    """The search engine (Elasticsearch or OpenSearch) did not answer."""


class AuthError(LogfleetError):
    """A server refused our credentials."""

    exit_code = 5


class NoData(LogfleetError):
    """The data asked for does not exist yet (no log data stream, no topic)."""

    exit_code = 6


class SearchRequestError(LogfleetError):
    """The search engine answered a request with an error status (other than 401/403/404)."""

    def __init__(self, message: str, status: int, kind: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind  # the server's error type, e.g. resource_already_exists_exception


class BadTimeExpression(LogfleetError):
    """A --since/--until value is neither relative (15m, 2h, 7d) nor RFC 3339."""

    exit_code = 7


class DeliveryError(LogfleetError):
    """A write to Kafka or Elasticsearch failed and must be retried from the last acknowledged point."""


class DockerError(LogfleetError):
    """The Docker Engine API answered with an error."""
