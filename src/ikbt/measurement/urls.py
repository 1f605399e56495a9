from django.urls import path

from ikbt.measurement import views

app_name = "measurement"

urlpatterns = [
    path("formular/", views.instrument_list, name="instrument_list"),
    path("formular/<str:code>/", views.instrument_detail, name="instrument_detail"),
    path("mina/", views.my_scores, name="my_scores"),
    path("<uuid:key>/", views.answer, name="answer"),
    path("<uuid:key>/klar/", views.answered, name="answered"),
    path("patient/<int:patient_id>/", views.patient_measurements, name="patient_measurements"),
    path("patient/<int:patient_id>/ny/", views.start_questionnaire, name="start_questionnaire"),
    path("svar/<int:response_id>/", views.staff_answer, name="staff_answer"),
    path("fhir/Questionnaire/<str:code>/", views.fhir_questionnaire, name="fhir_questionnaire"),
    path(
        "fhir/QuestionnaireResponse/<int:response_id>/",
        views.fhir_questionnaire_response,
        name="fhir_questionnaire_response",
    ),
    path("fhir/Observation/<int:response_id>/", views.fhir_observation, name="fhir_observation"),
    path(
        "risk/<int:flag_id>/kvittera/", views.acknowledge_risk_flag, name="acknowledge_risk_flag"
    ),
]
