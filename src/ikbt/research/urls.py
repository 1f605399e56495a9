"""Research studies run on the platform: studies, arms, consent, randomisation."""

from django.urls import path

from ikbt.research import views

app_name = "research"

urlpatterns = [
    path("", views.study_list, name="study_list"),
    path("ny/", views.study_create, name="study_create"),
    path("<int:study_id>/", views.study_detail, name="study"),
    path("<int:study_id>/andra/", views.study_edit, name="study_edit"),
    path("<int:study_id>/oppna/", views.study_open, name="study_open"),
    path("<int:study_id>/stang/", views.study_close, name="study_close"),
    path("<int:study_id>/rekrytering/", views.recruitment, name="recruitment"),
    path("<int:study_id>/deltagare/", views.participants, name="participants"),
    path("<int:study_id>/export/", views.export_page, name="export"),
    path("<int:study_id>/export/<str:kind>/", views.export_file, name="export_file"),
    path("patient/<int:patient_id>/", views.patient_studies, name="patient"),
    path("mina-studier/", views.my_studies, name="my_studies"),
    path("mina-studier/<int:participant_id>/samtycke/", views.consent, name="consent"),
    path("mina-studier/<int:participant_id>/lamna/", views.withdraw, name="withdraw"),
]
