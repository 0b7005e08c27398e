"""Tables of this package (filled in by this package's work)."""

from __future__ import annotations
