"""View models: one `param.Parameterized` class per page or form, no widgets, no server needed."""
from .activity import ActivityViewModel
from .base import Alert, PageViewModel, PlanViewModel
from .bulk import BulkViewModel
from .licenses import LicensesViewModel
from .offboard import OffboardViewModel
from .overview import OverviewViewModel
from .tenants import TenantsViewModel
from .user_details import UserDetailsViewModel
from .user_form import UserFormViewModel
from .users import UsersViewModel

__all__ = ["ActivityViewModel", "Alert", "BulkViewModel", "LicensesViewModel",
           "OffboardViewModel", "OverviewViewModel", "PageViewModel", "PlanViewModel", "TenantsViewModel",
           "UserDetailsViewModel", "UserFormViewModel", "UsersViewModel"]
