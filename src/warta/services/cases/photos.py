"""Photos a citizen attaches to a case: checked by decoding, stripped, stored encrypted.

A photo of a pothole taken with a phone carries where it was taken (EXIF GPS), often the
citizen's own street, and the phone's make and serial: that must not reach the agency's
staff, the public page or a backup. So an upload is never stored as it came:

1. **Size.** Over ``WARTA_CASE_PHOTO_MAX_BYTES`` (5 MB by default) it is refused undecoded.
2. **Kind, by its first bytes**, not by its name or declared type: JPEG (``FF D8 FF``),
   PNG (``89 50 4E 47 0D 0A 1A 0A``) or WebP (``RIFF....WEBP``). Anything else (a GIF, a
   PDF, an HTML page named ``foto.jpg``) is refused before Pillow sees it, so none of
   Pillow's other decoders is ever reached from an upload.
3. **Decoded** with Pillow, only as that kind. Its header is read first, and a picture
   of more than ``MAX_PIXELS`` (40 million: an 8,000 × 5,000 photo) is refused before
   its pixels are: a 100 KB PNG can declare 50,000 × 50,000 pixels, 7.5 GB decoded (a
   "decompression bomb"). A truncated or corrupt file fails to decode and is refused.
4. **Re-encoded from its pixels alone** (a new image made from the decoded pixels, so
   no EXIF, GPS, XMP, ICC profile, comment or text chunk can come along), turned upright
   first by its EXIF orientation (the only thing taken from the metadata), shrunk to
   at most ``MAX_SIDE`` pixels on its longer side, and saved in its own kind: JPEG at
   quality 85, PNG, or WebP at quality 85. Only the first frame of an animation is kept.
5. **Encrypted** with the keyring (AES-GCM, field ``case.photo``) and written to
   ``$WARTA_VAR_DIR/case-photos/<2 hex>/<32 hex>`` (owner-readable only, written then
   renamed, so a crash leaves no half file under its name). The database keeps only
   that relative path (``AcceptedPhoto.blob_path``) with the type and dimensions. A key
   rotation must re-seal the files too (``reencrypt``) before the old key goes.

Steps 2-4 are pure (``clean``) and run in an upload worker process
(``services.offload``) when the API has them, so decoding a large photo neither holds
up other requests nor, if a crafted file makes the decoder blow up, takes the API down.

Who may see a photo is decided by ``reads`` (``citizen_photo``, ``public_photo``,
``agency_photo``: the citizen who filed the case, anyone for a real report about a
public place, the owning agency), which give its stored path; ``read`` opens whatever
path it is given, after checking it is one ``accept`` could have made.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import struct
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageOps

from warta.deps import Warta
from warta.errors import InvalidInput
from warta.security.crypto import Keyring
from warta.services import offload

Kind = Literal["JPEG", "PNG", "WEBP"]
CONTENT_TYPES: dict[Kind, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
#: The most pixels a photo may declare (width × height) before its pixels are decoded.
MAX_PIXELS = 40_000_000
#: The longest side a stored photo keeps: plenty to see a pothole, a fraction of a
#: 12-megapixel original's bytes.
MAX_SIDE = 2560
QUALITY = 85
FIELD = "case.photo"
FOLDER = "case-photos"
_BLOB_PATH = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}")


class DecompressionBomb(Exception):
    """More pixels declared than ``MAX_PIXELS``: refused before they are decoded."""


@dataclass(frozen=True)
class CleanPhoto:
    """A photo re-encoded from its pixels alone: what ``clean`` gives back."""

    content_type: str
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class AcceptedPhoto:
    """A stored photo: ``blob_path`` is relative to the photo folder, for ``read``."""

    content_type: str
    width: int
    height: int
    blob_path: str
    size: int


def sniff(data: bytes) -> Kind | None:
    """The kind of image ``data`` starts like, by its signature; None if none we take.

    >>> sniff(b"\\xff\\xd8\\xff\\xe0...JFIF"), sniff(b"GIF89a..."), sniff(b"")
    ('JPEG', None, None)
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise InvalidInput("The photo is larger than %(mb)s MB", mb=_megabytes(max_bytes))


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:g}"


