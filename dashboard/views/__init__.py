"""Views: thin Panel components over the view models (no state or logic of their own)."""
from .activity import ActivityView
from .bulk import BulkView
from .licenses import LicensesView
from .offboard import OffboardView
from .overview import OverviewView
from .tenants import TenantsView
from .user_details import UserDetailsView
from .user_form import UserFormView
from .users import UsersView

__all__ = ["ActivityView", "BulkView", "LicensesView", "OffboardView", "OverviewView", "TenantsView",
           "UserDetailsView", "UserFormView", "UsersView"]
