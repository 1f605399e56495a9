from django.urls import path

from ikbt.intake import views

app_name = "intake"

urlpatterns = [
    path("e-tjanst/<str:region_code>/", views.eservice, name="eservice"),
    path("anmalan/<int:offering_id>/", views.register, name="register"),
    path("mina-anmalningar/", views.my_registrations, name="my_registrations"),
    path("ko/", views.queue, name="queue"),
    path("ko/<int:registration_id>/", views.registration_detail, name="registration"),
    path("tider/", views.slots, name="slots"),
    path("vantetider/", views.waiting, name="waiting"),
    path("enhet/<int:unit_id>/program/", views.unit_offerings, name="unit_offerings"),
    path(
        "behandling/<int:enrollment_id>/flytta/",
        views.treatment_transfer,
        name="treatment_transfer",
    ),
]
