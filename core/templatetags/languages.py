"""`{% language_options %}`: the language switcher's <option> list, rendered once per language.

The switcher is on every page; its list (each language's own name, the current one selected)
depends only on the active language, so each process renders it once per language instead of
looping over the languages on every request (docs/performance.md, "Portal dashboard").
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, get_language_info

register = template.Library()

_rendered: dict[str, SafeString] = {}


@register.simple_tag
def language_options() -> SafeString:
    current = get_language()
    html = _rendered.get(current)
    if html is None:
        languages = [get_language_info(code) for code, _name in settings.LANGUAGES]
        html = _rendered[current] = mark_safe(  # noqa: S308 - our template's output
            render_to_string(
                "core/_language_options.html",
                {"languages": languages, "LANGUAGE_CODE": current},
            )
        )
    return html
