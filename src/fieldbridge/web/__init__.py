"""Server-rendered admin UI (Jinja2 + htmx) and the worker mobile app's shell."""
