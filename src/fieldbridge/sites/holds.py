"""Hold keys of exports that wait for something the sites domain fixes (see
`delivery.service.Hold`): a project to become reachable, a worker to be linked to a person."""

# What a refused delivery revealed about its project (`sites.availability.remote_project_unavailable`).
INACTIVE = "inactive"
NO_ACCESS = "no_access"


# Why a project cannot take time now (`exclusion_reason`), as the sync page shows it.
INACTIVE_REASON = "inactive in Procore"
NOT_PERMITTED = "not permitted for this app in Procore's App Management"
REMOVED = "no longer in Procore (deleted, or moved out of this company)"


def exclusion_reason(*, active: bool, permitted: bool, removed: bool) -> str | None:
    if removed:
        return REMOVED
    if not permitted:
        return NOT_PERMITTED
    if not active:
        return INACTIVE_REASON
    return None


def project_key(remote_project_id: str) -> str:
    """Exports waiting for a remote project to be tracked, active and permitted again."""
    return f"project:{remote_project_id}"


def person_key(worker_id: int) -> str:
    """Exports waiting for their worker to be linked to a person of the remote company."""
    return f"person:{worker_id}"
