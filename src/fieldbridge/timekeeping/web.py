"""Admin pages of timekeeping, and the mobile app shell."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
