"""A Temporary Access Pass for a new user's first sign-in, within the tenant's policy.

Checked at plan time against `GET /policies/authenticationMethodsPolicy/
authenticationMethodConfigurations/TemporaryAccessPass` (enabled? lifetime range? one-time
only?), so a pass Graph would refuse is a plan problem naming the allowed range, not a failed
step. The pass is created after the user exists (`POST /users/{id}/authentication/
temporaryAccessPassMethods`); Graph answers its text once, and it goes only to
`Result.temporary_access_pass`: never to a log line, the audit log, the store or a repr.
"""
from __future__ import annotations

from ..errors import AmbiguousWrite, GraphError
from .plan import FAILED, ApplyContext, Outcome, Problem, Step, done, skipped

POLICY = "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"
FIRST_SIGN_IN = ("password", "temporary_access_pass")
ENABLE_HINT = ("enable it in the Entra admin center (Protection > Authentication methods > "
               "Temporary Access Pass) or use first_sign_in='password'")


def check_options(client, first_sign_in, lifetime, usable_once, group_ids: set[str]
                  ) -> tuple[dict | None, list[Problem], list[Problem]]:
    """(TAP request body or None, problems, warnings) for the first sign-in options."""
    choice = str(first_sign_in or "password").strip().lower()
    if choice not in FIRST_SIGN_IN:
        return None, [Problem("first_sign_in", f"'{first_sign_in}' is not a first sign-in; use "
                                               "'password' or 'temporary_access_pass'")], []
    if choice == "password":
        extra = [name for name, value in (("tap_lifetime_minutes", lifetime),
                                          ("tap_usable_once", usable_once)) if value is not None]
        return None, [Problem(name, "only applies with first_sign_in='temporary_access_pass'")
                      for name in extra], []
    try:
        policy = client.get(POLICY)
    except GraphError as exc:
        return None, [Problem("first_sign_in", (
            f"the tenant's Temporary Access Pass policy could not be read ({exc.graph_message}); "
            "the app needs Policy.Read.All to check it, or use first_sign_in='password'"))], []
    if str(policy.get("state", "")).lower() != "enabled":
        return None, [Problem("first_sign_in", "Temporary Access Pass is disabled in this "
                                               f"tenant's authentication methods policy; {ENABLE_HINT}")], []
    low = int(policy.get("minimumLifetimeInMinutes") or 60)
    high = int(policy.get("maximumLifetimeInMinutes") or 480)
    problems: list[Problem] = []
    if lifetime is None:
        minutes = int(policy.get("defaultLifetimeInMinutes") or low)
    elif isinstance(lifetime, bool) or not isinstance(lifetime, int) and not str(lifetime).strip().isdigit():
        problems.append(Problem("tap_lifetime_minutes", f"'{lifetime}' is not a whole number of "
                                f"minutes; this tenant allows {low} to {high}"))
        minutes = None
    else:
        minutes = int(lifetime)
        if not low <= minutes <= high:
            problems.append(Problem("tap_lifetime_minutes", (
                f"{minutes} minutes is outside this tenant's Temporary Access Pass policy: "
                f"allowed {low} to {high} minutes ({_hours(low)} to {_hours(high)})")))
    once = True if usable_once is None else usable_once
    if not isinstance(once, bool):
        problems.append(Problem("tap_usable_once", "must be true or false"))
    elif policy.get("isUsableOnce") and not once:
        problems.append(Problem("tap_usable_once", "this tenant's policy allows only one-time "
                                                   "passes; leave tap_usable_once=True"))
    warnings = []
    targets = [t.get("id") for t in policy.get("includeTargets") or []]
    if targets and "all_users" not in targets and not group_ids.intersection(
            str(t).lower() for t in targets):
        warnings.append(Problem("first_sign_in", "the tenant's Temporary Access Pass policy "
                                "applies only to members of certain groups, and this plan adds "
                                "the user to none of them; the pass may be refused or not work"))
    if problems:
        return None, problems, warnings
    return {"lifetimeInMinutes": minutes, "isUsableOnce": once}, [], warnings


def _hours(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} day" + ("s" if minutes != 1440 else "")
    if minutes % 60 == 0:
        return f"{minutes // 60} hour" + ("s" if minutes != 60 else "")
    return f"{minutes} minutes"


def create_pass(body: dict, *, after=()) -> Step:
    """POST the pass once the user exists; its text goes to the result, nowhere else."""
    def run(ctx: ApplyContext) -> Outcome:
        existing = ctx.client.get(f"users/{ctx.user_id}/authentication/temporaryAccessPassMethods")
        if any(m.get("isUsable") for m in existing.get("value") or []):
            # A re-apply must not replace the pass an earlier apply handed out.
            return skipped("already has a usable Temporary Access Pass (shown when it was "
                           "created); delete it in Entra to issue a new one")
        try:
            # Not re-sent after a dropped connection: a second pass would replace the first.
            answer = ctx.client.request("POST", f"users/{ctx.user_id}/authentication/"
                                                "temporaryAccessPassMethods", json=body,
                                        retry_unsafe=False)
        except AmbiguousWrite:
            return Outcome(FAILED, "Graph's answer was lost, so a pass it may have created "
                                   "cannot be shown; delete the user's Temporary Access Pass in "
                                   "Entra and apply again")
        ctx.temporary_access_pass = (answer or {}).get("temporaryAccessPass")
        return done()

    detail = (f"valid {_hours(body['lifetimeInMinutes'])} from creation, "
              + ("usable once" if body["isUsableOnce"] else "usable many times")
              + "; shown once in the result")
    return Step("create Temporary Access Pass", "first sign-in", detail, run=run, after=after)
