from django.urls import path

from ikbt.programs import views

app_name = "programs"

VERSION = "<slug:slug>/v<int:number>/"

urlpatterns = [
    path("", views.program_list, name="list"),
    path("media/<int:media_id>/", views.media, name="media"),
    path(VERSION, views.version_detail, name="version"),
    path(VERSION + "forhandsvisning/", views.preview, name="preview"),
    path(VERSION + "paket.zip", views.package, name="package"),
    path(VERSION + "adoptera/", views.adopt, name="adopt"),
    path(VERSION + "forgrena/", views.fork, name="fork"),
    path(VERSION + "flytta-patienter/", views.move_patients, name="move_patients"),
    path(VERSION + "modul/<slug:key>/", views.module_edit, name="module"),
    path(VERSION + "modul/<slug:key>/sida/<slug:page_key>/", views.page_edit, name="page"),
    path(VERSION + "arbetsblad/<slug:key>/", views.worksheet_edit, name="worksheet"),
    path(VERSION + "quiz/<slug:key>/", views.quiz_edit, name="quiz"),
    path(VERSION + "<slug:action>/", views.version_action, name="version_action"),
]
