"""Fetching a customer's file: ``GET /{media_id}`` for its URL, type and size, then ``GET url``
with the same bearer token for the bytes (media ids from webhooks expire after 7 days)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from centralita.channels.base import FetchedMedia, MediaRefused, TransientSendError
from centralita.channels.meta.graph import Graph

# The types the Cloud API documents for audio, documents, images, stickers and video.
SUPPORTED_TYPES = frozenset({
    "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg",
    "image/jpeg", "image/png", "image/webp",
    "video/mp4", "video/3gpp", "video/3gp",
    "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
})  # fmt: skip


def base_type(mime_type: str) -> str:
    """``audio/ogg; codecs=opus`` is ``audio/ogg``."""
    return mime_type.split(";", 1)[0].strip().lower()


def _size(info: Mapping[str, Any]) -> int | None:
    try:
        return int(info["file_size"])
    except (KeyError, TypeError, ValueError):
        return None


def matches_sha256(data: bytes, given: str) -> bool:
    """Meta writes the hash as hex in some places and as base64 in others: accept either."""
    digest = hashlib.sha256(data).digest()
    if given.lower() == digest.hex():
        return True
    try:
        return base64.b64decode(given.replace("-", "+").replace("_", "/"), validate=True) == digest
    except (binascii.Error, ValueError):
        return False


async def fetch(graph: Graph, media: Mapping[str, Any], *, max_bytes: int) -> FetchedMedia:
    media_id = media.get("id")
    if not isinstance(media_id, str) or not media_id:
        raise MediaRefused("the message names no media id")
    info = await graph.media_info(media_id)
    mime = str(info.get("mime_type") or media.get("mime_type") or "")
    if base_type(mime) not in SUPPORTED_TYPES:
        raise MediaRefused(f"unsupported media type {mime or 'unknown'!r}; not stored")
    size = _size(info)
    if size is not None and size > max_bytes:
        raise MediaRefused(f"{size} bytes; at most {max_bytes} are stored")
    data = await graph.download(str(info["url"]), max_bytes=max_bytes)
    expected = info.get("sha256") or media.get("sha256")
    if isinstance(expected, str) and expected and not matches_sha256(data, expected):
        # a truncated or corrupted download: fetching again may succeed
        raise TransientSendError("the downloaded media does not match its sha256")
    filename = media.get("filename")
    return FetchedMedia(data, mime, filename if isinstance(filename, str) else None)
