"""Shared, framework-free building blocks named by topic."""
