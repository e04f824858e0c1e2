"""Plumbing shared by every domain module; no domain words live here."""
