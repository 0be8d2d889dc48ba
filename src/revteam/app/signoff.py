"""Who may sign off a shared decision: the one rule definitions and MQL thresholds follow.

A decision owned by a KPI's owners needs an editor (or admin) of each owning team: ``shared``
means Marketing and Sales. The voter must be an active user, an editor or admin, of a team
that must sign, and a refusal names which of these failed and what to do.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from revteam.app.models import User
from revteam.exceptions import PermissionDeniedError, RevteamError

TEAMS_OF: dict[str, tuple[str, ...]] = {
    "shared": ("marketing", "sales"),
    "sales": ("sales",),
    "marketing": ("marketing",),
}
"""The teams that sign off what each owner value owns."""


def signer(
    session: Session,
    voter: str,
    needs: tuple[str, ...],
    *,
    action: str,
    subject: str,
    refuse: Callable[[str, str], RevteamError],
) -> User:
    """The user ``voter`` if they may sign off ``subject`` for one of ``needs``.

    ``action`` names the act in a permission refusal ("Signing off a definition"); ``refuse``
    builds the package's own error from a problem and a fix.
    """
    user = session.scalar(select(User).where(User.email == voter.strip().lower()))
    if user is None or not user.is_active:
        raise refuse(f"{voter!r} is not an active user.", "Vote as a user who can sign in.")
    if user.role not in ("editor", "admin"):
        raise PermissionDeniedError(action, "editor", user.role)
    if user.team not in needs:
        raise refuse(
            f"{user.email} is in {user.team}; {subject} needs the sign-off of "
            f"{' and '.join(needs)}.",
            "Ask an editor of those teams to vote.",
        )
    return user
