from django.urls import path

from fundraising import donor_views, views

app_name = "fundraising"

urlpatterns = [
    path("", views.index, name="index"),
    path("thanks/<uuid:public_id>/", views.pledge_thanks, name="pledge-thanks"),
    path("donor/", donor_views.start, name="donor-start"),
    path("donor/link/<str:token>/", donor_views.link, name="donor-link"),
    path("donor/me/", donor_views.home, name="donor-home"),
    path(
        "donor/me/<uuid:public_id>/<slug:action>/",
        donor_views.pledge_action,
        name="donor-pledge-action",
    ),
    path("donor/me/receipts/<uuid:public_id>/", donor_views.receipt_pdf, name="donor-receipt"),
    path("donor/me/export/", donor_views.export, name="donor-export"),
    path("donor/me/erase/", donor_views.erase, name="donor-erase"),
    path("donor/sign-out/", donor_views.sign_out, name="donor-sign-out"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
    path("confirm/<str:token>/", views.pledge_confirm, name="pledge-confirm"),
    path("reminders/stop/<str:token>/", views.reminders_stop, name="reminders-stop"),
    path("<slug:slug>/", views.campaign, name="campaign"),
    path("<slug:slug>/progress.json", views.progress_json, name="progress-json"),
    path("<slug:slug>/widget/", views.widget, name="widget"),
]
