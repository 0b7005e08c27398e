"""Staffing: queueing formulas (Erlang B, C and A) that turn a call forecast into agents.

The calculators live in ``centralita.staffing.erlang``; they are pure functions of numbers, with
no I/O and no dependency outside the standard library.
"""
