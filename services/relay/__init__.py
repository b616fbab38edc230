"""The outbox relay of distributed mode: outbox rows -> Kafka (see `relay`)."""
