"""The static files storage of deployments: WhiteNoise's compressed manifest storage, with
each file's public URL kept once computed.

The manifest is read when the process starts and does not change while it runs, so the URL
of a name does not either; `{% static %}` is on every page (six times), and each call looked
the name up in the manifest and joined and unquoted the URL again (docs/performance.md).
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name: str, force: bool = False) -> str:
        if force:
            return super().url(name, force)
        found = self._urls.get(name)
        if found is None:
            found = self._urls[name] = super().url(name)
        return found
