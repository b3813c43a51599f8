"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    username = factory.LazyAttribute(lambda o: o.email.lower())
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted, **kwargs) -> None:
        """UserFactory(roles=["Case worker"]) puts a staff user in those role groups."""
        if not create or not extracted:
            return
        for name in extracted:
            self.groups.add(Group.objects.get(name=name))


class StaffFactory(UserFactory):
    is_staff = True


# --- families and sponsorship ---------------------------------------------------------------

import datetime  # noqa: E402

from django.utils import timezone  # noqa: E402

from families.models import Consent, Family, HouseholdMember  # noqa: E402
from sponsorship.models import Membership, SponsorGroup, Sponsorship  # noqa: E402


class FamilyFactory(factory.django.DjangoModelFactory):
    """A family with an obviously fictional principal applicant (see HouseholdMemberFactory)."""

    class Meta:
        model = Family
        skip_postgeneration_save = True

    case_code = factory.Sequence(lambda n: f"NK-2026-{900 + n:03d}")
    status = Family.Status.REFERRED
    community = "Toronto"
    narrative = "Fictional narrative for tests."

    @factory.post_generation
    def principal(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted is not False:
            HouseholdMemberFactory(
                family=self,
                is_principal_applicant=True,
                relationship=HouseholdMember.Relationship.PRINCIPAL,
            )


class HouseholdMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HouseholdMember

    family = factory.SubFactory(FamilyFactory, principal=False)
    given_name = factory.Sequence(lambda n: f"Testgiven{n}")
    family_name = "Testfamily"
    date_of_birth = datetime.date(1988, 4, 2)
    relationship = HouseholdMember.Relationship.CHILD
    is_principal_applicant = False


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    family = factory.SubFactory(FamilyFactory)
    topic = Consent.Topic.MEDICAL
    given_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=335))


class SponsorGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SponsorGroup

    name = factory.Sequence(lambda n: f"Test Sponsor Circle {n}")
    kind = SponsorGroup.Kind.CONSTITUENT
    community = "Toronto"
    status = SponsorGroup.Status.ACTIVE
    settlement_plan_approved_on = datetime.date(2026, 1, 15)
    financial_commitment = 30000


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    group = factory.SubFactory(SponsorGroupFactory)
    role = Membership.Role.MEMBER


class SponsorshipFactory(factory.django.DjangoModelFactory):
    """An active sponsorship; pass arrival_date=... to have its plan generated."""

    class Meta:
        model = Sponsorship
        skip_postgeneration_save = True

    group = factory.SubFactory(SponsorGroupFactory)
    family = factory.SubFactory(
        FamilyFactory, status=Family.Status.MATCHED, vetted_on=datetime.date(2025, 11, 1)
    )
    kind = Sponsorship.Kind.PSR
    matched_on = datetime.date(2025, 12, 1)
    arrival_date = None

    @factory.post_generation
    def plan(self, create: bool, extracted, **kwargs) -> None:
        if create and self.arrival_date and extracted is not False:
            from sponsorship.services import plan_generate

            if self.family.status != Family.Status.ARRIVED:
                Family.objects.filter(pk=self.family_id).update(status=Family.Status.ARRIVED)
                self.family.refresh_from_db()
            plan_generate(sponsorship=self)
