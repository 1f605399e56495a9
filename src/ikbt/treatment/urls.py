from django.urls import path

from ikbt.treatment import views

app_name = "treatment"

urlpatterns = [
    path("", views.home, name="home"),
    path("sammanfattning/", views.summary, name="summary"),
    path(
        "<int:enrollment_id>/modul/<slug:key>/<int:number>/", views.module_page, name="module_page"
    ),
    path(
        "<int:enrollment_id>/arbetsblad/<slug:key>/", views.worksheet_save, name="worksheet_save"
    ),
    path(
        "<int:enrollment_id>/formular/<str:code>/",
        views.module_questionnaire,
        name="module_questionnaire",
    ),
    path("caseload/", views.caseload, name="caseload"),
    path("mallar/", views.reply_templates, name="reply_templates"),
    path("franvaro/", views.absences, name="absences"),
    path("journal/<int:enrollment_id>/", views.record, name="record"),
]
