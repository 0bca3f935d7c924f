"""Offboarding's Exchange Online steps: convert to a shared mailbox, Full Access and Send As for
chosen people (default: the manager), forwarding, hiding from the address lists, leaving
distribution lists and mail-enabled security groups.

They run before the licenses go: a user mailbox without a license is disabled after 30 days, a
shared one needs none (up to 50 GB), so the mailbox is converted first and the license step
waits for it. Planning reads the mailbox, its size, its permissions and the lists the user is
in, so the plan names every change and refuses a mailbox over 50 GB before any write; each step
reads again before it writes, so re-applying repeats nothing (docs/EXCHANGE.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..access import feature_refusal
from ..errors import GraphError
from ..exchange import SHARED, SHARED_MAILBOX_LIMIT, ExchangeOnline, forwarding_address, gigabytes
from .hybrid import is_synced
from .plan import FAILED, ApplyContext, Outcome, Problem, Step, done, graph_failure, skipped
from .resolve import exchange_group, get_user, group_kind

OPTIONS = ("convert_to_shared", "mailbox_access", "send_as", "forward_to",
           "hide_from_address_lists", "remove_distribution_lists")
LABELS = {"convert_to_shared": "Convert to shared mailbox",
          "mailbox_access": "Give Full Access to the mailbox",
          "send_as": "Give Send As", "forward_to": "Forward mail",
          "hide_from_address_lists": "Hide from address lists",
          "remove_distribution_lists": "Remove from distribution lists"}
MANAGER = "manager"
_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")


@dataclass
class MailboxChoice:
    """The Exchange options of one offboarding, as plan_offboarding takes them."""

    convert_to_shared: bool = False
    mailbox_access: list[str] = field(default_factory=list)   # people, or ["manager"]
    automapping: bool = True
    send_as: list[str] = field(default_factory=list)
    forward_to: str | None = None                              # an address, or "manager"
    keep_copy: bool = True
    hide_from_address_lists: bool = False
    remove_distribution_lists: bool = False

    @property
    def chosen(self) -> dict[str, bool]:
        return {"convert_to_shared": self.convert_to_shared,
                "mailbox_access": bool(self.mailbox_access), "send_as": bool(self.send_as),
                "forward_to": bool(self.forward_to),
                "hide_from_address_lists": self.hide_from_address_lists,
                "remove_distribution_lists": self.remove_distribution_lists}

    @property
    def any(self) -> bool:
        return any(self.chosen.values())

    def parameters(self) -> dict:
        """JSON-able, as a scheduled job stores them and plan_offboarding takes them again."""
        return {"convert_to_shared": self.convert_to_shared,
                "mailbox_access": list(self.mailbox_access), "automapping": self.automapping,
                "send_as": list(self.send_as), "forward_to": self.forward_to,
                "keep_copy": self.keep_copy,
                "hide_from_address_lists": self.hide_from_address_lists,
                "remove_distribution_lists": self.remove_distribution_lists}


def people(value) -> list[str]:
    """A people option: True or "manager" -> ["manager"]; text split on ";" or ","; a list."""
    if value is True:
        return [MANAGER]
    if value in (None, False, ""):
        return []
    items = re.split(r"[;,]", value) if isinstance(value, str) else list(value)
    return list(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))


def choice(convert_to_shared=False, mailbox_access=None, automapping=True, send_as=None,
           forward_to=None, keep_copy=True, hide_from_address_lists=False,
           remove_distribution_lists=False) -> MailboxChoice:
    forward = str(forward_to).strip() if forward_to not in (None, False, "") else None
    return MailboxChoice(bool(convert_to_shared), people(mailbox_access), bool(automapping),
                         people(send_as), MANAGER if forward_to is True else forward,
                         bool(keep_copy), bool(hide_from_address_lists),
                         bool(remove_distribution_lists))


@dataclass
class MailboxPlan:
    steps: list[Step] = field(default_factory=list)
    convert: Step | None = None                   # the license step waits for it
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)   # option -> changes it would make


def plan_mailbox(m365, client, current: dict, pick: MailboxChoice, manager: dict | None,
                 groups: list[dict], *, delete: bool, remove_licenses: bool) -> MailboxPlan:
    out = MailboxPlan()
    if not pick.any:
        return out
    refused = feature_refusal(m365, client.tenant_id, "exchange")
    if refused:
        out.problems.append(Problem("exchange", refused))
        return out
    if delete and (pick.convert_to_shared or pick.mailbox_access or pick.send_as or pick.forward_to):
        out.problems.append(Problem("convert_to_shared", "deleting the user deletes the mailbox, "
                                    "shared or not; leave Delete User off to keep the mail (and "
                                    "remove the licenses instead)"))
        return out
    exo = ExchangeOnline(client)
    upn = current["userPrincipalName"]
    try:
        mailbox = exo.mailbox(upn)
    except GraphError as exc:
        out.problems.append(Problem("exchange", f"could not read the mailbox: {graph_failure(exc)}"))
        return out
    if mailbox is None:
        if pick.remove_distribution_lists:
            _plan_lists(exo, upn, groups, out)
        mailbox_options = [k for k, v in pick.chosen.items()
                           if v and k != "remove_distribution_lists"]
        for key in mailbox_options:
            out.problems.append(Problem(key, "the user has no Exchange Online mailbox (no license "
                                             "with Exchange, or a mailbox hosted on-premises); "
                                             f"leave {LABELS[key]} off"))
        return out
    try:
        if pick.convert_to_shared:
            _plan_convert(exo, upn, mailbox, out, remove_licenses)
        if pick.mailbox_access:
            _plan_grants(m365, client, exo, current, pick.mailbox_access, manager, out,
                         full_access=True, automapping=pick.automapping)
        if pick.send_as:
            _plan_grants(m365, client, exo, current, pick.send_as, manager, out,
                         full_access=False, automapping=False)
        if pick.forward_to:
            _plan_forward(client, current, mailbox, pick, manager, out)
        if pick.hide_from_address_lists:
            _plan_hide(current, mailbox, out)
        if pick.remove_distribution_lists:
            _plan_lists(exo, upn, groups, out)
    except GraphError as exc:
        out.problems.append(Problem("exchange", f"could not read the mailbox's settings: "
                                                f"{graph_failure(exc)}"))
    if remove_licenses and not pick.convert_to_shared and mailbox.get("RecipientTypeDetails") != SHARED:
        out.warnings.append(Problem("remove_licenses", "removing the licenses disables the mailbox "
                                    "after 30 days: also choose Convert to shared mailbox to keep "
                                    "the mail"))
    return out


# -- convert ----------------------------------------------------------------------------------

def _plan_convert(exo, upn: str, mailbox: dict, out: MailboxPlan, remove_licenses: bool) -> None:
    if mailbox.get("RecipientTypeDetails") == SHARED:
        out.counts["convert_to_shared"] = 0
        out.warnings.append(Problem("convert_to_shared", "the mailbox is already a shared mailbox"))
        return
    size = exo.mailbox_size(upn)
    if size is not None and size > SHARED_MAILBOX_LIMIT:
        out.problems.append(Problem("convert_to_shared", f"the mailbox holds {gigabytes(size)}, over "
                                    "the 50 GB a shared mailbox without a license may hold: keep "
                                    "its license (leave Remove assigned licenses off) or archive "
                                    "mail first; nothing was changed"))
        return
    why = ("before the licenses are removed: a shared mailbox keeps the mail without a license"
           if remove_licenses else "a shared mailbox keeps the mail and needs no license")
    held = f"{gigabytes(size)} of 50 GB; " if size is not None else ""

    def run(ctx: ApplyContext) -> Outcome:
        now = ExchangeOnline(ctx.client).mailbox(upn, select="RecipientTypeDetails")
        if now is None:
            return Outcome(FAILED, "the mailbox is gone")
        if now.get("RecipientTypeDetails") == SHARED:
            return skipped("already a shared mailbox")
        ExchangeOnline(ctx.client).invoke("Set-Mailbox", {"Identity": upn, "Type": "Shared"})
        return done()

    out.convert = Step("convert mailbox to shared", upn, held + why, run=run, feature="exchange")
    out.steps.append(out.convert)
    out.counts["convert_to_shared"] = 1


# -- Full Access and Send As -------------------------------------------------------------------

def _person(client, name: str, manager: dict | None, current: dict, field_: str, out: MailboxPlan):
    if name.lower() == MANAGER:
        if manager is None:
            out.problems.append(Problem(field_, "the user has no manager in Entra ID; name the "
                                                "people instead or set a manager first (Edit User)"))
            return None
        return manager
    found = get_user(client, name)
    if found is None:
        out.problems.append(Problem(field_, f"no user '{name}' in this tenant; use a user "
                                            "principal name"))
        return None
    if found["id"].lower() == current["id"].lower():
        out.problems.append(Problem(field_, f"'{name}' is the user being offboarded"))
        return None
    if found.get("accountEnabled") is False:
        out.warnings.append(Problem(field_, f"{found.get('displayName') or name} cannot sign in "
                                            "(account disabled)"))
    return found


def _plan_grants(m365, client, exo, current, names, manager, out: MailboxPlan, *,
                 full_access: bool, automapping: bool) -> None:
    key = "mailbox_access" if full_access else "send_as"
    upn = current["userPrincipalName"]
    wanted = [p for p in (_person(client, n, manager, current, key, out) for n in names) if p]
    held = exo.full_access(upn) if full_access else exo.send_as(upn)
    holders = {str(p.get("User" if full_access else "Trustee") or "").lower() for p in held}
    count = 0
    for person in wanted:
        who = person["userPrincipalName"]
        label = person.get("displayName") or who
        if who.lower() in holders:
            out.warnings.append(Problem(key, f"{label} already has "
                                             f"{'Full Access' if full_access else 'Send As'}"))
            continue
        out.steps.append(_grant_step(upn, who, label, full_access, automapping))
        count += 1
    out.counts[key] = count


def _grant_step(upn: str, who: str, label: str, full_access: bool, automapping: bool) -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        exo = ExchangeOnline(ctx.client)
        held = exo.full_access(upn) if full_access else exo.send_as(upn)
        field_ = "User" if full_access else "Trustee"
        if any(str(p.get(field_) or "").lower() == who.lower() for p in held):
            return skipped("already granted")
        if full_access:
            exo.invoke("Add-MailboxPermission", {"Identity": upn, "User": who,
                                                 "AccessRights": ["FullAccess"],
                                                 "InheritanceType": "All",
                                                 "AutoMapping": automapping})
        else:
            exo.invoke("Add-RecipientPermission", {"Identity": upn, "Trustee": who,
                                                   "AccessRights": ["SendAs"], "Confirm": False})
        return done()

    if full_access:
        detail = (f"to {upn}'s mailbox; " + ("it appears in their Outlook (automapping)"
                                             if automapping else "added in Outlook by hand (no automapping)"))
        return Step("grant Full Access", label, detail, run=run, feature="exchange")
    return Step("grant Send As", label, f"may send as {upn}", run=run, feature="exchange")


# -- forwarding, address lists -----------------------------------------------------------------

def _plan_forward(client, current, mailbox, pick: MailboxChoice, manager, out: MailboxPlan) -> None:
    target = pick.forward_to
    if target.lower() == MANAGER:
        if manager is None:
            out.problems.append(Problem("forward_to", "the user has no manager in Entra ID; give "
                                                      "an address instead"))
            return
        target = manager.get("mail") or manager["userPrincipalName"]
    if not _EMAIL.match(target):
        out.problems.append(Problem("forward_to", f"'{target}' is not an email address "
                                                  "(name@domain)"))
        return
    upn = current["userPrincipalName"]
    if target.lower() in {upn.lower(), str(mailbox.get("PrimarySmtpAddress") or "").lower()}:
        out.problems.append(Problem("forward_to", "mail cannot be forwarded to the mailbox itself"))
        return
    now = forwarding_address(mailbox.get("ForwardingSmtpAddress"))
    keep = pick.keep_copy
    if (now or "").lower() == target.lower() and bool(mailbox.get("DeliverToMailboxAndForward")) == keep:
        out.counts["forward_to"] = 0
        out.warnings.append(Problem("forward_to", f"mail is already forwarded to {target}"))
        return
    if target.split("@")[-1].lower() != upn.split("@")[-1].lower():
        out.warnings.append(Problem("forward_to", f"{target} may be outside the organization: "
                                    "Exchange Online's outbound spam policy blocks automatic "
                                    "external forwarding unless the tenant allows it"))

    def run(ctx: ApplyContext) -> Outcome:
        exo = ExchangeOnline(ctx.client)
        box = exo.mailbox(upn, select="ForwardingSmtpAddress,DeliverToMailboxAndForward") or {}
        if ((forwarding_address(box.get("ForwardingSmtpAddress")) or "").lower() == target.lower()
                and bool(box.get("DeliverToMailboxAndForward")) == keep):
            return skipped("already forwarded")
        exo.invoke("Set-Mailbox", {"Identity": upn, "ForwardingSmtpAddress": f"smtp:{target}",
                                   "DeliverToMailboxAndForward": keep})
        return done()

    detail = "keeps a copy in the mailbox" if keep else "no copy kept in the mailbox"
    out.steps.append(Step("forward mail", target, detail, run=run, feature="exchange"))
    out.counts["forward_to"] = 1


def _plan_hide(current, mailbox, out: MailboxPlan) -> None:
    if mailbox.get("HiddenFromAddressListsEnabled"):
        out.counts["hide_from_address_lists"] = 0
        out.warnings.append(Problem("hide_from_address_lists", "already hidden from the address lists"))
        return
    if is_synced(current):
        out.problems.append(Problem("hide_from_address_lists", "the user is synced from on-premises "
                                    "Active Directory, which owns this setting: set "
                                    "msExchHideFromAddressLists there (docs/HYBRID.md)"))
        return
    upn = current["userPrincipalName"]

    def run(ctx: ApplyContext) -> Outcome:
        exo = ExchangeOnline(ctx.client)
        box = exo.mailbox(upn, select="HiddenFromAddressListsEnabled") or {}
        if box.get("HiddenFromAddressListsEnabled"):
            return skipped("already hidden")
        exo.invoke("Set-Mailbox", {"Identity": upn, "HiddenFromAddressListsEnabled": True})
        return done()

    out.steps.append(Step("hide from address lists", upn, "no longer in the global address list",
                          run=run, feature="exchange"))
    out.counts["hide_from_address_lists"] = 1


# -- distribution lists ------------------------------------------------------------------------

def gives_mailbox(facts, sku_list) -> bool:
    """Whether these (sku id, disabled plan ids) licenses include Exchange Online (a mailbox)."""
    for sku_id, disabled in sku_list:
        plans = (facts.skus.get(str(sku_id).lower()) or {}).get("servicePlans") or []
        off = {str(p).lower() for p in disabled or ()}
        if any(str(p.get("servicePlanName", "")).startswith("EXCHANGE_S_")
               and str(p.get("servicePlanId", "")).lower() not in off for p in plans):
            return True
    return False


def list_needs_mailbox(facts, sku_list, lists: list[dict]) -> list[Problem]:
    """A new user joins distribution lists only with a mailbox: a license with Exchange Online."""
    if gives_mailbox(facts, sku_list):
        return []
    names = ", ".join(f"'{g.get('displayName') or g['id']}'" for g in lists)
    kinds = {"distribution list" if group_kind(g) == "distribution" else
             "mail-enabled security group" for g in lists}
    verb = (f"is a {kinds.pop()}" if len(lists) == 1
            else "are " + " and ".join(f"{k}s" for k in sorted(kinds)))
    return [Problem("groups", f"{names} {verb}: only users with a mailbox can join; also assign "
                              "a license that includes Exchange Online (e.g. Exchange Online "
                              "Plan 1, Microsoft 365 Business Basic)")]


def _plan_lists(exo, upn: str, groups: list[dict], out: MailboxPlan) -> None:
    lists = [g for g in groups if exchange_group(g)]
    for group in lists:
        out.steps.append(distribution_member_step(group, upn, add=False))
    out.counts["remove_distribution_lists"] = len(lists)


def distribution_member_step(group: dict, member: str | None, *, add: bool, why: str = "",
                             after=()) -> Step:
    """Add `member` (None: the plan's user, known once created) to, or take them out of, a
    distribution list or mail-enabled security group."""
    gid = group["id"]
    name = group.get("displayName") or gid
    kind = "mail-enabled security group" if group_kind(group) == "mail_security" else "distribution list"

    def run(ctx: ApplyContext) -> Outcome:
        exo = ExchangeOnline(ctx.client)
        who = member or ctx.user_id
        changed = exo.add_member(gid, who) if add else exo.remove_member(gid, who)
        if not changed:
            return skipped("already a member" if add else "not a member any more")
        return done()

    action = "add to distribution list" if add else "remove from distribution list"
    return Step(action, name, why or f"{kind}, changed in Exchange Online", run=run,
                feature="exchange", after=tuple(after))
