"""The clients of the servers logfleet talks to: Kafka (producers, consumers, admin, the consume
loop, consumer lag) and the search engine (Elasticsearch or OpenSearch). Errors of the libraries are
translated here into :mod:`logfleet.core.errors`. Stands on the core only.
"""
