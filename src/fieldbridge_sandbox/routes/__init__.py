"""Procore's REST surface, one module per resource family."""
