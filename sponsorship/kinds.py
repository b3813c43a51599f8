"""What a sponsorship's kind changes in the money and the period: one object per kind.

`Budget` and `Period` take a `KindRules`; every kind has the private-sponsorship rules
until the kinds' own rules (BVOR, JAS) are entered here (docs/domain.md "Kinds").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from sponsorship.period import BASE_SUPPORT_MONTHS


@dataclass(frozen=True)
class KindRules:
    """The parts of the sponsorship rules that depend on its kind."""

    base_months: int = BASE_SUPPORT_MONTHS
    # Support months whose income support the government pays (the sponsor plans 0 for them).
    government_months: frozenset[int] = frozenset()
    # Whether the sponsor group pays the one-time start-up costs.
    sponsor_owes_start_up: bool = True


PRIVATE = KindRules()


def rules_for(kind: str | None) -> KindRules:
    """The rules of sponsorship kind `kind` (a `Sponsorship.Kind` value)."""
    return KINDS.get(kind or "", PRIVATE)


KINDS: dict[str, KindRules] = {}


def base_months_sql(kind_field: str = "kind") -> models.Expression:
    """`rules_for(kind).base_months` as an SQL expression over the kind column."""
    return models.Case(
        *[
            models.When(**{kind_field: kind}, then=models.Value(rules.base_months))
            for kind, rules in KINDS.items()
        ],
        default=models.Value(PRIVATE.base_months),
        output_field=models.IntegerField(),
    )
