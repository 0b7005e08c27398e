"""The HTTP edge: dependencies, error format, pagination and the v1 router."""
