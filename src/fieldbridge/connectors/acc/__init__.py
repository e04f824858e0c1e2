"""Autodesk Construction Cloud (APS / ACC) as a FieldBridge connector: 3-legged APS OAuth with
PKCE and rotating refresh tokens, hubs and projects (the `b.` prefix), Safety issues for
detections and incidents, daily summaries as forms or issue comments, and signed issue webhooks
for the limited pull. Plugged in by one line in `connectors/registry.py`."""
