"""Case photos (warta.services.cases.photos): what a citizen uploads is checked by
decoding, stripped of its metadata (a home's GPS position must not leak), and stored
encrypted. Real images made with Pillow; nothing mocked."""

from __future__ import annotations

import io
import stat
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from warta.errors import InvalidInput
from warta.security.crypto import DecryptionError, Keyring
from warta.services.cases import photos

MAX = 5_000_000
#: Where the "citizen" took the photo: 6°12'30.5"S 106°50'45.25"E (central Jakarta).
GPS = {
    1: "S",
    2: (6.0, 12.0, 30.5),
    3: "E",
    4: (106.0, 50.0, 45.25),
}
SECRET_TEXT = "Jl. Melati No. 7, rumah Bu Sari"


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model-SN-12345"  # Model
    exif[0x0112] = orientation
    exif[0x010E] = SECRET_TEXT  # ImageDescription
    exif[0x8825] = GPS  # GPSInfo IFD
    return exif


def _photo(
    kind: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **params: object
) -> bytes:
    image = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None)
    # A pattern, so a rotation shows in the pixels too.
    for x in range(min(8, size[0])):
        image.putpixel((x, 0), (0, 0, 255) if mode == "RGB" else 0)
    out = io.BytesIO()
    image.save(out, kind, **params)
    return out.getvalue()


XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    f"<rdf:Description>{SECRET_TEXT}</rdf:Description></x:xmpmeta>"
).encode()
ICC = b"\x00\x00\x01\x00fake icc profile naming " + SECRET_TEXT.encode()


def _leaks(data: bytes) -> list[str]:
    """What of the original's metadata can still be found in ``data``."""
    found = []
    for marker in (b"Exif", b"PhoneMaker", b"Model-SN", SECRET_TEXT.encode(), b"xmpmeta", b"icc"):
        if marker in data:
            found.append(marker.decode())
    with Image.open(io.BytesIO(data)) as image:
        if image.getexif():
            found.append("exif tags")
        found.extend(
            k for k in ("exif", "icc_profile", "xmp", "comment", "Comment") if k in image.info
        )
    return found


def test_jpeg_loses_exif_gps_xmp_icc_and_comment() -> None:
    original = _photo("JPEG", exif=_exif(), icc_profile=ICC, comment=SECRET_TEXT.encode(), xmp=XMP)
    assert _leaks(original), "the test photo should carry metadata to begin with"

    photo = photos.clean(original, MAX)

    assert _leaks(photo.data) == []
    assert (photo.content_type, photo.width, photo.height) == ("image/jpeg", 64, 48)
    with Image.open(io.BytesIO(photo.data)) as image:
        assert image.format == "JPEG"
        assert image.getexif().get_ifd(0x8825) == {}


def test_png_loses_text_chunks_and_exif_and_keeps_transparency() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET_TEXT)
    info.add_text("Location", SECRET_TEXT, zip=True)
    image = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, exif=_exif(), icc_profile=ICC)
    assert _leaks(out.getvalue())

    photo = photos.clean(out.getvalue(), MAX)

    assert _leaks(photo.data) == []
    assert photo.content_type == "image/png"
    with Image.open(io.BytesIO(photo.data)) as clean:
        assert clean.mode == "RGBA"
        assert clean.getpixel((3, 3)) == (0, 0, 0, 0)


def test_webp_loses_exif_and_xmp() -> None:
    original = _photo("WEBP", exif=_exif(), xmp=XMP, icc_profile=ICC)
    assert _leaks(original)

    photo = photos.clean(original, MAX)

    assert _leaks(photo.data) == []
    assert photo.content_type == "image/webp"


@pytest.mark.parametrize(
    ("orientation", "size"),
    [(1, (64, 48)), (3, (64, 48)), (6, (48, 64)), (8, (48, 64))],
    ids=["upright", "upside-down", "turned-right", "turned-left"],
)
def test_photo_is_turned_upright_by_its_orientation_before_it_is_dropped(
    orientation: int, size: tuple[int, int]
) -> None:
    photo = photos.clean(_photo("JPEG", exif=_exif(orientation)), MAX)
    assert (photo.width, photo.height) == size
    with Image.open(io.BytesIO(photo.data)) as image:
        assert image.size == size
        assert 0x0112 not in image.getexif()


def test_large_photo_is_shrunk_to_the_longest_side() -> None:
    photo = photos.clean(_photo("JPEG", size=(4000, 3000), quality=50), MAX)
    assert (photo.width, photo.height) == (photos.MAX_SIDE, 1920)


