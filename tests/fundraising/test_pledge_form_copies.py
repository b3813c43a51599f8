"""The pledge form's fields are copied for each form as Django copies them (fundraising.forms
QuickCopyFields), only faster: same attributes, the same ones shared and the same ones fresh."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django import forms

from fundraising.forms import PledgeForm, SharedChoiceField
from tests.factories import CampaignFactory


def _djangos_copy(field: forms.Field) -> forms.Field:
    """Django's own deep copy of a field (a SharedChoiceField's as a plain ChoiceField's)."""
    if isinstance(field, forms.ChoiceField):
        return forms.ChoiceField.__deepcopy__(field, {})
    return forms.Field.__deepcopy__(field, {})


def _assert_same_copy(ours: Any, theirs: Any, original: Any, *, shared_ok: set[str]) -> None:
    assert type(ours) is type(theirs) is type(original)
    assert ours is not original
    assert ours.__dict__.keys() == theirs.__dict__.keys()
    for name, value in ours.__dict__.items():
        if name == "widget":
            _assert_same_copy(value, theirs.widget, original.widget, shared_ok=set())
            continue
        assert value == theirs.__dict__[name], name
        if isinstance(value, dict | list):
            django_shares = theirs.__dict__[name] is original.__dict__[name]
            we_share = value is original.__dict__[name]
            assert we_share == django_shares or (we_share and name in shared_ok), name


@pytest.mark.parametrize("name", list(PledgeForm.base_fields))
def test_each_field_is_copied_as_django_copies_it(name):
    original = PledgeForm.base_fields[name]
    ours = copy.deepcopy(PledgeForm.base_fields)[name]
    shared = {"_choices"} if isinstance(original, SharedChoiceField) else set()
    _assert_same_copy(ours, _djangos_copy(original), original, shared_ok=shared)


@pytest.mark.django_db
def test_a_form_changing_its_fields_leaves_the_next_form_and_the_class_alone():
    campaign = CampaignFactory()
    first, second = PledgeForm(campaign=campaign), PledgeForm(campaign=campaign)
    first.fields["donor_name"].widget.attrs["class"] = "changed"
    first.fields["donor_name"].error_messages["required"] = "changed"
    first.fields["donor_name"].validators.append(lambda value: None)
    first.fields["frequency"].widget.choices.append(("x", "x"))
    for form_fields in (second.fields, PledgeForm.base_fields):
        assert "class" not in form_fields["donor_name"].widget.attrs
        assert form_fields["donor_name"].error_messages["required"] != "changed"
        assert len(form_fields["donor_name"].validators) == len(
            PledgeForm.base_fields["donor_name"].validators
        )
        assert ("x", "x") not in form_fields["frequency"].widget.choices
    assert first.fields["amount_choice"].choices != PledgeForm.base_fields["amount_choice"].choices
