"""Leaving the Create User / Edit User form: Cancel, another page picked, or Close, with unsaved
changes asked about first, and the once-shown password or pass dropped on the way out.

`LeavingForm` is a mixin of `UserFormViewModel` (it uses that class's `has_unsaved`,
`discard`, `clear_secrets`, `_current`, `closed` and `TYPED_FIELDS`).
"""
from __future__ import annotations

import param


class LeavingForm(param.Parameterized):
    """Cancel / leave / close of the user form."""

    leave_pending = param.Boolean(default=False, doc="True while the page asks whether to "
                                  "discard unsaved changes (after Cancel or leaving the page).")
    leave_to = param.Tuple(default=None, allow_None=True, length=3, doc="(page, tenant, user) "
                           "the person asked to go to while changes were unsaved; None for "
                           "All Users.")

    def cancel(self) -> bool:
        """Close without applying anything; with unsaved changes, ask first (True: closed)."""
        if self.has_unsaved() and not self.leave_pending:
            self.leave_pending = True
            return False
        self.discard_and_leave()
        return True

    def ask_to_leave(self, page: str, tenant: str, user: str) -> bool:
        """The person asked for another page: True when they may go now; False when unsaved
        changes first need their answer (`leave_pending`)."""
        if not self.has_unsaved():
            self.clear_secrets()          # shown once: not kept once the page is left
            return True
        self.param.update(leave_to=(page, tenant, user), leave_pending=True)
        return False

    def keep_editing(self) -> None:
        """Answer to the leave question: stay on the form, changes kept."""
        self.param.update(leave_pending=False, leave_to=None)

    def discard_and_leave(self) -> None:
        """Answer to the leave question: drop the unsaved changes and go (see `leave_to`)."""
        self.discard()
        self._current = {"fields": {}, "licenses": [], "roles": [], "groups": [], "upn": ""}
        self.param.update(leave_pending=False, user_id="", **{k: "" for k in self.TYPED_FIELDS})
        self._close()

    def _close(self) -> None:
        """Leave the form; a password or pass shown on it is dropped first."""
        self.clear_secrets()
        self.closed = True

    def close_after_secret(self) -> None:
        """The technician copied the password or pass that Create User and Close showed."""
        self._close()
