"""`m365dash users add|remove|list`: the dashboard's users file (bcrypt hashes and a role each).

Passwords are read with getpass (asked twice) or from stdin with --password-stdin; they are never
echoed, printed or logged, and `users list` shows names and roles only.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from services.actors import ROLES

USERS_FILE_HELP = "the users file (default: $M365DASH_USERS, else $M365DASH_HOME/users.json)"


def register(subparsers) -> None:
    users = subparsers.add_parser(
        "users", help="dashboard sign-in users (for serve --auth users-file)",
        description="Manage the users who may sign in to the dashboard when it is served with "
                    "--auth users-file. Passwords are stored as salted bcrypt hashes.")
    sub = users.add_subparsers(dest="users_command", metavar="ACTION")

    add = sub.add_parser("add", help="add a user, or set a user's role and password",
                         description="Add a user (or replace an existing user's role and "
                                     "password). Asks for the password twice unless "
                                     "--password-stdin is given.")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, metavar="ROLE",
                     help=f"one of {', '.join(ROLES)}")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.add_argument("--users-file", metavar="PATH", help=USERS_FILE_HELP)
    add.set_defaults(func=run_add)

    remove = sub.add_parser("remove", help="remove a user (their open sessions end at expiry; "
                                           "new page loads are refused at once)")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--users-file", metavar="PATH", help=USERS_FILE_HELP)
    remove.set_defaults(func=run_remove)

    listing = sub.add_parser("list", help="user names and roles")
    listing.add_argument("--users-file", metavar="PATH", help=USERS_FILE_HELP)
    listing.set_defaults(func=run_list)

    users.set_defaults(func=lambda args: _usage(users))


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _fail(message: str) -> int:
    print(f"m365dash users: {message}", file=sys.stderr)
    return 2


def _users(args):
    from dashboard.users_file import UsersFile
    return UsersFile(args.users_file)


def _read_password(args) -> str | None:
    if args.password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    try:
        first = getpass.getpass(f"Password for {args.name}: ")
        second = getpass.getpass("Same password again: ")
    except EOFError:
        return None
    if first != second:
        raise ValueError("the two passwords differ; nothing was changed")
    return first


def run_add(args: argparse.Namespace) -> int:
    if args.role not in ROLES:
        return _fail(f"unknown role {args.role!r}: valid roles are {', '.join(ROLES)}")
    users = _users(args)
    try:
        password = _read_password(args)
        if not password:
            return _fail("no password given; nothing was changed")
        existed = args.name in users.roles()
        users.add(args.name, args.role, password)
    except ValueError as exc:
        return _fail(str(exc))
    verb = "updated" if existed else "added"
    print(f"{verb} {args.name} ({args.role}) in {users.path}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    users = _users(args)
    try:
        removed = users.remove(args.name)
    except ValueError as exc:
        return _fail(str(exc))
    if not removed:
        return _fail(f"no user {args.name!r} in {users.path}")
    print(f"removed {args.name} from {users.path}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    users = _users(args)
    try:
        roles = users.roles()
    except ValueError as exc:
        return _fail(str(exc))
    if not roles:
        print(f"no users in {users.path} (add one with: m365dash users add NAME --role ROLE)",
              file=sys.stderr)
        return 0
    width = max(len(n) for n in roles)
    print(f"{'NAME'.ljust(width)}  ROLE")
    for name in sorted(roles, key=str.lower):
        print(f"{name.ljust(width)}  {roles[name]}")
    return 0
