"""Domain events: envelopes, the transactional outbox, the relay and the buses."""
