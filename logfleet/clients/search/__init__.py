"""The search engine under the indexer, setup, audit, dead letters and status: Elasticsearch or OpenSearch.

``async with search.connect(settings) as engine:`` gives an :class:`~logfleet.clients.search.engine.Engine` for
whatever answers at ``es_url``, chosen from the server's own ``GET /`` answer; see
:mod:`logfleet.clients.search.engine` for the interface and the errors it raises.
"""

from logfleet.clients.search.connect import connect
from logfleet.clients.search.engine import Engine, safe_url

__all__ = ["Engine", "connect", "safe_url"]
