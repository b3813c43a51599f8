"""`{% load catalogue %}{{ milestone.title|catalogue }}`: a seeded milestone title, description
or review label in the reader's language (see sponsorship/catalogue_strings.py)."""

from __future__ import annotations

from django import template

from sponsorship.catalogue_strings import catalogue_text

register = template.Library()


@register.filter
def catalogue(value: str) -> str:
    """The translation of a catalogue text; anything else (a title a group typed) unchanged."""
    return catalogue_text(value)
