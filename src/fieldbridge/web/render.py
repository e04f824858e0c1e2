"""Template rendering, CSRF for forms, and the signed-in admin for HTML routes."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from fieldbridge.accounts.auth import SAFE_METHODS, Principal, optional_principal
from fieldbridge.kit.crypto import constant_time_equal
from fieldbridge.kit.errors import FieldBridgeError, Forbidden
from fieldbridge.kit.zones import local_time

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["local_time"] = local_time  # {{ at | local_time(zone) }} → "23:30 MST"


class SignInRequired(FieldBridgeError):
    status_code = 303
    code = "sign_in_required"


def wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "POST"


def render(
    request: Request,
    template: str,
    principal: Principal | None = None,
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


async def web_principal(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal, scope="function")],
) -> Principal:
    """The signed-in admin or support user of an HTML route; sends others to the sign-in page."""
    if principal is None or principal.kind != "user":
        raise SignInRequired("Sign in to continue.", headers={"Location": f"/signin?next={request.url.path}"})
    return principal


WebPrincipal = Annotated[Principal, Depends(web_principal, scope="function")]


async def checked_form(request: Request, principal: Principal) -> dict[str, str]:
    """The posted form, after checking its CSRF token; file fields are left out."""
    form = await request.form()
    if request.method not in SAFE_METHODS:
        sent = form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
        if not isinstance(sent, str) or not constant_time_equal(sent, principal.csrf_token or ""):
            raise Forbidden("This form expired or came from elsewhere. Reload the page and try again.")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def require_web_scope(principal: Principal, scope: str) -> None:
    if not principal.has(scope):
        raise Forbidden("Your role cannot change this; ask an admin.", code="missing_scope")
