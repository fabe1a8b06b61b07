"""The indexer: consumes events and dead letters from Kafka and bulk-writes them to Elasticsearch,
committing offsets only when every item of a batch is final."""
