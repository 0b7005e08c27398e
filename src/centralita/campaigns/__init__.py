"""Proactive outbound: segments, templates, campaigns with pacing and quiet hours, the
opt-out ledger, and built-in notifications such as appointment reminders."""
