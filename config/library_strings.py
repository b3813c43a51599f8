"""Strings the libraries show in our pages, listed so `make messages` keeps their translations.

django-axes marks its model names, fields and admin labels for translation but ships no French
or Korean catalogue, so ours translates them. makemessages reads only this project's files: a
msgid that none of them contains is marked obsolete (`#~`) and its translation is lost from the
compiled catalogue. Listing the library's English here (gettext_noop: nothing is translated at
import) keeps them in the .po files. Never imported by the application.

KEEP IN SYNC with the installed library: tests/config/test_translations.py checks that each
string is still in the module named beside it, so an upgrade that rewords one fails a test.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

LIBRARY_STRINGS: dict[str, list[str]] = {
    "axes/models.py": [
        gettext_noop("access attempt"),
        gettext_noop("access attempts"),
        gettext_noop("access log"),
        gettext_noop("access logs"),
        gettext_noop("access failure"),
        gettext_noop("access failures"),
        gettext_noop("access attempt expiration"),
        gettext_noop("access attempt expirations"),
        gettext_noop("Access Attempt"),
        gettext_noop("Access lock out"),
        gettext_noop("Attempt Time"),
        gettext_noop("Expires At"),
        gettext_noop("Failed Logins"),
        gettext_noop("GET Data"),
        gettext_noop("HTTP Accept"),
        gettext_noop("IP Address"),
        gettext_noop("Logout Time"),
        gettext_noop("POST Data"),
        gettext_noop("Path"),
        gettext_noop("Session key hash (sha256)"),
        gettext_noop("The time when access attempt expires and is no longer valid."),
        gettext_noop("User Agent"),
        gettext_noop("Username"),
    ],
    "axes/admin.py": [
        gettext_noop("Attempt Remaining"),
        gettext_noop("Clean up expired attempts"),
        gettext_noop("Form Data"),
        gettext_noop("Locked Out"),
        gettext_noop("Meta Data"),
        gettext_noop("Not set"),
    ],
}
