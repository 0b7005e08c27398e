"""The sealed copy of an erased contact, kept only for legal claims while it is blocked.

It is the export archive, encrypted with a key derived from the server's secret key, in
``{data_dir}/sealed/{tenant_id}/{erasure_id}.zip.enc``: staff, the receptionist and every
other process see nothing of it; an operator can open it with ``centralita privacy unseal``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from centralita.core.errors import NotFound

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"centralita.privacy.seal\x00" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class SealedStore:
    def __init__(self, root: Path, secret_key: str) -> None:
        self.root = root
        self._fernet = _fernet(secret_key)

    def _path(self, tenant_id: str, erasure_id: str) -> Path:
        if not _NAME.match(tenant_id) or not _NAME.match(erasure_id):
            raise NotFound("sealed copy not found")
        return self.root / tenant_id / f"{erasure_id}.zip.enc"

    def put(self, tenant_id: str, erasure_id: str, data: bytes) -> str:
        path = self._path(tenant_id, erasure_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(self._fernet.encrypt(data))
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path.name

    def read(self, tenant_id: str, erasure_id: str) -> bytes:
        path = self._path(tenant_id, erasure_id)
        if not path.is_file():
            raise NotFound("sealed copy not found (destroyed, or never kept)")
        try:
            return self._fernet.decrypt(path.read_bytes())
        except InvalidToken as exc:
            raise NotFound("sealed copy unreadable with this secret key") from exc

    def delete(self, tenant_id: str, erasure_id: str) -> bool:
        path = self._path(tenant_id, erasure_id)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        return existed
