"""The sponsor portal. URLs carry UUIDs (`public_id`), never integer ids."""

from django.urls import path

from sponsorship import views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_read, name="inbox-read"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation-accept"),
    path("<uuid:public_id>/", views.sponsorship_detail, name="sponsorship"),
    path("<uuid:public_id>/plan/", views.plan, name="plan"),
    path("<uuid:public_id>/plan/add/", views.milestone_add, name="milestone-add"),
    path("<uuid:public_id>/check-ins/", views.checkins, name="checkins"),
    path("<uuid:public_id>/check-ins/new/", views.checkin_create, name="checkin-create"),
    path("<uuid:public_id>/income-support/", views.income_support, name="income-support"),
    path(
        "<uuid:public_id>/income-support/record/",
        views.disbursement_create,
        name="disbursement-create",
    ),
    path("<uuid:public_id>/family-income/", views.family_income, name="family-income"),
    path("<uuid:public_id>/reviews/", views.reviews, name="reviews"),
    path("milestones/<uuid:public_id>/", views.milestone_detail, name="milestone"),
    path("milestones/<uuid:public_id>/done/", views.milestone_complete, name="milestone-complete"),
    path("milestones/<uuid:public_id>/note/", views.milestone_note, name="milestone-note"),
    path("milestones/<uuid:public_id>/waiver/", views.milestone_waiver, name="milestone-waiver"),
    path(
        "milestones/<uuid:public_id>/responsible/",
        views.milestone_responsible,
        name="milestone-responsible",
    ),
    path("reviews/<uuid:public_id>/input/", views.review_input, name="review-input"),
]
