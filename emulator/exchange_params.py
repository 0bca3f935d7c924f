"""PowerShell's parameter binding for the cmdlets of InvokeCommand (emulator/exchange_cmdlets.py).

Names are case-insensitive; an unknown parameter, a value of the wrong type and a missing
mandatory parameter are refused with ParameterBindingException as PowerShell does, an unknown
cmdlet with CommandNotFoundException. `bind` returns the values converted (booleans, ResultSize
as a number, ForwardingSmtpAddress as "smtp:x", the mailbox Type as its RecipientTypeDetails).
"""
from __future__ import annotations

import re

from . import exchange as X

UNLIMITED = 10 ** 9
DEFAULT_RESULT_SIZE = 1000
COMMON = {"erroraction": "ErrorAction", "warningaction": "WarningAction", "verbose": "Verbose",
          "debug": "Debug"}
_ADDRESS = re.compile(r"^[^@\s:]+@[^@\s]+\.[^@\s]+$")


# cmdlet -> {parameter: (kind, mandatory)}
SPEC: dict[str, dict[str, tuple[str, bool]]] = {
    "Get-Mailbox": {"Identity": ("text", False), "ResultSize": ("size", False),
                    "RecipientTypeDetails": ("types", False)},
    "Set-Mailbox": {"Identity": ("text", True), "Type": ("type", False),
                    "ForwardingSmtpAddress": ("smtp", False), "ForwardingAddress": ("nullable", False),
                    "DeliverToMailboxAndForward": ("bool", False),
                    "HiddenFromAddressListsEnabled": ("bool", False), "Confirm": ("bool", False)},
    "Get-MailboxStatistics": {"Identity": ("text", True)},
    "Get-MailboxPermission": {"Identity": ("text", True), "User": ("text", False),
                              "ResultSize": ("size", False)},
    "Add-MailboxPermission": {"Identity": ("text", True), "User": ("text", True),
                              "AccessRights": ("rights", True), "AutoMapping": ("bool", False),
                              "InheritanceType": ("inheritance", False), "Confirm": ("bool", False)},
    "Remove-MailboxPermission": {"Identity": ("text", True), "User": ("text", True),
                                 "AccessRights": ("rights", True),
                                 "InheritanceType": ("inheritance", False), "Confirm": ("bool", False)},
    "Get-RecipientPermission": {"Identity": ("text", False), "Trustee": ("text", False),
                                "ResultSize": ("size", False)},
    "Add-RecipientPermission": {"Identity": ("text", True), "Trustee": ("text", True),
                                "AccessRights": ("rights", True), "Confirm": ("bool", False)},
    "Remove-RecipientPermission": {"Identity": ("text", True), "Trustee": ("text", True),
                                   "AccessRights": ("rights", True), "Confirm": ("bool", False)},
    "Get-DistributionGroup": {"Identity": ("text", False), "ResultSize": ("size", False)},
    "Get-DistributionGroupMember": {"Identity": ("text", True), "ResultSize": ("size", False)},
    "Add-DistributionGroupMember": {"Identity": ("text", True), "Member": ("text", True),
                                    "BypassSecurityGroupManagerCheck": ("bool", False),
                                    "Confirm": ("bool", False)},
    "Remove-DistributionGroupMember": {"Identity": ("text", True), "Member": ("text", True),
                                       "BypassSecurityGroupManagerCheck": ("bool", False),
                                       "Confirm": ("bool", False)},
    "Get-DynamicDistributionGroup": {"Identity": ("text", False), "ResultSize": ("size", False)},
}
CMDLETS = {name.lower(): name for name in SPEC}
RIGHTS = {"Add-MailboxPermission": "FullAccess", "Remove-MailboxPermission": "FullAccess",
          "Add-RecipientPermission": "SendAs", "Remove-RecipientPermission": "SendAs"}


def canonical(name) -> str:
    found = CMDLETS.get(str(name or "").strip().lower())
    if found is None:
        raise X.ExoError(400, X.NO_COMMAND, f"The term '{name}' is not recognized as a name of a "
                         "cmdlet, function, script file, or executable program. Check the spelling "
                         "of the name, or if a path was included, verify that the path is correct "
                         "and try again.")
    return found


