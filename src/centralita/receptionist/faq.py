"""Answer a caller's question from the tenant's own FAQ and service list, or admit not knowing.

Every FAQ entry and every service becomes a ``FaqItem``: a few texts to match against (the
question in both languages, the answer itself, the service name and description) and the
answer to give. A caller's question is embedded with the same multilingual encoder as the
intent classifier, and the item with the highest cosine similarity to any of its texts wins.
Below ``DEFAULT_THRESHOLD`` nothing is returned, and the dialogue says it does not know and
offers to take a message: a wrong answer on the phone costs more than no answer.

Answers are only ever text from the tenant document: an FAQ answer verbatim, or for a service
its name, description, price and duration from the document joined by fixed labels
("Precio", "Duration"...). Nothing is paraphrased or invented.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

import numpy as np

from centralita.receptionist.nlu.intents import Encoder, Vectors, encode_sentences

if TYPE_CHECKING:
    from centralita.tenants.config.schema import Localized, ServiceConfig, TenantDocument

Source = Literal["faq", "service"]
AnswerLanguage = Literal["es", "en"]

# Chosen on tests/receptionist/faq_cases.py (both demo tenants, both languages): the threshold
# that maximises (answerable questions answered correctly + unanswerable ones refused) / 2.
# docs/nlu.md ("FAQ retrieval") has the curve and the figures.
DEFAULT_THRESHOLD = 0.53

_CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


@dataclass(frozen=True)
class FaqItem:
    """Something the business has told us: texts to match a question against, and the answer."""

    key: str
    questions: tuple[str, ...]
    answer_es: str | None
    answer_en: str | None
    source: Source

    def answer(self, language: AnswerLanguage) -> str | None:
        """The answer in ``language``, or in the other language when that one is missing."""
        if language == "es":
            return self.answer_es or self.answer_en
        return self.answer_en or self.answer_es


@dataclass(frozen=True)
class FaqAnswer:
    key: str
    text: str
    score: float
    source: Source


def _both(text: Localized | None) -> list[str]:
    if text is None:
        return []
    return [t for t in (text.es, text.en) if t]


def _price(amount: Decimal, currency: str | None) -> str:
    number = str(amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount)
    if currency is None:
        return number
    symbol = _CURRENCY_SYMBOLS.get(currency)
    if symbol in ("£", "$"):
        return f"{symbol}{number}"
    return f"{number} {symbol or currency}"


def _service_answer(
    service: ServiceConfig, language: AnswerLanguage, currency: str | None
) -> str | None:
    """The service in the document's words, or None when its name is not in ``language``."""
    name = getattr(service.name, language)
    if not name:
        return None
    parts = [f"{name}."]
    description = getattr(service.description, language, None) if service.description else None
    if description:
        parts.append(description if description.endswith(".") else f"{description}.")
    if service.price is not None:
        price = _price(service.price, currency)
        if language == "es":
            parts.append(f"Precio: {'desde ' if service.price_from else ''}{price}.")
        else:
            parts.append(f"Price: {'from ' if service.price_from else ''}{price}.")
    if service.duration_minutes is not None:
        minutes = service.duration_minutes
        if language == "es":
            parts.append(f"Duración: {minutes} minutos.")
        else:
            parts.append(f"Duration: {minutes} minutes.")
    return " ".join(parts)


def _service_questions(service: ServiceConfig) -> list[str]:
    texts: list[str] = []
    if service.name.es:
        texts += [service.name.es, f"¿Hacen {service.name.es}? ¿Cuánto cuesta?"]
    if service.name.en:
        texts += [service.name.en, f"Do you do {service.name.en}? How much is it?"]
    return texts + _both(service.description)


def items_from_document(doc: TenantDocument) -> list[FaqItem]:
    """One item per FAQ entry, then one per service, in document order."""
    items = [
        FaqItem(
            key=entry.key,
            questions=tuple(_both(entry.question) + _both(entry.answer)),
            answer_es=entry.answer.es,
            answer_en=entry.answer.en,
            source="faq",
        )
        for entry in doc.faq
    ]
    currency = doc.profile.currency
    for service in doc.services:
        items.append(
            FaqItem(
                key=service.key,
                questions=tuple(_service_questions(service)),
                answer_es=_service_answer(service, "es", currency),
                answer_en=_service_answer(service, "en", currency),
                source="service",
            )
        )
    return items


class FaqIndex:
    """Nearest-question retrieval over a tenant's items; build once per tenant document."""

    def __init__(
        self, items: Sequence[FaqItem], vectors: Vectors, owners: Sequence[int], encode: Encoder
    ) -> None:
        """Prefer ``build``; ``owners[i]`` is the position in ``items`` of ``vectors[i]``."""
        self.items = tuple(items)
        self._vectors = vectors
        self._owners = np.asarray(owners, dtype=np.int64)
        self._encode = encode

    @classmethod
    def build(cls, items: Sequence[FaqItem], *, encode: Encoder = encode_sentences) -> FaqIndex:
        """Embed every item's texts in one encoder call (nothing is encoded when empty)."""
        texts: list[str] = []
        owners: list[int] = []
        for position, item in enumerate(items):
            if item.answer_es is None and item.answer_en is None:
                continue
            texts.extend(item.questions)
            owners.extend([position] * len(item.questions))
        vectors = encode(texts) if texts else np.zeros((0, 0))
        return cls(items, vectors, owners, encode)

    def best(self, questions: Sequence[str]) -> list[tuple[FaqItem, float] | None]:
        """For each question, the closest item and its cosine score (None when empty)."""
        if not questions:
            return []
        if len(self._owners) == 0:
            return [None] * len(questions)
        similarities = self._encode(questions) @ self._vectors.T
        results: list[tuple[FaqItem, float] | None] = []
        for row in similarities:
            top = int(np.argmax(row))
            results.append((self.items[int(self._owners[top])], float(row[top])))
        return results

    def answer_many(
        self,
        questions: Sequence[str],
        *,
        language: AnswerLanguage,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> list[FaqAnswer | None]:
        """``answer`` for a batch, with one encoder call."""
        answers: list[FaqAnswer | None] = []
        for found in self.best(questions):
            text = found[0].answer(language) if found else None
            if found is None or text is None or found[1] < threshold:
                answers.append(None)
            else:
                item, score = found
                answers.append(FaqAnswer(item.key, text, score, item.source))
        return answers

    def answer(
        self, question: str, *, language: AnswerLanguage, threshold: float = DEFAULT_THRESHOLD
    ) -> FaqAnswer | None:
        """The best item's answer in ``language`` (else the other), or None below threshold."""
        return self.answer_many([question], language=language, threshold=threshold)[0]
