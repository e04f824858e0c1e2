"""Procore: provider record, OAuth endpoints and connect steps (`connect.FLOW`, plugged into the
shared lifecycle in `connections`), the authenticated HTTP client, pagination, project sync.

Entry points other modules use:

- `fieldbridge.connectors.procore.client.ProcoreClient`: per-connection HTTP client
  (auth, refresh, `Procore-Company-Id`, rate limits, error classification).
- `fieldbridge.connectors.procore.errors`: the error hierarchy (`ReconnectRequired`, ...).
- `fieldbridge.connectors.procore.pagination.next_page`: Link/Total/Per-Page as a pure function.
"""
