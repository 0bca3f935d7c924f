"""Every table of the store, and `create_schema()` that creates and upgrades them.

The synced snapshot's tables first, then the audit log, the offboarding records and the bulk
journal: the store package owns the schema and every query on it; the rest of `services` calls
its functions (`services.store.audit_log`, `.records`, `.journal`, `.lookups`).

Plain SQLAlchemy Core types only, so the same schema runs on SQLite and PostgreSQL. Lists and
nested Graph values are JSON text. Graph timestamps are kept as ISO-8601 UTC text
("2026-11-26T10:00:00Z"): dialect-neutral, sortable as text, and parsed in one vectorised
pandas call when a listing is read (per-row datetime conversion dominated reading 100k users).
"""
from __future__ import annotations

import logging
import threading
import weakref

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..db import metadata

log = logging.getLogger(__name__)

ID = 64        # tenant and object ids are GUIDs; 64 leaves room for other id shapes
NAME = 400

tenants = sa.Table(
    "tenants", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("display_name", sa.String(NAME)),
    sa.Column("default_domain", sa.String(NAME)),
    sa.Column("initial_domain", sa.String(NAME)),
    sa.Column("source", sa.String(16)),                  # gdap | contract | config
    sa.Column("active", sa.Boolean, nullable=False, default=True),   # found by the last discovery
    sa.Column("sync_enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("discovered", sa.String(32)),              # ISO UTC of the last discovery that saw it
    sa.Column("last_sync", sa.String(32)),               # ISO UTC of the last complete sync
    sa.Column("last_attempt", sa.String(32)),
    sa.Column("last_error", sa.Text),                    # reason of the last failed sync, else NULL
    sa.Column("has_sign_in_activity", sa.Boolean),       # NULL until a sync found out
    # What the app may do there (services.access): status words, "; "-joined lists, NULL until
    # a sync or `m365dash access` found out. Never a token: only the grants it lists.
    sa.Column("access", sa.String(32)),                  # ready | missing permissions | no consent ...
    sa.Column("missing_permissions", sa.Text),
    sa.Column("granted_permissions", sa.Text),           # the token's `roles` claim
    sa.Column("app_roles", sa.Text),                     # the app's directory roles (NULL: not read)
    sa.Column("access_detail", sa.Text),                 # Entra's refusal, or what was not read
    sa.Column("access_checked", sa.String(32)),          # ISO UTC
    sa.Column("entra_p1", sa.Boolean),                   # False: Graph said "no premium license"
    sa.Column("intune", sa.Boolean),                     # False: Graph said "no Intune here"
)

domains = sa.Table(
    "tenant_domains", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("name", sa.String(NAME), primary_key=True),
    sa.Column("is_default", sa.Boolean),
    sa.Column("is_initial", sa.Boolean),
    sa.Column("is_verified", sa.Boolean),
    sa.Column("authentication_type", sa.String(32)),
)

users = sa.Table(
    "users", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column("user_principal_name", sa.String(NAME)),
    sa.Column("display_name", sa.String(NAME)),
    sa.Column("given_name", sa.String(NAME)),
    sa.Column("surname", sa.String(NAME)),
    sa.Column("account_enabled", sa.Boolean),
    sa.Column("usage_location", sa.String(8)),
    sa.Column("department", sa.String(NAME)),
    sa.Column("job_title", sa.String(NAME)),
    sa.Column("mail", sa.String(NAME)),
    sa.Column("mail_nickname", sa.String(NAME)),
    sa.Column("office_location", sa.String(NAME)),
    sa.Column("mobile_phone", sa.String(64)),
    sa.Column("business_phones", sa.Text),               # joined by "; "
    sa.Column("user_type", sa.String(16)),
    sa.Column("on_premises_sync", sa.Boolean),           # synced from on-premises AD
    sa.Column("created", sa.String(32)),
    sa.Column("last_sign_in", sa.String(32)),
    sa.Column("last_non_interactive_sign_in", sa.String(32)),
    sa.Column("sku_ids", sa.Text),                       # sorted lower-case SKU ids joined by ";"
    # Where each license comes from, "sku=direct" / "sku=g:group1,group2", joined by ";": few
    # distinct values per tenant, so a listing decodes each value once instead of once per user.
    sa.Column("license_sources", sa.Text),
    # users() lists by tenant then UPN: with this index the database reads in that order
    # instead of sorting 100k rows; it also serves lookups by UPN.
    sa.Index("ix_users_tenant_upn", "tenant_id", "user_principal_name"),
)

# Exchange Online mailboxes (one Get-Mailbox per tenant per sync, services/sync/mailboxes.py),
# replaced whole each time they are read; a user without a row has no mailbox known.
mailboxes = sa.Table(
    "mailboxes", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("user_id", sa.String(ID), primary_key=True),
    sa.Column("mailbox_type", sa.String(32)),           # UserMailbox, SharedMailbox, ...
    sa.Column("forwarding_to", sa.String(NAME)),        # the ForwardingSmtpAddress, no "smtp:"
    sa.Column("keeps_copy", sa.Boolean),                # DeliverToMailboxAndForward
    sa.Column("hidden_from_address_lists", sa.Boolean),
)

# Dynamic distribution groups: Exchange-only (Graph does not list them), read with the mailboxes;
# their members come from a recipient filter, so they are shown but never offered for joining.
dynamic_distribution_groups = sa.Table(
    "dynamic_distribution_groups", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("id", sa.String(ID), primary_key=True),              # Exchange's Guid
    sa.Column("display_name", sa.String(NAME)),
    sa.Column("mail", sa.String(NAME)),
    sa.Column("recipient_filter", sa.Text),
)

user_licenses = sa.Table(
    "user_licenses", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("user_id", sa.String(ID), primary_key=True),
    sa.Column("sku_id", sa.String(ID), primary_key=True),
    sa.Column("direct", sa.Boolean),                     # assigned to the user itself
    sa.Column("assigned_by_group", sa.Text),             # group ids joined by ";" ("" if none)
    sa.Column("disabled_plans", sa.Text),                # JSON list of service plan ids
    sa.Column("state", sa.String(32)),                   # Active | ActiveWithError | Error ...
    sa.Column("error", sa.String(64)),                   # e.g. CountViolation
)

skus = sa.Table(
    "skus", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("sku_id", sa.String(ID), primary_key=True),
    sa.Column("sku_part_number", sa.String(NAME)),
    sa.Column("applies_to", sa.String(16)),
    sa.Column("capability_status", sa.String(16)),
    sa.Column("consumed", sa.Integer),
    sa.Column("enabled", sa.Integer),
    sa.Column("suspended", sa.Integer),
    sa.Column("warning", sa.Integer),
    sa.Column("locked_out", sa.Integer),
    sa.Column("service_plans", sa.Text),                 # JSON [{servicePlanId, servicePlanName, ...}]
)

groups = sa.Table(
    "groups", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column("display_name", sa.String(NAME)),
    sa.Column("description", sa.Text),
    sa.Column("mail", sa.String(NAME)),
    sa.Column("group_types", sa.Text),                   # JSON list
    sa.Column("mail_enabled", sa.Boolean),
    sa.Column("security_enabled", sa.Boolean),
    sa.Column("membership_rule", sa.Text),
    sa.Column("provisioning_options", sa.Text),          # JSON resourceProvisioningOptions
    sa.Column("on_premises_sync", sa.Boolean),
    sa.Column("kind", sa.String(16)),                    # microsoft365 | security | mail_security | distribution
    sa.Column("is_team", sa.Boolean),
    sa.Column("is_dynamic", sa.Boolean),
    sa.Column("writable", sa.Boolean),
    # Direct members as id lists on the group row, not one row per membership: groups hold
    # thousands of members, and writing them as rows cost more than all users of a tenant.
    sa.Column("member_ids", sa.Text),                    # user ids joined by ";"
    sa.Column("other_members", sa.Text),                 # "type:id" of groups, devices... by ";"
)

group_apps = sa.Table(
    "group_apps", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("id", sa.String(128), primary_key=True),   # appRoleAssignment id
    sa.Column("group_id", sa.String(ID)),
    sa.Column("resource_id", sa.String(ID)),
    sa.Column("resource_display_name", sa.String(NAME)),
    sa.Column("app_role_id", sa.String(ID)),
)

role_definitions = sa.Table(
    "role_definitions", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column("display_name", sa.String(NAME)),
    sa.Column("description", sa.Text),
    sa.Column("is_built_in", sa.Boolean),
    sa.Column("is_enabled", sa.Boolean),
    sa.Column("template_id", sa.String(ID)),
)

role_assignments = sa.Table(
    "role_assignments", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("role_definition_id", sa.String(ID)),
    sa.Column("principal_id", sa.String(ID)),
    sa.Column("directory_scope_id", sa.String(NAME)),
)

# Per tenant and resource: the delta link to continue from ("users", "groups"), or only when a
# periodically refreshed resource ("sign_ins", "apps") was last read in full.
sync_state = sa.Table(
    "sync_state", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("resource", sa.String(32), primary_key=True),
    sa.Column("delta_link", sa.Text),
    sa.Column("full_at", sa.String(32)),                 # ISO UTC of the last full read
    sa.Column("updated", sa.String(32)),
)

SNAPSHOT_TABLES = (domains, users, user_licenses, skus, groups, group_apps,
                   role_definitions, role_assignments, sync_state)

# ---- tables of the workflows and bulk jobs: kept by the store, written and read only
# through services.store.audit_log, .records and .journal -------------------------------------

# The audit log (services.audit): one row per apply or refusal.
audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    # Text, not a short string: a bulk job spanning tenants records them all, joined by ";".
    sa.Column("tenant_id", sa.Text, nullable=False, default=""),
    sa.Column("user", sa.Text, nullable=False, default=""),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default="{}"),
)

