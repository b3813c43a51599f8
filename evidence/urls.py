"""Evidence pages inside the sponsor portal (/portal/...). URLs carry UUIDs only."""

from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("<uuid:public_id>/documents/", views.documents, name="documents"),
    path("documents/<uuid:public_id>/download/", views.document_download, name="document-download"),
    path("<uuid:public_id>/plan/sign/", views.plan_acknowledge, name="plan-acknowledge"),
    path("plan-versions/<uuid:public_id>/pdf/", views.plan_pdf, name="plan-pdf"),
]
