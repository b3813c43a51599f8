"""What a sponsorship's kind changes in the money and the period: one object per kind.

The rules are data in the `KINDS` table (docs/domain.md "Kinds of sponsorship"): the base support
period, the support months whose income support the government pays, and whether the sponsor
owes the start-up costs. The budget, the disbursement check, the reminders and the reports read
them through `rules_for`, never from the kind's name.

- Privately sponsored refugees (PSR), whoever sponsors them (a Group of Five, a Constituent
  Group, a Community Sponsor: the group's kind), follow the private rules: 12 months of sponsor
  income support and the start-up costs.
- Blended Visa Office-Referred (BVOR): the government pays income support in months 2-7; the
  sponsor pays month 1, months 8-12 and the start-up costs.
- Joint Assistance Sponsorship (JAS): a 24-month support period; the government (RAP) pays the
  income support and the start-up; the sponsor gives settlement support.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from sponsorship.period import BASE_SUPPORT_MONTHS, MAX_SUPPORT_MONTHS


@dataclass(frozen=True)
class KindRules:
    """The parts of the sponsorship rules that depend on its kind."""

    base_months: int = BASE_SUPPORT_MONTHS
    # Support months whose income support the government pays (the sponsor plans 0 for them).
    government_months: frozenset[int] = frozenset()
    # Whether the sponsor group pays the one-time start-up costs.
    sponsor_owes_start_up: bool = True
    # Where the rule comes from (shown to staff next to the figures).
    source: str = "IRCC / RSTP guidebook ch.2: 12 months of sponsor income support and start-up"

    def government_pays_income(self, month: int) -> bool:
        return month in self.government_months

    @property
    def government_months_text(self) -> str:
        """ "2-7", "1-36" or "" for help texts and lists."""
        months = sorted(self.government_months)
        if not months:
            return ""
        if months == list(range(months[0], months[-1] + 1)):
            return f"{months[0]}-{months[-1]}" if len(months) > 1 else str(months[0])
        return ", ".join(str(m) for m in months)


PRIVATE = KindRules()

KINDS: dict[str, KindRules] = {
    "bvor": KindRules(
        base_months=BASE_SUPPORT_MONTHS,
        government_months=frozenset(range(2, 8)),
        sponsor_owes_start_up=True,
        source="IRCC BVOR program: the government pays income support in months 2-7; the "
        "sponsor month 1, months 8-12 and start-up",
    ),
    "jas": KindRules(
        base_months=24,
        government_months=frozenset(range(1, MAX_SUPPORT_MONTHS + 1)),
        sponsor_owes_start_up=False,
        source="IRCC JAS program: up to 24 months (36 exceptional); the government pays income "
        "support and start-up, the sponsor gives settlement support",
    ),
}


def rules_for(kind: str | None) -> KindRules:
    """The rules of sponsorship kind `kind` (a `Sponsorship.Kind` value); PSR, whatever the
    group's kind, has the private rules."""
    return KINDS.get(kind or "", PRIVATE)


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
