"""The search engine under the indexer, setup, audit, dead letters and status: Elasticsearch or OpenSearch.

``async with search.connect(settings) as engine:`` gives an :class:`~logfleet.search.engine.Engine` for
whatever answers at ``es_url``, chosen from the server's own ``GET /`` answer; see
:mod:`logfleet.search.engine` for the interface and the errors it raises.
"""

from logfleet.search.engine import Engine, connect, safe_url

__all__ = ["Engine", "connect", "safe_url"]
