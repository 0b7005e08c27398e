"""The ``centralita`` command line."""