def clean(data: bytes, max_bytes: int) -> CleanPhoto:
    """Check ``data`` is a JPEG, PNG or WebP photo and re-encode it without metadata.

    Pure, so an upload worker process can run it (``offload.run``). Raises
    ``InvalidInput`` with a message for the citizen when the photo cannot be taken.
    """
    check_size(data, max_bytes)
    kind = sniff(data)
    if kind is None:
        raise InvalidInput("Send a photo as JPEG, PNG or WebP")
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own (higher) pixel limit before we can refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise DecompressionBomb
                image.load()
                pixels = _pixels(image, kind)
    except (DecompressionBomb, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput(
            "This photo is too large: at most %(megapixels)s megapixels",
            megapixels=MAX_PIXELS // 1_000_000,
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError) as exc:
        # Pillow's decoders report a damaged file with any of these.
        raise InvalidInput("This photo could not be read: it may be damaged") from exc
    return CleanPhoto(CONTENT_TYPES[kind], pixels.width, pixels.height, _encode(pixels, kind))


def _pixels(image: Image.Image, kind: Kind) -> Image.Image:
    """The decoded picture upright and shrunk, as a new image with no ``info`` at all."""
    upright = ImageOps.exif_transpose(image) or image
    mode = _mode(upright, kind)
    converted = upright if upright.mode == mode else upright.convert(mode)
    converted.thumbnail((MAX_SIDE, MAX_SIDE))
    # Made from the raw pixels: nothing of the original's metadata can ride along.
    return Image.frombytes(mode, converted.size, converted.tobytes())


def _mode(image: Image.Image, kind: Kind) -> str:
    """RGB or greyscale, with alpha kept where the kind can hold it (PNG, WebP)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if kind != "JPEG" and has_alpha:
        return "RGBA"
    if image.mode == "L" or (image.mode == "LA" and kind == "JPEG"):
        return "L"
    return "RGB"


def _encode(image: Image.Image, kind: Kind) -> bytes:
    out = io.BytesIO()
    if kind == "JPEG":
        image.save(out, "JPEG", quality=QUALITY, optimize=True)
    elif kind == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=QUALITY)
    return out.getvalue()


def folder(app: Warta) -> Path:
    return app.settings.var_dir / FOLDER


async def accept(app: Warta, data: bytes) -> AcceptedPhoto:
    """Check, clean, encrypt and store one uploaded photo (see the module docstring).

    Call it before the case's transaction: a photo refused refuses the case unfiled. A
    photo whose case then fails to commit is left on disk unreferenced; ``discard`` it.
    """
    check_size(data, app.settings.case_photo_max_bytes)  # before it crosses to a worker
    photo = await offload.run(app, clean, data, app.settings.case_photo_max_bytes)
    return await asyncio.to_thread(store, folder(app), app.keyring, photo)


def store(root: Path, keyring: Keyring, photo: CleanPhoto) -> AcceptedPhoto:
    """Encrypt ``photo`` and write it under ``root``, readable by the owner only."""
    name = uuid.uuid4().hex
    blob_path = f"{name[:2]}/{name}"
    target = root / blob_path
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write(target, keyring.encrypt_bytes(photo.data, field=FIELD))
    return AcceptedPhoto(photo.content_type, photo.width, photo.height, blob_path, len(photo.data))


def _write(target: Path, sealed: bytes) -> None:
    """Written beside, then renamed: a crash leaves the old file or the new, never half."""
    partial = target.with_suffix(".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(sealed)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, target)


def reencrypt(root: Path, keyring: Keyring) -> int:
    """Seal again under the keyring's current key every photo sealed under an older one,
    for a key rotation (``services.rotation``: before the old key is dropped, or the
    photos could no longer be opened). Returns how many it re-sealed; running it again
    finds none."""
    count = 0
    for path in sorted(root.glob("*/*")) if root.is_dir() else ():
        if not _BLOB_PATH.fullmatch(f"{path.parent.name}/{path.name}"):
            continue  # a .part left by a crash
        sealed = path.read_bytes()
        if keyring.is_current(sealed):
            continue
        _write(path, keyring.encrypt_bytes(keyring.decrypt_bytes(sealed, field=FIELD), field=FIELD))
        count += 1
    return count


def _path(root: Path, blob_path: str) -> Path:
    """The file for ``blob_path``, refusing anything ``store`` could not have named
    (``../``, absolute paths): a path from the database still goes through here."""
    if not _BLOB_PATH.fullmatch(blob_path):
        raise InvalidInput("Not a case photo path")
    return root / blob_path


def load(root: Path, keyring: Keyring, blob_path: str) -> bytes:
    """The photo's bytes (as ``clean`` made them), decrypted. ``FileNotFoundError`` when
    it is gone (erased)."""
    return keyring.decrypt_bytes(_path(root, blob_path).read_bytes(), field=FIELD)


async def read(app: Warta, blob_path: str) -> bytes:
    """The stored photo at ``blob_path`` (an ``AcceptedPhoto.blob_path``), decrypted."""
    return await asyncio.to_thread(load, folder(app), app.keyring, blob_path)


async def discard(app: Warta, blob_path: str) -> None:
    """Remove a stored photo (its case was not filed, or is being erased); no error if
    it is already gone."""
    await asyncio.to_thread(_path(folder(app), blob_path).unlink, missing_ok=True)