def _cannot_convert(name: str, value, type_name: str, extra: str = "") -> X.ExoError:
    return X.binding(f"Cannot bind parameter '{name}'. Cannot convert value \"{value}\" to type "
                     f"\"{type_name}\".{extra}")


def _convert(cmdlet: str, name: str, kind: str, value):
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "$true", "$false"):
            return value.strip().lower().lstrip("$") == "true"
        raise X.binding(f"Cannot process argument transformation on parameter '{name}'. Cannot "
                        f"convert value \"{value}\" to type \"System.Boolean\". Boolean parameters "
                        "accept only Boolean values and numbers, such as $True, $False, 1 or 0.")
    if kind == "size":
        if isinstance(value, str) and value.strip().lower() == "unlimited":
            return UNLIMITED
        try:
            size = int(value)
        except (TypeError, ValueError):
            size = 0
        if size < 1 or isinstance(value, bool):
            raise _cannot_convert(name, value, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]")
        return size
    if kind == "types":
        items = value if isinstance(value, list) else str(value or "").split(",")
        wanted = {str(v).strip().lower() for v in items if str(v).strip()}
        known = {X.REGULAR.lower(): X.REGULAR, X.SHARED.lower(): X.SHARED}
        if not wanted or not wanted <= set(known) | {"roommailbox", "equipmentmailbox"}:
            raise _cannot_convert(name, value, "Microsoft.Exchange.Data.Directory.Recipient."
                                  "RecipientTypeDetails[]")
        return {known[w] for w in wanted if w in known}
    if kind == "type":
        text = str(value or "").strip().lower()
        if text not in ("shared", "regular"):
            raise _cannot_convert(name, value, "Microsoft.Exchange.Data.Directory.Management."
                                  "ConvertibleMailboxSubType", " The emulator converts to Shared "
                                  "or Regular only.")
        return X.SHARED if text == "shared" else X.REGULAR
    if kind == "smtp":
        if value in (None, ""):
            return None
        address = str(value).strip()
        address = address[5:] if address.lower().startswith("smtp:") else address
        if not _ADDRESS.match(address):
            raise _cannot_convert(name, value, "Microsoft.Exchange.Data.ProxyAddress")
        return "smtp:" + address
    if kind == "rights":
        items = value if isinstance(value, list) else [value]
        wanted = {str(v).strip() for v in items}
        right = RIGHTS[cmdlet]
        if {w.lower() for w in wanted} != {right.lower()}:
            raise _cannot_convert(name, value, "Microsoft.Exchange.Management.RecipientTasks."
                                  "MailboxRights[]", f" The emulator supports {right} only.")
        return [right]
    if kind == "inheritance":
        if str(value).lower() not in ("all", "none", "selfandchildren", "descendents", "children"):
            raise _cannot_convert(name, value, "System.DirectoryServices.ActiveDirectorySecurity"
                                  "Inheritance")
        return str(value)
    if kind == "nullable":
        return None if value in (None, "") else str(value)
    if value is None or isinstance(value, (dict, list)) or not str(value).strip():
        raise X.binding(f"Cannot validate argument on parameter '{name}'. The argument is null or "
                        "empty. Provide an argument that is not null or empty, and then try the "
                        "command again.")
    return str(value).strip()


def bind(cmdlet: str, parameters) -> dict:
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise X.binding("The Parameters of CmdletInput must be a JSON object of parameter names "
                        "and values.")
    spec = SPEC[cmdlet]
    names = {n.lower(): n for n in spec}
    out = {}
    for key, value in parameters.items():
        lower = str(key).lstrip("-").lower()
        if lower in COMMON:
            continue
        name = names.get(lower)
        if name is None:
            raise X.binding(f"A parameter cannot be found that matches parameter name '{key}'.")
        out[name] = _convert(cmdlet, name, spec[name][0], value)
    missing = [n for n, (_, mandatory) in spec.items() if mandatory and n not in out]
    if missing:
        raise X.binding("Cannot process command because of one or more missing mandatory "
                        f"parameters: {' '.join(missing)}.")
    return out
