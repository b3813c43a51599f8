"""An uploaded file's name as the browser sent it, kept beside Django's cleaned name.

Django's multipart parser drops path parts (`../../x.pdf`, `C:\\x.pdf`) and non-printable
characters (U+202E, which makes `receipt<U+202E>fdp.exe` read as `receiptexe.pdf`) before any
view sees the name, silently. A file sent under such a name is refused with a message
instead (docs/documents.md): so the parser below records the name as sent on the file, as
`name_as_sent`, whenever cleaning changed it. `config.middleware.UploadNamesMiddleware`
makes every multipart request use it, before the CSRF check reads the form.
"""

from __future__ import annotations

from types import MethodType
from typing import Any

from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser
from django.utils.datastructures import ImmutableList


class NameKeepingParser(MultiPartParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.names_as_sent: dict[str, str] = {}

    def sanitize_file_name(self, file_name: str) -> str | None:
        cleaned = super().sanitize_file_name(file_name)
        if cleaned and cleaned != file_name:
            self.names_as_sent[cleaned] = file_name
        return cleaned

    def parse(self) -> tuple[Any, Any]:
        post, files = super().parse()
        for _field, uploads in files.lists():
            for upload in uploads:
                if upload.name in self.names_as_sent:
                    upload.name_as_sent = self.names_as_sent[upload.name]
        return post, files


def _parse_file_upload(request: HttpRequest, meta: Any, post_data: Any) -> tuple[Any, Any]:
    """HttpRequest.parse_file_upload (Django 5.2) with the parser above."""
    request.upload_handlers = ImmutableList(
        request.upload_handlers,
        warning="You cannot alter upload handlers after the upload has been processed.",
    )
    return NameKeepingParser(meta, post_data, request.upload_handlers, request.encoding).parse()


def keep_names_as_sent(request: HttpRequest) -> None:
    """Make this request's multipart body, when it is read, go through NameKeepingParser."""
    request.parse_file_upload = MethodType(_parse_file_upload, request)  # type: ignore[method-assign]


def name_as_sent(upload: Any) -> str:
    """The name the browser sent, or the upload's name when nothing was cleaned from it."""
    return getattr(upload, "name_as_sent", None) or upload.name
