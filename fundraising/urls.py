from django.urls import path

from fundraising import views

app_name = "fundraising"

urlpatterns = [
    path("", views.index, name="index"),
]
