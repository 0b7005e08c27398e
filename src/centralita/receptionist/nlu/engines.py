"""Pick the NLU engine the settings ask for: the offline pipeline, or the LLM in front of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from centralita.receptionist.nlu.result import NluEngine

if TYPE_CHECKING:
    from centralita.config import Settings


def build_engine(settings: Settings) -> NluEngine:
    """``nlu_engine="llm"`` gives ``LlmNlu`` with the offline engine as its fallback;
    anything else the offline engine alone. An LLM without a URL or model is refused here,
    at start-up, rather than failing every turn."""
    # Imported here: the offline models are loaded only by a process that uses them.
    from centralita.receptionist.nlu.pipeline import default_engine

    if settings.nlu_engine != "llm":
        return default_engine()
    if not settings.llm_base_url or not settings.llm_model:
        raise ValueError(
            "nlu_engine=llm needs llm_base_url and llm_model "
            "(CENTRALITA_LLM_BASE_URL, CENTRALITA_LLM_MODEL)"
        )
    from centralita.receptionist.nlu.llm import LlmNlu

    return LlmNlu(
        settings.llm_base_url,
        settings.llm_model,
        settings.llm_api_key.get_secret_value() or None,
        settings.llm_timeout_seconds,
        fallback=default_engine(),
    )
