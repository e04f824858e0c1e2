"""The daily safety summary in ACC: ledger kind `acc.safety.daily_summary`.

ACC has no public Daily Log API. So:
- when the project has a form template of type `pg.template_type.daily_report`, the summary is
  a form of it (`POST form-templates/{id}/forms`: name, date, the text as its description);
  a later version of the same site-day updates that form's description;
- otherwise the link's `summary_route` decides: "comment" posts the text as a comment on the
  project's FieldBridge summaries issue (one Safety issue per site, created when first needed),
  "off" posts nothing, and "native" (the default) is refused with the choice spelled out.

Each write carries the marker `[fieldbridge:<subject>:v<version>]`, so a lost answer is looked up
(the day's forms, the issue's comments) before anything is sent again.
"""

from collections.abc import Hashable, Sequence
from typing import Any

from fieldbridge.connections.connector import Channel, Delivered, DeliveryHandler, DeliveryItem, Result
from fieldbridge.connections.outcomes import Rejected as RejectedOutcome
from fieldbridge.connectors.acc import issues
from fieldbridge.connectors.acc import setup as safety
from fieldbridge.connectors.acc.client import FORMS_LIMIT, collect
from fieldbridge.connectors.acc.provider import FORMS_BASE, ISSUES_BASE

DAILY_REPORT = "pg.template_type.daily_report"
SUMMARIES = "FieldBridge daily safety summaries"
DESCRIPTION_MAX = 8000
NO_TEMPLATE = (
    "This ACC project has no Daily Report form template, and ACC has no Daily Log API. Add a Daily "
    "Report template in ACC (Forms → Templates), or choose where the summary goes on the site's ACC "
    "link: 'comment' (a comment on a FieldBridge summaries issue) or 'off'."
)


def _text(item: DeliveryItem, limit: int) -> str:
    p = item.payload
    tail = f"\n\nOpen in FieldBridge: {p['link']}" if p.get("link") else ""
    tail += f"\n{version_marker(item)}"
    return str(p.get("text") or "").strip()[: limit - len(tail)] + tail


def version_marker(item: DeliveryItem) -> str:
    return issues.marker(f"{item.subject}:v{item.payload.get('version', 1)}")


async def daily_template(get: issues.Getter, project_id: str) -> dict[str, Any] | None:
    templates = await collect(
        lambda p: get(f"{FORMS_BASE}/{project_id}/form-templates", p), limit=FORMS_LIMIT
    )
    for template in templates:
        status = str(template.get("status") or "active").lower()
        if template.get("templateType") == DAILY_REPORT and status == "active":
            return template
    return None


class DailySummary:
    kind = "acc.safety.daily_summary"
    batch_size = 1

    def batch_key(self, item: DeliveryItem) -> Hashable:
        return item.id

    async def deliver(self, channel: Channel, items: Sequence[DeliveryItem]) -> dict[int, Result]:
        (item,) = items
        route = str(item.payload.get("summary_route") or "native")
        if route == "off":
            return {item.id: Delivered(None, {"route": "off"})}
        project_id = issues.project_of(item)
        get = issues.Getter(channel, [item.id])
        template = await daily_template(get, project_id)
        if template is not None:
            return {item.id: await self._form(get, project_id, str(template["id"]), item)}
        if route == "comment":
            return {item.id: await self._comment(get, channel, project_id, item)}
        return {item.id: RejectedOutcome(NO_TEMPLATE)}

    async def _form(
        self, get: issues.Getter, project_id: str, template_id: str, item: DeliveryItem
    ) -> Result:
        day = str(item.payload.get("date"))
        text = _text(item, DESCRIPTION_MAX)
        existing = item.remote_id or item.subject_remote_id
        if item.outcome_unknown:
            forms = await collect(
                lambda p: get(
                    f"{FORMS_BASE}/{project_id}/forms",
                    {**p, "templateId": template_id, "formDateMin": day, "formDateMax": day},
                ),
                limit=FORMS_LIMIT,
            )
            for form in forms:
                if version_marker(item) in str(form.get("description") or ""):
                    return Delivered(str(form["id"]), _form_record(form), found_by_lookup=True)
        if existing is not None:
            form = await get.write(
                "PATCH", f"{FORMS_BASE}/{project_id}/forms/{existing}", {"description": text}
            )
            return Delivered(existing, _form_record(form))
        name = f"Safety summary {day}"[:100]
        form = await get.write(
            "POST",
            f"{FORMS_BASE}/{project_id}/form-templates/{template_id}/forms",
            {"name": name, "formDate": day, "description": text},
        )
        return Delivered(str(form["id"]), _form_record(form))

    async def _comment(
        self, get: issues.Getter, channel: Channel, project_id: str, item: DeliveryItem
    ) -> Result:
        issue_id = await self._summaries_issue(get, channel, project_id, item)
        url = f"{ISSUES_BASE}/{project_id}/issues/{issue_id}/comments"
        if item.outcome_unknown:
            for comment in await collect(lambda p: get(url, p)):
                if version_marker(item) in str(comment.get("body") or ""):
                    return Delivered(
                        str(comment["id"]), _comment_record(comment, issue_id), found_by_lookup=True
                    )
        comment = await get.write("POST", url, {"body": _text(item, DESCRIPTION_MAX)})
        return Delivered(str(comment["id"]), _comment_record(comment, issue_id))

    async def _summaries_issue(
        self, get: issues.Getter, channel: Channel, project_id: str, item: DeliveryItem
    ) -> str:
        """The site's summaries issue: found by its title (`filter[search]`) and marker, else
        created (a lost create is found the same way on the next try)."""
        setup = await safety.cached(get, channel.connection_id, project_id)
        wanted = issues.marker(f"summaries:{item.payload.get('site_id')}")
        url = f"{ISSUES_BASE}/{project_id}/issues"
        found = await collect(
            lambda p: get(url, {**p, "filter[issueSubtypeId]": setup.subtype_id, "filter[search]": SUMMARIES})
        )
        for issue in found:
            if wanted in str(issue.get("description") or ""):
                return str(issue["id"])
        body = {
            "title": SUMMARIES,
            "description": "Daily safety summaries from FieldBridge, one comment per site-day.\n" + wanted,
            "issueSubtypeId": setup.subtype_id,
            "status": setup.status("open"),
            "published": True,
        }
        issue = await get.write("POST", url, body)
        return str(issue["id"])


def _form_record(form: Any) -> dict[str, Any]:
    return {
        "id": form.get("id"),
        "name": form.get("name"),
        "status": form.get("status"),
        "formDate": form.get("formDate"),
        "updated_at": form.get("updatedAt"),
    }


def _comment_record(comment: Any, issue_id: str) -> dict[str, Any]:
    return {"id": comment.get("id"), "issue_id": issue_id, "updated_at": comment.get("updatedAt")}


HANDLERS: tuple[DeliveryHandler, ...] = (DailySummary(),)
