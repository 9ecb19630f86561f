"""The ticket workflow: new -> open -> pending (on the customer) / on_hold -> solved -> closed,
and solved can be reopened. Any other move is refused, naming the allowed ones."""

from crm_api.core.errors import Conflict

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "on_hold", "solved"}),
    "open": frozenset({"pending", "on_hold", "solved"}),
    "pending": frozenset({"open", "on_hold", "solved"}),
    "on_hold": frozenset({"open", "pending", "solved"}),
    "solved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}


def check_transition(current: str, target: str) -> None:
    allowed = sorted(TRANSITIONS[current])
    if target not in allowed:
        raise Conflict(
            f"A ticket cannot go from {current} to {target}; "
            + (f"allowed: {', '.join(allowed)}." if allowed else "it is closed."),
            allowed=allowed,
        )
