"""The audit log: who changed what, when, and with what before/after."""
