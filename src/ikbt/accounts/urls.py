from django.urls import path

from ikbt.accounts import views

app_name = "accounts"

urlpatterns = [
    path("staff/logga-in/", views.staff_login, name="staff_login"),
    path("staff/tvastegs/", views.two_factor, name="two_factor"),
    path("staff/tvastegs/ny-app/", views.authenticator_setup, name="authenticator_setup"),
    path("staff/reservkoder/", views.backup_codes, name="backup_codes"),
    path("staff/losenord/<uidb64>/<token>/", views.set_password, name="set_password"),
    path("sakerhet/", views.security, name="security"),
    path("logga-ut/", views.sign_out, name="sign_out"),
    path("patient/logga-in/", views.patient_sign_in, name="patient_sign_in"),
    path("patient/kod/", views.patient_code, name="patient_code"),
]
