"""The development stack: local servers for tests, benchmarks and the quickstart.

Never imported by the runtime daemons (shipper, processor, indexer).
"""
