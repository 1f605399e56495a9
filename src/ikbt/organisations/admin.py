from django.contrib import admin

from ikbt.organisations.models import (
    CareUnit,
    Region,
    StaffAbsence,
    StaffMembership,
    Supervision,
    Training,
)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(CareUnit)
class CareUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "kind", "hsa_id"]
    list_filter = ["region", "kind"]
    search_fields = ["name", "hsa_id"]


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "unit", "role"]
    list_filter = ["role", "unit__region"]
    autocomplete_fields = ["unit"]
    search_fields = ["user__username", "user__last_name", "unit__name"]


@admin.register(StaffAbsence)
class StaffAbsenceAdmin(admin.ModelAdmin):
    list_display = ["staff", "starts_on", "ends_on", "cover"]


@admin.register(Supervision)
class SupervisionAdmin(admin.ModelAdmin):
    list_display = [
        "supervisor",
        "supervisee",
        "unit",
        "review_messages",
        "started_on",
        "ended_on",
    ]


@admin.register(Training)
class TrainingAdmin(admin.ModelAdmin):
    list_display = ["staff", "program", "completed_on", "recorded_by"]
    list_filter = ["program"]
