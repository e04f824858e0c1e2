"""Scheduled jobs: "at HH:MM in each project's time zone", once per (project, local date)."""
