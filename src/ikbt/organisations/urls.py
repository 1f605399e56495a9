from django.urls import path

from ikbt.organisations import views

app_name = "organisations"
urlpatterns = [
    path("", views.units, name="units"),
    path("<int:unit_id>/", views.unit, name="unit"),
]
