"""Template rendering and error pages: the HTML toolkit every module's `web.py` uses. It knows
no domain: who is signed in comes from `accounts.auth` (`WebPrincipal`, `checked_form`)."""

from pathlib import Path
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.kit.zones import local_time

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["local_time"] = local_time  # {{ at | local_time(zone) }} → "23:30 MST"


class Viewer(Protocol):
    """Who a page is rendered for (`accounts.auth.Principal`): its forms carry the CSRF token."""

    @property
    def csrf_token(self) -> str | None: ...


class SignInRequired(FieldBridgeError):
    status_code = 303
    code = "sign_in_required"


def form_problem(exc: ValidationError | FieldBridgeError) -> str:
    """A refused form in one line for the page: the domain's message, or the first field
    Pydantic refused ("fold_window_s: Input should be ...")."""
    if isinstance(exc, FieldBridgeError):
        return exc.message
    first = exc.errors()[0]
    where = ".".join(map(str, first["loc"]))
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "POST"


def render(
    request: Request,
    template: str,
    principal: Viewer | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "csrf_token": principal.csrf_token if principal else None,
            **context,
        },
        status_code=status_code,
    )


def error_page(request: Request, status: int, message: str, headers: dict[str, str] | None) -> Response:
    if status == 303 and headers and "Location" in headers:
        return RedirectResponse(headers["Location"], status_code=303)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "principal": None},
        status_code=status,
        headers=headers,
    )
