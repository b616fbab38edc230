"""CloudEvents: types, streams and the transactional outbox."""
