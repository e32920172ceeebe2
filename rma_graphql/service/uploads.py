"""Pictures customers upload for their returns: checked to be images, stored behind a small
storage interface (a folder on disk by default; an object store can take its place), and
served at a signed link that expires."""

import asyncio
import hashlib
import io
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pillow_heif
from PIL import Image, UnidentifiedImageError

from rma_graphql.db import upload_repository as store
from rma_graphql.domain.access import Caller
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.service.accounts import Accounts
from rma_graphql.service.unit_of_work import UnitOfWork

pillow_heif.register_heif_opener()

# What Pillow calls each accepted format: its media type and the stored file's extension.
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "HEIF": ("image/heic", "heic"),
}
KEY = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.(jpg|png|webp|heic)$"
)
MEDIA_TYPES = {extension: media_type for media_type, extension in FORMATS.values()}
DAY_SECONDS = 24 * 3600
PATH = "/uploads/{key}"
NOT_AN_IMAGE = "The file is not a JPEG, PNG, WebP or HEIC image."


class Storage(Protocol):
    """Where uploaded files live, by key."""

    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


class FolderStorage:
    """Files in one folder on disk, written whole or not at all."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    async def put(self, key: str, data: bytes) -> None:
        def write() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            partial = self._path(key).with_suffix(".part")
            partial.write_bytes(data)
            os.replace(partial, self._path(key))

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


def image_type(data: bytes) -> tuple[str, str]:
    """The media type and extension of an image Pillow can open and verify; else refused."""
    try:
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
            found = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BadUserInputError(NOT_AN_IMAGE, "file") from None
    if found not in FORMATS:
        raise BadUserInputError(NOT_AN_IMAGE, "file")
    return FORMATS[found]


@dataclass(frozen=True)
class Stored:
    key: str
    content_type: str
    size: int
    url: str


@dataclass
class Uploads:
    """The uploads of every organization: checked, stored, recorded, linked."""

    uow: UnitOfWork
    accounts: Accounts
    storage: Storage
    max_bytes: int
    link_seconds: int

    async def store(self, caller: Caller, data: bytes) -> Stored:
        if not data:
            raise BadUserInputError("The file is empty.", "file")
        if len(data) > self.max_bytes:
            raise BadUserInputError(f"The file is over {self.max_bytes} bytes.", "file")
        content_type, extension = await asyncio.to_thread(image_type, data)
        key = f"{uuid.uuid4()}.{extension}"
        await self.storage.put(key, data)
        values = {
            "id": key,
            "organization_id": caller.organization_id,
            "content_type": content_type,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "uploaded_by": {k: caller.actor.get(k) for k in ("type", "id", "name")},
            "created_at": datetime.now(UTC),
        }
        try:
            async with self.uow.transaction() as conn:
                await store.add(conn, values)
        except BaseException:
            await self.storage.delete(key)  # no file without its record
            raise
        return Stored(key, content_type, len(data), self.signed_path(key))

    def signed_path(self, key: str, now: float | None = None) -> str:
        """The file's link, valid at least ``link_seconds`` (expiring at a whole UTC day)."""
        earliest = int(now if now is not None else time.time()) + self.link_seconds
        expires = -(-earliest // DAY_SECONDS) * DAY_SECONDS
        signature = self.accounts.sign(f"upload:{key}:{expires}")
        return f"{PATH.format(key=key)}?expires={expires}&signature={signature}"

    async def read(self, key: str, expires: str, signature: str) -> tuple[bytes, str] | None:
        """The file and its media type when the link is valid and unexpired; else None."""
        if not KEY.match(key) or not expires.isdigit() or int(expires) < time.time():
            return None
        if not self.accounts.verify(f"upload:{key}:{int(expires)}", signature):
            return None
        data = await self.storage.get(key)
        return None if data is None else (data, MEDIA_TYPES[key.rsplit(".", 1)[1]])
