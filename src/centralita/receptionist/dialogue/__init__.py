"""The receptionist's dialogue: a pure policy over a persisted state (see ``policy.decide``)."""
