"""makemessages without fuzzy matching (Django's documented way to change msgmerge's options).

With fuzzy matching, msgmerge gives a new string the translation of a similar old one and
flags it fuzzy: "View" got "Consulté" (the translation of "Viewed"). Django leaves fuzzy
entries out of the compiled catalogue, so the page shows English anyway, and a wrong guess is
one careless edit from being shown. A new string comes in empty instead, and
tests/config/test_translations.py names it as untranslated.
"""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
