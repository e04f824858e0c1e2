"""Crew time: clock-in/out shifts, crews, allocations per milestone, corrections, export status."""
