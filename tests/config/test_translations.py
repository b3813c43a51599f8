"""The French and Korean catalogues are complete, and the pages speak the visitor's language.

The .po files are read with a small parser (no gettext tools needed): an entry counts as
untranslated when any of its msgstr / msgstr[n] is empty, and as fuzzy when it carries the
`#, fuzzy` flag (Django ignores fuzzy entries, so the English would show).
"""

from __future__ import annotations

import ast
import gettext
import importlib.util
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from tests.factories import CampaignFactory

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ("fr", "ko")
PLURAL_FORMS = {"fr": "nplurals=2; plural=(n > 1);", "ko": "nplurals=1; plural=0;"}


@pytest.fixture(autouse=True)
def _back_to_english():
    """LocaleMiddleware leaves the request's language active in the thread: reset it so that
    later tests (which expect English) are not run in French or Korean."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@dataclass
class Entry:
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)  # msgid, msgid_plural, msgstr[0], ...
    obsolete: bool = False

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def translations(self) -> list[str]:
        return [value for key, value in self.fields.items() if key.startswith("msgstr")]


def parse_po(path: Path) -> list[Entry]:
    """Entries of a .po file, the header (msgid "") included."""
    entries: list[Entry] = []
    current = Entry()
    key = None

    def flush() -> None:
        nonlocal current, key
        if current.fields:
            entries.append(current)
        current, key = Entry(), None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#~"):
            current.obsolete = True
            continue
        if line.startswith("#,"):
            if "msgid" in current.fields:
                flush()
            current.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            if "msgid" in current.fields:
                flush()
            continue
        if line.startswith('"'):
            current.fields[key] += ast.literal_eval(line)
            continue
        key, _, value = line.partition(" ")
        if key == "msgid" and "msgid" in current.fields:
            flush()
            key = "msgid"
        current.fields[key] = ast.literal_eval(value)
    flush()
    return entries


def catalogue(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated_and_none_is_fuzzy(language):
    entries = [e for e in parse_po(catalogue(language)) if not e.obsolete]
    header, messages = entries[0], entries[1:]
    assert header.msgid == ""
    assert "fuzzy" not in header.flags
    assert f"Language: {language}\n" in header.fields["msgstr"]
    assert f"Plural-Forms: {PLURAL_FORMS[language]}\n" in header.fields["msgstr"]
    assert len(messages) > 500  # the parser really read the catalogue

    untranslated = [e.msgid for e in messages if not all(e.translations)]
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    assert untranslated == [], f"{language}: {len(untranslated)} untranslated: {untranslated[:5]}"
    assert fuzzy == [], f"{language}: {len(fuzzy)} fuzzy: {fuzzy[:5]}"


def test_the_parser_finds_untranslated_and_fuzzy_entries(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        '#: a.py:1\nmsgid "Done"\nmsgstr "Fait"\n\n'
        '#: a.py:2\n#, fuzzy, python-format\nmsgid "Month %(n)s"\nmsgstr "Mois %(n)s"\n\n'
        '#: a.py:3\nmsgid ""\n"Two "\n"lines"\nmsgstr ""\n\n'
        'msgid "%(n)s day"\nmsgid_plural "%(n)s days"\nmsgstr[0] "%(n)s jour"\nmsgstr[1] ""\n',
        encoding="utf-8",
    )
    header, done, fuzzy, empty, plural = parse_po(po)
    assert header.fields["msgstr"] == "Language: fr\n"
    assert (done.msgid, done.translations, done.flags) == ("Done", ["Fait"], set())
    assert "fuzzy" in fuzzy.flags
    assert (empty.msgid, empty.translations) == ("Two lines", [""])
    assert plural.translations == ["%(n)s jour", ""]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_committed_and_up_to_date(language):
    """A fresh machine has no gettext: the .mo must be in git, compiled from this .po."""
    po = catalogue(language)
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"run `make messages`: {mo} is missing"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    messages = [e for e in parse_po(po) if not e.obsolete and e.msgid]
    for entry in messages:
        if "msgid_plural" in entry.fields:
            assert (
                compiled.ngettext(entry.msgid, entry.fields["msgid_plural"], 1)
                == (entry.fields["msgstr[0]"])
            ), f"{mo} is stale: run `make messages`"
        else:
            key = entry.msgid
            if "msgctxt" in entry.fields:
                key = f"{entry.fields['msgctxt']}\x04{entry.msgid}"
            assert compiled._catalog.get(key) == entry.fields["msgstr"], (
                f"{mo} is stale for {entry.msgid!r}: run `make messages`"
            )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ko", ["기부 약정하기", "기부자 명단", "약정하기"]),
        ("fr", ["Faire une promesse de don", "Mur des donateurs", "Promettre un don"]),
    ],
)
@pytest.mark.django_db
def test_the_give_page_speaks_the_browser_language(client, language, expected):

    CampaignFactory()  # the only campaign: /give/ goes straight to it
    response = client.get("/give/", HTTP_ACCEPT_LANGUAGE=language, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    for text in expected:
        assert text in html
    assert "Make a pledge" not in html


@pytest.mark.django_db
def test_the_language_chosen_with_the_switcher_sticks(client):

    campaign = CampaignFactory()
    page = reverse("fundraising:campaign", args=[campaign.slug])
    response = client.post("/i18n/setlang/", {"language": "ko", "next": page}, follow=True)
    html = response.content.decode()
    assert '<html lang="ko">' in html
    assert "기부 약정하기" in html
    # The choice outlives the request: a plain visit (English browser) stays in Korean.
    html = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="ko">' in html


@pytest.mark.django_db
def test_the_sign_in_page_in_french_labels_the_email_field_in_french(client):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.9").content.decode()
    assert '<html lang="fr">' in html
    assert "Adresse courriel" in html
    assert "E-mail address" not in html
    assert "Se connecter" in html


def test_every_model_in_the_admin_has_its_own_plural_in_every_language():
    """Django makes a plural by adding "s" to the singular: "알림s" in Korean. Every model the
    admin shows (ours and the libraries') names its plural, translated."""
    from django.contrib import admin

    missing = []
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label.startswith("otp_"):
            continue  # django-otp does not mark its model names for translation; superusers only
        for language in ("fr", "ko"):
            with translation.override(language):
                plural, english = str(opts.verbose_name_plural), None
            with translation.override("en"):
                english = str(opts.verbose_name_plural)
            if language == "ko" and plural.endswith("s"):
                missing.append(f"{opts.label} ({language}): {plural}")
            if plural == english and english not in {"invitations", "extensions"}:
                missing.append(f"{opts.label} ({language}): {plural} is not translated")
    assert not missing, missing


def _makemessages_ignore() -> list[str]:
    """The --ignore patterns of `make messages`, read from the Makefile (one list, not two)."""
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text(encoding="utf-8")
    value = re.search(r"^MAKEMESSAGES_IGNORE :=((?:.*\\\n)*.*)$", makefile, re.MULTILINE)
    assert value, "MAKEMESSAGES_IGNORE is gone from the Makefile"
    return re.findall(r"--ignore=(\S+)", value.group(1))


def _active(po: Path) -> dict[tuple[str, str], list[str]]:
    return {
        (e.fields.get("msgctxt", ""), e.msgid): e.translations
        for e in parse_po(po)
        if not e.obsolete and e.msgid
    }


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext)")
def test_make_messages_keeps_every_translation(monkeypatch, settings):
    """`make messages` regenerates the catalogues from the code: a translation whose English
    only a library contains (config/library_strings.py) must not be marked obsolete, and the
    committed catalogues must be what the command makes (no string waiting to be extracted)."""
    # makemessages writes a file's strings to the first locale folder whose parent holds the
    # file, and puts a folder named "locale" that it walks into first: the copy sits in the
    # project's own folder and the real one is ignored, so it is left alone.
    copy = Path(settings.BASE_DIR) / f".locale-check-{uuid.uuid4().hex}"
    shutil.copytree(LOCALE, copy)
    settings.LOCALE_PATHS = [copy]
    monkeypatch.chdir(settings.BASE_DIR)
    try:
        call_command(
            "makemessages",
            locale=list(LANGUAGES),
            ignore_patterns=[*_makemessages_ignore(), "locale"],
            verbosity=0,
        )
        after_by_language = {
            language: _active(copy / language / "LC_MESSAGES" / "django.po")
            for language in LANGUAGES
        }
    finally:
        shutil.rmtree(copy)
    for language in LANGUAGES:
        before = _active(catalogue(language))
        after = after_by_language[language]
        lost = sorted(key for key in before if key not in after)
        changed = sorted(key for key in before if key in after and after[key] != before[key])
        new = sorted(key for key in after if key not in before)
        assert lost == [], f"{language}: make messages would drop {lost[:5]}"
        assert changed == [], f"{language}: make messages would change {changed[:5]}"
        assert new == [], f"{language}: run `make messages` and translate {new[:5]}"


def test_the_library_strings_are_still_the_librarys():
    """Each string listed for makemessages is still in the library module named beside it:
    an upgrade that rewords one would leave the new wording untranslated."""
    from config.library_strings import LIBRARY_STRINGS

    site_packages = Path(importlib.util.find_spec("axes").origin).parent.parent
    for module, strings in LIBRARY_STRINGS.items():
        source = (site_packages / module).read_text(encoding="utf-8")
        missing = [s for s in strings if f'"{s}"' not in source]
        assert missing == [], f"{module} no longer says {missing}"
