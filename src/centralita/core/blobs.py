"""Local file storage for what customers send: email attachments, WhatsApp media.

Files are content-addressed per tenant, ``{root}/{tenant_id}/{sha256[:2]}/{sha256}``, so a
file delivered twice is stored once and a redelivered webhook cannot leave half a copy: the
bytes are written to a temporary name and renamed into place. What a message says about its
files (name, type, size, key) lives in the message's metadata; the bytes live here.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from centralita.core.errors import InvalidInput, NotFound

MAX_BLOB_BYTES = 25 * 1024 * 1024  # the largest attachment the common mail services send
_KEY = re.compile(r"^[0-9a-f]{64}$")
_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class StoredBlob:
    key: str  # the sha256 of the bytes, hex
    size: int
    content_type: str
    filename: str | None = None

    def as_meta(self) -> dict[str, object]:
        return {
            "key": self.key,
            "size": self.size,
            "content_type": self.content_type,
            "filename": self.filename,
        }


class BlobStore:
    def __init__(self, root: Path, *, max_bytes: int = MAX_BLOB_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def _path(self, tenant_id: str, key: str) -> Path:
        if not _TENANT.match(tenant_id) or not _KEY.match(key):
            raise NotFound("file not found")
        return self.root / tenant_id / key[:2] / key

    def put(
        self, tenant_id: str, data: bytes, *, content_type: str, filename: str | None = None
    ) -> StoredBlob:
        """Store ``data``; raises ``InvalidInput`` above the size limit."""
        if len(data) > self.max_bytes:
            raise InvalidInput.for_field(
                "attachment", f"{len(data)} bytes; at most {self.max_bytes} are stored"
            )
        key = hashlib.sha256(data).hexdigest()
        path = self._path(tenant_id, key)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredBlob(key, len(data), content_type or "application/octet-stream", filename)

    def read(self, tenant_id: str, key: str) -> bytes:
        path = self._path(tenant_id, key)
        if not path.is_file():
            raise NotFound("file not found")
        return path.read_bytes()

    def exists(self, tenant_id: str, key: str) -> bool:
        try:
            return self._path(tenant_id, key).is_file()
        except NotFound:
            return False

    def delete(self, tenant_id: str, key: str) -> None:
        self._path(tenant_id, key).unlink(missing_ok=True)
