from django.urls import path

from ikbt.audit import views

app_name = "audit"

urlpatterns = [
    path("mina/", views.my_access_log, name="my_access_log"),
    path("granskning/", views.review, name="review"),
]
