"""API key scopes: what a key may do. Admin sessions hold every scope."""

from enum import StrEnum


class Scope(StrEnum):
    workers_read = "workers:read"
    workers_write = "workers:write"
    api_keys_write = "api_keys:write"
    users_write = "users:write"
    connections_read = "connections:read"
    connections_write = "connections:write"
    projects_read = "projects:read"
    projects_write = "projects:write"
    time_read = "time:read"
    time_write = "time:write"
    deliveries_read = "deliveries:read"
    deliveries_write = "deliveries:write"
    safety_read = "safety:read"
    safety_write = "safety:write"
    detections_write = "detections:write"  # an edge box or camera posting events, nothing else
    incidents_read = "incidents:read"
    incidents_write = "incidents:write"


ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)
# A support engineer reads everything and may retry deliveries, but manages no people or keys.
SUPPORT_SCOPES: frozenset[str] = frozenset(
    s.value for s in Scope if s.value.endswith(":read") or s is Scope.deliveries_write
)
# A worker's phone: its own time and the picker (synced projects, milestones, crew names).
# No workers:read: that would show every worker's email, phone and employee id, and the
# Procore people directory.
WORKER_SCOPES: frozenset[str] = frozenset({Scope.time_read, Scope.time_write, Scope.projects_read})
