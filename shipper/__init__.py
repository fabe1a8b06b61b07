"""The shipper: a per-host daemon that reads every container's logs through the Docker Engine API
and produces them to Kafka, advancing its checkpoints only after Kafka acknowledged them."""
