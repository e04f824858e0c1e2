"""Pydantic I/O of the accounts domain."""

import re
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from fieldbridge.accounts.models import Role

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]


class CompanyIn(BaseModel):
    name: Name
    code: str = Field(description="2 to 32 letters, digits or dashes; workers type it on the phone")
    timezone: str = "America/New_York"

    @field_validator("code")
    @classmethod
    def _short_code(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z0-9-]{2,32}", code):
            raise ValueError(f"{value!r} must be 2 to 32 letters, digits or dashes, such as ACME")
        return code

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name such as America/Chicago") from None
        return value


class WorkerIn(BaseModel):
    name: Name
    title: ShortText | None = None
    trade: ShortText | None = None
    employee_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    email: EmailStr | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    pin: Pin | None = Field(default=None, description="4 to 8 digits, unique within the company")
    is_foreman: bool = False
    active: bool = True


class WorkerPatch(BaseModel):
    name: Name | None = None
    title: ShortText | None = None
    trade: ShortText | None = None
    employee_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    email: EmailStr | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    pin: Pin | None = None
    is_foreman: bool | None = None
    active: bool | None = None


class WorkerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    title: str | None
    trade: str | None
    employee_id: str | None
    email: str | None
    phone: str | None
    is_foreman: bool
    active: bool
    has_pin: bool
    created_at: datetime
    updated_at: datetime


class CsvImportResult(BaseModel):
    created: int
    updated: int
    errors: list[str]


class ApiKeyIn(BaseModel):
    name: Name
    scopes: list[str] = Field(min_length=1)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once. Store it now; FieldBridge keeps only its hash.")


class UserIn(BaseModel):
    email: EmailStr
    name: Name
    role: Role
    password: Annotated[str, StringConstraints(min_length=10, max_length=200)]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    active: bool
    last_sign_in_at: datetime | None


class WorkerSignIn(BaseModel):
    company_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=32)]
    pin: Pin


class DeviceSession(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; the device stays signed in.")
    worker: WorkerOut
    company_name: str


class Me(BaseModel):
    company_id: int
    company_name: str
    kind: str
    name: str
    role: str | None
    scopes: list[str]