# What a user had when offboarded (services.workflows.records), so restore can re-apply it.
offboarding_records = sa.Table(
    "offboarding_records", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
    sa.Column("user_id", sa.String(64), nullable=False, index=True),
    sa.Column("user_principal_name", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False, default=""),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    # JSON text: [{"sku_id", "sku_part_number", "product_name", "disabled_plans", "direct", "groups"}]
    sa.Column("licenses", sa.Text, nullable=False, default="[]"),
    # [{"id", "display_name", "writable"}]
    sa.Column("groups", sa.Text, nullable=False, default="[]"),
    # [{"role_definition_id", "display_name", "directory_scope_id"}] (older rows have no scope: "/")
    sa.Column("roles", sa.Text, nullable=False, default="[]"),
)

# The bulk journal (services.bulk.journal): every job, and every step of it.
bulk_jobs = sa.Table(
    "bulk_jobs", metadata,
    sa.Column("job_id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("source", sa.String(500)),
    sa.Column("status", sa.String(16), nullable=False),     # planned | running | finished
    sa.Column("rows", sa.Text),                              # JSON list of row payloads, no passwords
)

bulk_steps = sa.Table(
    "bulk_steps", metadata,
    sa.Column("job_id", sa.String(40), sa.ForeignKey("bulk_jobs.job_id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("user", sa.String(320), nullable=False),
    sa.Column("step", sa.String(40), nullable=False),      # create | license | group | role | offboard | update
    sa.Column("target", sa.String(400), nullable=False, default=""),
    sa.Column("status", sa.String(12), nullable=False),    # pending | done | failed | skipped
    sa.Column("error", sa.Text),
    sa.Column("object_id", sa.String(64)),
    sa.Column("updated", sa.DateTime(timezone=True)),
)

# Onboarding templates per tenant (services.templates; queries in services.store.templates).
# Licenses, groups and roles are kept by name (SKU part number, display name), not by id, so a
# template can be copied to another tenant and resolved there by the same names.
onboarding_templates = sa.Table(
    "onboarding_templates", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("name_key", sa.String(NAME), primary_key=True),   # lower-case name: one per tenant
    sa.Column("name", sa.String(NAME), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    sa.Column("domain", sa.String(NAME)),
    sa.Column("username_format", sa.String(16)),
    sa.Column("usage_location", sa.String(8)),
    sa.Column("department", sa.String(NAME)),
    sa.Column("job_title", sa.String(NAME)),
    sa.Column("company_name", sa.String(NAME)),
    sa.Column("office_location", sa.String(NAME)),
    sa.Column("street_address", sa.Text),
    sa.Column("city", sa.String(NAME)),
    sa.Column("state", sa.String(NAME)),
    sa.Column("postal_code", sa.String(64)),
    sa.Column("country", sa.String(NAME)),
    sa.Column("licenses", sa.Text, nullable=False, default="[]"),   # JSON list of SKU part numbers
    sa.Column("groups", sa.Text, nullable=False, default="[]"),     # JSON list of group names
    sa.Column("roles", sa.Text, nullable=False, default="[]"),      # JSON list of role names
    sa.Column("updated", sa.DateTime(timezone=True)),
    sa.Column("updated_by", sa.String(320)),
)
# At most one default template per tenant, also when two people save defaults at once (a partial
# unique index: SQLite and PostgreSQL both have them).
sa.Index("ux_onboarding_templates_default", onboarding_templates.c.tenant_id, unique=True,
         sqlite_where=onboarding_templates.c.is_default == sa.true(),
         postgresql_where=onboarding_templates.c.is_default == sa.true())

# Per-tenant offboarding defaults (services.offboarding_defaults; queries in
# services.store.offboarding_defaults): which toggles start on, and the auto-reply text.
offboarding_defaults = sa.Table(
    "offboarding_defaults", metadata,
    sa.Column("tenant_id", sa.String(ID), primary_key=True),
    sa.Column("options", sa.Text, nullable=False, default="{}"),    # JSON {option: true | false}
    sa.Column("auto_reply_message", sa.Text),                       # may hold {display_name}, {manager}
    sa.Column("updated", sa.DateTime(timezone=True)),
    sa.Column("updated_by", sa.String(320)),
)

# The MSP's monthly price per SKU (services.license_prices; queries in services.store.prices):
# what a license on a disabled or inactive account costs on the Overview and in the
# license-audit notebook. A SKU without a row is priced from services.overview.DEFAULT_PRICES.
license_prices = sa.Table(
    "license_prices", metadata,
    sa.Column("sku_part_number", sa.String(NAME), primary_key=True),
    sa.Column("monthly_price", sa.Float, nullable=False),
    sa.Column("updated", sa.DateTime(timezone=True)),
    sa.Column("updated_by", sa.String(320)),
)

# Scheduled offboardings (services.schedules; queries in services.store.schedules). A job is
# planned again against current Graph at its time; `lease_until` and `progress` let a job whose
# process died be taken over without repeating the steps it finished (see docs/SCHEDULES.md).
scheduled_jobs = sa.Table(
    "scheduled_jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),                 # offboard
    sa.Column("tenant_id", sa.String(ID), nullable=False, index=True),
    sa.Column("user_id", sa.String(ID), nullable=False),
    sa.Column("user_principal_name", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False, default=""),
    sa.Column("options", sa.Text, nullable=False, default="{}"),      # JSON plan_offboarding kwargs
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),   # UTC
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(320), nullable=False),                # who scheduled it
    sa.Column("role", sa.String(32), nullable=False),
    # scheduled | running | done | failed | nothing_to_change | cancelled
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("outcome", sa.Text),                                     # what happened, in words
    sa.Column("runner", sa.String(200)),                               # host:pid that ran it
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("lease_until", sa.DateTime(timezone=True)),              # a running job's heartbeat
    sa.Column("progress", sa.Text, nullable=False, default="[]"),     # JSON steps finished so far
    sa.Column("ran_at", sa.DateTime(timezone=True)),
    sa.Column("finished", sa.DateTime(timezone=True)),
    sa.Column("late_seconds", sa.Integer),                             # ran_at - at, when it ran
    sa.Column("cancelled_by", sa.String(320)),
)

_done: "weakref.WeakKeyDictionary[Engine, bool]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()

# Engines whose tables ensure_tables() checked in this process, with the table names checked.
_ready: "weakref.WeakKeyDictionary[Engine, set[str]]" = weakref.WeakKeyDictionary()


def ensure_tables(engine: Engine, *tables: sa.Table) -> None:
    """Create these tables if missing (once per engine and process).

    A `Store` runs create_schema(), which makes every table, on first use; this covers an engine
    the audit log, the offboarding records or the journal is handed without a Store having
    opened it, and costs one metadata check per engine and table.
    """
    wanted = tables or (audit_log,)
    done = _ready.setdefault(engine, set())
    missing = [t for t in wanted if t.name not in done]
    if missing:
        metadata.create_all(engine, tables=missing, checkfirst=True)
        done.update(t.name for t in missing)


def create_schema(engine: Engine) -> None:
    """Create missing tables and add missing columns (a simple additive migration).

    Runs once per engine and process. Columns are only ever added, never changed or dropped,
    so an older store opens with a newer version and keeps its data; added columns are nullable.
    """
    with _lock:
        if _done.get(engine):
            return
        metadata.create_all(engine, checkfirst=True)
        inspector = sa.inspect(engine)
        for table in metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                ddl = sa.schema.CreateColumn(column).compile(dialect=engine.dialect)
                log.info("store upgrade: adding column %s.%s", table.name, column.name)
                with engine.begin() as conn:
                    conn.execute(sa.text(f"ALTER TABLE {_quote(engine, table.name)} ADD COLUMN "
                                         f"{_strip_not_null(str(ddl))}"))
        _done[engine] = True


def _quote(engine: Engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)


def _strip_not_null(ddl: str) -> str:
    # An added column must accept the existing rows, which have no value for it.
    return ddl.replace(" NOT NULL", "")
