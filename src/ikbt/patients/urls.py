from django.urls import path

from ikbt.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.staff_home, name="staff_home"),
    path("<int:patient_id>/", views.patient_detail, name="patient_detail"),
    path("mina-sidor/", views.patient_home, name="patient_home"),
]
