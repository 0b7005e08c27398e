"""Labels of the analytics pages, merged into ``web.i18n.STRINGS``; both languages, same keys."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {"es": {}, "en": {}}
