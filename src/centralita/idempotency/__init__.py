"""Idempotency-Key for POST requests under /api/v1: a retried request runs at most once."""
