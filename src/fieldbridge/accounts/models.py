"""Tables of the accounts domain. Every row but `Company` belongs to exactly one company."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.kit.db import Base, BigId, IdMixin, TimestampMixin


class Role(StrEnum):
    admin = "admin"
    support = "support"


class Company(IdMixin, TimestampMixin, Base):
    __tablename__ = "companies"

    name: Mapped[str] = mapped_column(String(200))
    # What workers type on the phone to find their company; short, unique, upper-case.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    # Unique per company, not across companies: a global rule would tell one tenant's admin
    # that an address is in use at another tenant (docs/operations.md, "Admin sign-in").
    __table_args__ = (UniqueConstraint("company_id", "email"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(default=None)


class UserSession(IdMixin, Base):
    """A signed-in browser: the cookie holds a random token, the row holds its digest."""

    __tablename__ = "user_sessions"

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Worker(IdMixin, TimestampMixin, Base):
    __tablename__ = "workers"
    __table_args__ = (
        UniqueConstraint("company_id", "employee_id"),
        UniqueConstraint("company_id", "pin_digest"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The role on site ("Role / title": foreman, operator, laborer) and the trade: filled from
    # the linked Procore person's job title where empty, editable; safety records show these.
    title: Mapped[str | None] = mapped_column(String(120), default=None)
    trade: Mapped[str | None] = mapped_column(String(120), default=None)
    employee_id: Mapped[str | None] = mapped_column(String(64), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    # HMAC of the PIN under the server key: PINs are unique in a company, so sign-in is one lookup.
    pin_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    is_foreman: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class DeviceToken(IdMixin, Base):
    """A phone that signed in with company code + PIN. It lives until `expires_at`, which moves
    forward while the phone is used (sliding), and dies early on a PIN change or deactivation."""

    __tablename__ = "device_tokens"

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(BigId, ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiKey(IdMixin, Base):
    __tablename__ = "api_keys"

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class SignInThrottle(IdMixin, Base):
    """Recent failed sign-ins of one key, counted in one row so a check-and-count is atomic.

    Keys: `pin:<CODE>` (a company's phones), `pin:<CODE>:<device or address>` (one source),
    `user:<email>` and `user:<email>:<address>` (admin sign-in)."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(400), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)
