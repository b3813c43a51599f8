"""`{{ amount|money }}`: the template face of core.money.format_money."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from core.money import format_money

register = template.Library()


@register.filter
def money(value: Decimal | int | str | None, places: int = 2) -> str:
    """`{{ total|money }}` → `$7,700.00` / `7 700,00 $`; `{{ goal|money:0 }}` → whole dollars.
    Empty for None or something that is not a number (like `floatformat`)."""
    if value is None or value == "":
        return ""
    try:
        return format_money(value, places=int(places))
    except (InvalidOperation, TypeError, ValueError):
        return ""
