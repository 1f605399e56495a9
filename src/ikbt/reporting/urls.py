from django.urls import path

from ikbt.reporting import views

app_name = "reporting"

urlpatterns = [path("", views.statistics, name="statistics")]
