"""Satisfaction surveys (CSAT, NPS, CES) sent when an interaction closes, and their answers."""
