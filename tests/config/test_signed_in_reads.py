"""What every signed-in page reads, made cheaper (docs/performance.md, "Portal dashboard"):
queries compiled once per process (core/prepared.py) for the account, the session and the
portal's visible sponsorships, and the language switcher's list rendered once per language."""

from __future__ import annotations

import datetime
import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.urls import reverse
from django.utils import timezone

from config.sessions import SessionStore
from config.staticfiles import StaticFilesStorage
from core.prepared import FixedQuery, OneIdQuery
from sponsorship.access import sponsorships_visible_to
from sponsorship.portal_selectors import _visible_rows
from tests.factories import SponsorshipFactory

pytestmark = pytest.mark.django_db


def test_rows_are_the_querysets_rows_with_the_orms_conversions(member):
    def build(pk):
        return get_user_model().objects.filter(pk=pk).values_list("pk", "email", "date_joined")

    query = OneIdQuery(build)
    assert query.rows(member.pk) == list(build(member.pk))
    assert isinstance(query.rows(member.pk)[0][2], datetime.datetime)  # SQLite: converted
    assert query.rows(-1) == []


def test_a_query_with_another_parameter_is_refused(member):
    query = OneIdQuery(lambda pk: get_user_model().objects.filter(pk=pk, email="x@example.org"))
    with pytest.raises(ValueError, match="only parameter"):
        query.rows(member.pk)


def test_a_fixed_query_reads_what_its_queryset_reads(member, other_member):
    def build():
        return get_user_model().objects.order_by("pk").values_list("pk", "date_joined")

    assert FixedQuery(build).rows() == list(build())


def test_a_fixed_query_refuses_a_date_it_would_freeze(member):
    query = FixedQuery(
        lambda: get_user_model().objects.filter(date_joined__lte=timezone.now()).values_list("pk")
    )
    with pytest.raises(ValueError, match="frozen"):
        query.rows()


def test_the_visible_sponsorships_are_the_access_rules(member, sponsorship, other_member):
    SponsorshipFactory(group=sponsorship.group)
    SponsorshipFactory()  # another group's
    for user in (member, other_member):
        want = set(sponsorships_visible_to(user).values_list("pk", flat=True))
        assert {row[0] for row in _visible_rows(user)} == want
    assert {row[3] for row in _visible_rows(member)} == {"member"}


def test_a_session_is_read_until_it_expires(client, member):
    session = DjangoSessionStore()
    session["_auth_user_id"] = str(member.pk)
    session["_auth_user_backend"] = "config.auth.EmailBackend"
    session["_auth_user_hash"] = member.get_session_auth_hash()
    session.save()
    assert SessionStore(session.session_key).load()["_auth_user_id"] == str(member.pk)
    client.cookies["sessionid"] = session.session_key
    assert client.get(reverse("portal:dashboard")).status_code == 200
    session.get_model_class().objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert SessionStore(session.session_key).load() == {}
    assert client.get(reverse("portal:dashboard")).status_code == 302  # to sign in


def test_an_inactive_account_is_signed_out(client, member):
    client.force_login(member)
    assert client.get(reverse("portal:dashboard")).status_code == 200
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)
    assert client.get(reverse("portal:dashboard")).status_code == 302


@pytest.mark.parametrize("language", ["en", "fr", "ko"])
def test_the_language_switcher_selects_the_language_of_the_page(client, member, language):
    client.force_login(member)
    client.cookies["django_language"] = language
    html = client.get(reverse("portal:dashboard")).content.decode()
    assert html.count(" selected>") == 1
    assert f'<option value="{language}" lang="{language}" selected>' in html


def test_the_permissions_are_model_backends(db):
    """config.auth.EmailBackend compiles ModelBackend's two permission reads once per
    process: the same sets, for a role's groups and for an account's own permissions."""
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.auth.models import Permission

    from config.auth import EmailBackend
    from core.roles import CASE_WORKER
    from tests.factories import StaffFactory

    user = StaffFactory(roles=[CASE_WORKER])
    user.user_permissions.add(Permission.objects.get(codename="view_pledge"))
    ours, django = EmailBackend(), ModelBackend()
    fresh = get_user_model().objects.get(pk=user.pk)
    assert ours.get_all_permissions(fresh) == django.get_all_permissions(user)
    assert "fundraising.view_pledge" in ours.get_user_permissions(fresh)
    assert "families.view_family" in ours.get_group_permissions(fresh)
    assert ours.get_all_permissions(get_user_model().objects.get(pk=user.pk), obj=user) == set()


def test_a_static_url_is_the_manifests_and_is_kept(tmp_path, settings):
    """config.staticfiles keeps each name's URL once computed; it is WhiteNoise's."""
    settings.DEBUG = False
    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"paths": {"site.css": "site.0123abcd.css"}, "version": "1.1", "hash": "x"})
    )
    storage = StaticFilesStorage(location=str(tmp_path), base_url="/static/")
    assert storage.url("site.css") == "/static/site.0123abcd.css"
    (tmp_path / "staticfiles.json").unlink()  # the manifest was read at start: not again
    assert storage.url("site.css") == "/static/site.0123abcd.css"
    assert storage._urls == {"site.css": "/static/site.0123abcd.css"}
