"""The processor: consumes raw log lines from Kafka, parses them, enforces the prescribed format and
produces ECS-shaped events (and dead letters) back to Kafka."""