def _png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` × ``height`` pixels (a decompression
    bomb's shape: the pixels are never there)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def _truncated_jpeg() -> bytes:
    whole = _photo("JPEG", size=(300, 200))
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Send a photo as JPEG, PNG or WebP"),
        (_photo("GIF"), "Send a photo as JPEG, PNG or WebP"),
        (_photo("BMP"), "Send a photo as JPEG, PNG or WebP"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "Send a photo as JPEG, PNG or WebP"),
        (b"<html><script>alert(1)</script></html>", "Send a photo as JPEG, PNG or WebP"),
        (
            b"\xff\xd8\xff" + b"not really a jpeg" * 10,
            "This photo could not be read: it may be damaged",
        ),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "This photo could not be read: it may be damaged"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 garbage", "This photo could not be read: it may be damaged"),
        (_truncated_jpeg(), "This photo could not be read: it may be damaged"),
        (_png_declaring(7000, 7000), "This photo is too large: at most 40 megapixels"),
        (_png_declaring(50_000, 50_000), "This photo is too large: at most 40 megapixels"),
        (_png_declaring(200_000, 200_000), "This photo is too large: at most 40 megapixels"),
    ],
    ids=[
        "empty",
        "gif",
        "bmp",
        "pdf",
        "html",
        "jpeg-signature-then-garbage",
        "png-signature-then-zeros",
        "webp-header-then-garbage",
        "truncated-jpeg",
        "bomb-over-our-limit",
        "bomb-over-pillows-warning",
        "bomb-over-pillows-error",
    ],
)
def test_what_is_not_a_usable_photo_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        photos.clean(data, MAX)
    assert str(caught.value) == message


def test_a_photo_over_the_size_limit_is_refused_unread() -> None:
    data = _photo("PNG", size=(300, 300))
    with pytest.raises(InvalidInput) as caught:
        photos.clean(data, len(data) - 1)
    assert caught.value.msgid == "The photo is larger than %(mb)s MB"
    assert str(photos.clean(data, len(data)).content_type) == "image/png"
    with pytest.raises(InvalidInput, match=r"^The photo is larger than 5 MB$"):
        photos.check_size(b"x" * 5_000_001, 5_000_000)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00", "PNG"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"\xff\xd8", None),
        (b"GIF89a", None),
    ],
    ids=["jpeg", "png", "webp", "riff-wave", "half-jpeg-signature", "gif"],
)
def test_sniff_by_signature(data: bytes, kind: str | None) -> None:
    assert photos.sniff(data) == kind


def test_stored_photo_is_encrypted_private_and_reads_back(tmp_path: Path) -> None:
    ring = Keyring(b"k" * 32)
    photo = photos.clean(_photo("PNG"), MAX)

    accepted = photos.store(tmp_path, ring, photo)

    on_disk = tmp_path / accepted.blob_path
    assert photo.data not in on_disk.read_bytes()
    assert b"PNG" not in on_disk.read_bytes()
    assert stat.S_IMODE(on_disk.stat().st_mode) == 0o600
    assert [p.name for p in on_disk.parent.iterdir()] == [on_disk.name]  # no .part left
    assert (accepted.content_type, accepted.width, accepted.height, accepted.size) == (
        "image/png",
        64,
        48,
        len(photo.data),
    )
    assert photos.load(tmp_path, ring, accepted.blob_path) == photo.data
    with pytest.raises(DecryptionError):
        photos.load(tmp_path, Keyring(b"o" * 32), accepted.blob_path)


def test_a_tampered_photo_does_not_decrypt(tmp_path: Path) -> None:
    ring = Keyring(b"k" * 32)
    accepted = photos.store(tmp_path, ring, photos.clean(_photo("JPEG"), MAX))
    path = tmp_path / accepted.blob_path
    sealed = bytearray(path.read_bytes())
    sealed[-1] ^= 1
    path.write_bytes(bytes(sealed))
    with pytest.raises(DecryptionError):
        photos.load(tmp_path, ring, accepted.blob_path)


@pytest.mark.parametrize(
    "blob_path",
    ["../keys/secret.key", "/etc/passwd", "ab/../../x", "ab/" + "0" * 31, "AB/" + "0" * 32, ""],
    ids=["parent", "absolute", "dotdot-inside", "short-name", "upper-case", "empty"],
)
def test_only_paths_store_could_have_made_are_read(tmp_path: Path, blob_path: str) -> None:
    with pytest.raises(InvalidInput, match=r"^Not a case photo path$"):
        photos.load(tmp_path, Keyring(b"k" * 32), blob_path)


def test_key_rotation_reseals_every_photo_under_the_new_key(tmp_path: Path) -> None:
    old, new = b"o" * 32, b"n" * 32
    photo = photos.clean(_photo("JPEG"), MAX)
    stored = [photos.store(tmp_path, Keyring(old), photo) for _ in range(3)]
    (tmp_path / "ab").mkdir(exist_ok=True)
    (tmp_path / "ab" / ("0" * 32 + ".part")).write_bytes(b"half a file from a crash")

    assert photos.reencrypt(tmp_path, Keyring(new, [old])) == 3
    assert photos.reencrypt(tmp_path, Keyring(new, [old])) == 0  # nothing left to do
    for accepted in stored:  # the old key can go now
        assert photos.load(tmp_path, Keyring(new), accepted.blob_path) == photo.data
    assert photos.reencrypt(tmp_path / "nothing-stored-yet", Keyring(new)) == 0
