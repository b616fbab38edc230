"""Where the engine's lifecycle events come from: the outbox table under a lease
(`embedded`) or a Kafka consumer group (`kafka`), both applying their batches through
one step (`step`)."""
