"""Pydantic I/O of safety setup: site links (a site -> a synced remote project per
connection), the field mapping of a connection, and the setup checklist."""

from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Threshold = Annotated[int, Field(ge=1, le=5, description="lowest detection priority (1..5) that goes out")]
FoldWindow = Annotated[
    int, Field(ge=0, le=86_400, description="repeats within this many seconds fold into one observation")
]
Route = Literal["native", "comment", "off"]


class LinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(None, description="false: keep the link but send nothing for this project")
    observation_threshold: Threshold | None = None
    push_all: bool | None = Field(None, description="send every detection, whatever its priority")
    fold_window_s: FoldWindow | None = None
    summary_time: time | None = Field(None, description="local time (site zone) the daily summary posts")
    summary_enabled: bool | None = None
    summary_route: Route | None = Field(
        None, description="native: the platform's daily log; comment: an issue comment (ACC); off"
    )


class LinkIn(LinkSettings):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"connection_id": 3, "project_id": 12, "observation_threshold": 3}]},
    )

    connection_id: int = Field(description="the connection (GET /api/v1/connections) the records go through")
    project_id: int = Field(description="a project of that connection (GET /api/v1/projects)")


class LinkPatch(LinkSettings):
    project_id: int | None = Field(None, description="another project of the same connection")


class LinkOut(BaseModel):
    id: int
    site_id: int
    connection_id: int
    provider: str
    connection_label: str
    project_id: int
    project_name: str
    remote_project_id: str
    enabled: bool
    observation_threshold: int
    push_all: bool
    fold_window_s: int
    summary_time: time
    summary_enabled: bool
    summary_route: str
    tools: dict[str, str | None] = Field(
        description='capability -> null when usable, else why not ("tool not enabled", "no permission", ...)'
    )
    tools_checked_at: datetime | None
    problems: list[str] = Field(description="what keeps records of this link from going out, in plain words")


class ProjectChoice(BaseModel):
    project_id: int
    name: str
    remote_project_id: str
    active: bool
    excluded_reason: str | None


class ConnectionChoice(BaseModel):
    connection_id: int
    provider: str
    label: str
    status: str
    projects: list[ProjectChoice]


# -- field mapping ---------------------------------------------------------------------------
class RemoteValueOut(BaseModel):
    id: str
    label: str


class MappingRow(BaseModel):
    source_key: str
    source_label: str
    default_label: str | None = Field(description="the connector's default, by label")
    remote_value: str | None = Field(description="what the key maps to now (null: nothing is sent)")
    remote_label: str | None
    origin: Literal["edited", "default", "none"]
    missing: bool = Field(description="the edited value was not offered at the last refresh")
    problem: str | None = None


class MappingCategory(BaseModel):
    name: str
    label: str
    fetched_at: datetime | None = Field(description="when the values were last fetched from the platform")
    values: list[RemoteValueOut]
    rows: list[MappingRow]


class MappingOut(BaseModel):
    connection_id: int
    provider: str
    categories: list[MappingCategory]
    missing: int = Field(description="rows whose mapped value is gone upstream")


SourceKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class MappingEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    source_key: SourceKey
    remote_value: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = Field(
        description="one of the category's values (its id); null or empty: back to the default"
    )


class MappingIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        {"category": "observation_type", "source_key": "ppe_violation", "remote_value": "41"}
                    ]
                }
            ]
        },
    )

    entries: list[MappingEntry] = Field(max_length=500)


# -- setup checklist -------------------------------------------------------------------------
class SetupStep(BaseModel):
    key: str
    title: str
    done: bool
    detail: str
    href: str


class SetupOut(BaseModel):
    steps: list[SetupStep]
    done: int
    total: int
