"""Data protection: export, block-then-destroy erasure, retention and the consent ledger."""
