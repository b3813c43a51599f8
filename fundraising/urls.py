from django.urls import path

from fundraising import views

app_name = "fundraising"

urlpatterns = [
    path("", views.index, name="index"),
    path("thanks/<uuid:public_id>/", views.pledge_thanks, name="pledge-thanks"),
    path("confirm/<str:token>/", views.pledge_confirm, name="pledge-confirm"),
    path("reminders/stop/<str:token>/", views.reminders_stop, name="reminders-stop"),
    path("<slug:slug>/", views.campaign, name="campaign"),
    path("<slug:slug>/progress.json", views.progress_json, name="progress-json"),
    path("<slug:slug>/widget/", views.widget, name="widget"),
]
