from django.urls import path

from ikbt.messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:thread_id>/", views.thread, name="thread"),
    path("patient/<int:patient_id>/", views.patient_threads, name="patient_threads"),
    path("personal/<int:thread_id>/", views.staff_thread, name="staff_thread"),
]
