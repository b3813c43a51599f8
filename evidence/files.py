"""What an upload must be before it is kept: a sane name, a size within the limit, bytes
that are really a PDF, JPEG or PNG (not what the name claims; a phone's HEIC photo is
converted to JPEG), and no PDF that can run anything. Then encryption with the case-file
keys and the storage backend (docs/documents.md).
"""

from __future__ import annotations

import io
import re
import unicodedata
import uuid
import zlib
from pathlib import PurePath

import filetype
import pillow_heif
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image

from core.encryption import cipher
from core.uploads import name_as_sent

ACCEPTED = {"application/pdf", "image/jpeg", "image/png"}
# Phone photos converted to JPEG on upload (pillow-heif); AVIF is not among them (the
# converter dropped it), so it is refused with a message.
CONVERTED = {"image/heic", "image/heif"}
PHONE_PHOTOS = {"image/avif"}
JPEG_QUALITY = 90
MAX_NAME = 200
# PDF features that run or launch something: a receipt needs none of them.
_ACTIVE_PDF = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|AA)(?![A-Za-z0-9])")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
# Inflating streams to look inside is bounded, so a compression bomb cannot exhaust memory.
_INFLATE_BUDGET = 64 * 1024 * 1024


def storage() -> Storage:
    return storages["documents"]


def check_name(name: str) -> str:
    """The original file name, kept (encrypted) only to give the file back its name."""
    if not name or not name.strip():
        raise ValidationError(_("The file has no name."))
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise ValidationError(_("A file name cannot contain / or \\. Rename the file and retry."))
    if any(unicodedata.category(c) in {"Cc", "Cf"} for c in name):
        raise ValidationError(
            _("The file name contains invisible control characters. Rename the file and retry.")
        )
    if len(name) > MAX_NAME:
        raise ValidationError(
            _("The file name is longer than %(max)s characters. Shorten it and retry.")
            % {"max": MAX_NAME}
        )
    return name.strip()


def check_upload_name(upload: object) -> str:
    """The name to keep for an upload. Over HTTP the name as the browser sent it is checked
    first (core/uploads.py): Django's parser would otherwise drop path parts and control
    characters silently, and the file would be kept under a name its sender never chose."""
    check_name(name_as_sent(upload))
    return check_name(str(getattr(upload, "name", "") or ""))


def check_size(size: int) -> None:
    if size <= 0:
        raise ValidationError(_("The file is empty (0 bytes). Choose the file again."))
    limit = settings.DOCUMENT_MAX_BYTES
    if size > limit:
        raise ValidationError(
            _("The file is larger than %(limit)s. Scan or photograph it at a lower resolution.")
            % {"limit": filesizeformat(limit)}
        )


def _guess(data: bytes) -> str:
    kind = filetype.guess(data[:8192])
    return kind.mime if kind else ""


def sniff(data: bytes) -> str:
    """The type the bytes say they are; a name ending in .pdf proves nothing."""
    mime = _guess(data)
    if mime in ACCEPTED:
        return mime
    if mime in PHONE_PHOTOS:
        raise ValidationError(
            _(
                "Photos in AVIF format cannot be accepted. On the phone, share the photo "
                "as JPEG (most phones offer 'Most compatible'), or take a screenshot of it."
            )
        )
    raise ValidationError(_("Only PDF, JPEG and PNG files are accepted: this file is not one."))


def jpeg_name(name: str) -> str:
    """The original name with a .jpg suffix (IMG_0001.HEIC → IMG_0001.jpg)."""
    stem = PurePath(name).stem or name
    return f"{stem[: MAX_NAME - 4]}.jpg"


def convert_phone_photo(data: bytes, name: str) -> tuple[bytes, str]:
    """A HEIC/HEIF photo (decided by its bytes) as JPEG, with the name's suffix changed;
    anything else unchanged. The JPEG carries no metadata: a phone's EXIF holds where the
    photo was taken, which is the family's location (docs/documents.md)."""
    if _guess(data) not in CONVERTED:
        return data, name
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data))  # reads the header, not the pixels
        width, height = heif.size
        # Pillow's decompression-bomb limit, checked before the pixels are decoded.
        if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
            raise ValueError("image too large")
        with heif.to_pillow() as photo:
            out = io.BytesIO()
            photo.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY)
    except (ValueError, OSError, RuntimeError) as exc:
        raise ValidationError(
            _(
                "This HEIC photo could not be read. On the phone, share the photo as JPEG "
                "(most phones offer 'Most compatible'), or take a screenshot of it."
            )
        ) from exc
    return out.getvalue(), jpeg_name(name)


def _normalised(data: bytes) -> bytes:
    """PDF names may spell letters as #xx (/J#61vaScript): undo that before looking."""
    return _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def _object_streams(data: bytes):
    """Inflated object streams (/Type /ObjStm), where PDF 1.5+ packs dictionaries. Other
    streams (images, page content) are skipped: their bytes would match names by chance."""
    budget = _INFLATE_BUDGET
    for match in _STREAM.finditer(data):
        header = _normalised(data[max(0, match.start() - 300) : match.start()])
        if b"/ObjStm" not in header.rsplit(b"obj", 1)[-1] or budget <= 0:
            continue
        try:
            plain = zlib.decompressobj().decompress(match.group(1), budget)
        except zlib.error:
            continue
        budget -= len(plain)
        yield plain


def check_pdf_is_passive(data: bytes) -> None:
    """Refuse a PDF that carries a script, a launch action, embedded files or forms that
    run code: in its dictionaries, and in those packed in compressed object streams."""
    outside_streams = _STREAM.sub(b"stream endstream", data)
    parts = (outside_streams, *_object_streams(data))
    if any(_ACTIVE_PDF.search(_normalised(part)) for part in parts):
        raise ValidationError(
            _(
                "This PDF contains a script or an embedded file, which is not accepted. "
                "Print it to a new PDF (or scan the paper copy) and upload that."
            )
        )


def check_content(data: bytes) -> str:
    content_type = sniff(data)
    if content_type == "application/pdf":
        check_pdf_is_passive(data)
    return content_type


def store_encrypted(data: bytes) -> str:
    """Encrypt with the case-file keys and save under a random name; returns that name."""
    token = cipher().encrypt(data)
    name = uuid.uuid4().hex
    return storage().save(f"{name[:2]}/{name}.enc", ContentFile(token))


def read_decrypted(blob_name: str) -> bytes:
    with storage().open(blob_name, "rb") as handle:
        return cipher().decrypt(handle.read())


def rotate_blob(blob_name: str) -> str:
    """Re-encrypt stored bytes with the newest key, under a new name; returns that name (the
    caller points its row at it, then deletes the old one)."""
    with storage().open(blob_name, "rb") as handle:
        token = cipher().rotate(handle.read())
    name = uuid.uuid4().hex
    return storage().save(f"{name[:2]}/{name}.enc", ContentFile(token))


def delete_blob(blob_name: str) -> None:
    if blob_name:
        storage().delete(blob_name)
