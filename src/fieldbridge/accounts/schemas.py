"""Pydantic I/O of the accounts domain."""

import re
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from fieldbridge.accounts.models import Role
from fieldbridge.kit.zones import DEFAULT_ZONE, zone_name

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]


def _known_zone(value: str) -> str:
    found = zone_name(value)
    if found is None:
        raise ValueError(
            f"{value!r} is not a time zone FieldBridge knows. Use a tz-database name such as "
            "America/New_York, America/Denver or Pacific/Honolulu (or Procore's name, e.g. "
            "Mountain Time (US & Canada))."
        )
    return found


TimeZoneName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), AfterValidator(_known_zone)
]


class CompanyIn(BaseModel):
    name: Name
    code: str = Field(description="2 to 32 letters, digits or dashes; workers type it on the phone")
    timezone: TimeZoneName = DEFAULT_ZONE

    @field_validator("code")
    @classmethod
    def _short_code(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z0-9-]{2,32}", code):
            raise ValueError(f"{value!r} must be 2 to 32 letters, digits or dashes, such as ACME")
        return code


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
    device_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")] | None = Field(
        default=None,
        description="A random id the phone keeps; failed sign-ins are throttled per device "
        "(else per client address), so one phone's typos never block the crew's other phones.",
    )


class DeviceSession(BaseModel):
    token: str = Field(
        description="Send as `Authorization: Bearer <token>`. It stays valid while the phone is "
        "used (each use moves `expires_at` on) and ends on a new PIN or deactivation."
    )
    expires_at: datetime
    worker: WorkerOut
    company_name: str


class SignInBlockOut(BaseModel):
    kind: str = Field(description="`phones` (company code + PIN) or `admin` (email + password)")
    account: str = Field(description="the company code or the email")
    source: str | None = Field(description="`device:<id>` or `ip:<address>`; none = the whole account")
    failures: int
    blocked_until: datetime


class SignInReset(BaseModel):
    cleared: int = Field(description="how many counters were forgotten")


class Me(BaseModel):
    company_id: int
    company_name: str
    kind: str
    name: str
    role: str | None
    scopes: list[str]


class CompanyOut(BaseModel):
    id: int
    name: str
    code: str
    time_zone: str = Field(description="dates and shows shifts of projects that have no zone of their own")


class CompanyPatch(BaseModel):
    time_zone: TimeZoneName | None = Field(
        default=None, description="a tz-database name (America/Denver); Procore's names are accepted too"
    )
