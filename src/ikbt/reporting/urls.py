from django.urls import path

from ikbt.reporting import views

app_name = "reporting"

urlpatterns = [
    path("", views.statistics, name="statistics"),
    path("riket/", views.national_comparison, name="national"),
    path("register/", views.register_export, name="register_export"),
    path("register/ordlista/", views.register_dictionary, name="register_dictionary"),
]
