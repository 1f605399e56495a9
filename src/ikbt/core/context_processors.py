from django.http import HttpRequest

from ikbt.organisations.models import StaffMembership, StaffRole


def navigation(request: HttpRequest) -> dict:
    """What the menu needs to know about the signed-in person."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff_member:
        return {"user_is_unit_admin": False}
    return {
        "user_is_unit_admin": lambda: StaffMembership.objects.filter(
            user=user, role=StaffRole.UNIT_ADMIN
        ).exists()
    }
