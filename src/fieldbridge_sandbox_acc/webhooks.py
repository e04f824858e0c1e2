"""APS webhooks for ACC issues: events are queued per hook and POSTed to the callback URL.

Each callback is signed when a secret token is set (per hook with PATCH `token`, or for all of
a user's or app's hooks with `/webhooks/v1/tokens`): `x-adsk-signature: sha1hash=<hex>` where
`<hex>` is the HMAC-SHA1 of the exact body bytes under the token, as APS documents ("How to
Verify Payload Signature"). `x-adsk-delivery-id` is a fresh id per attempt. A 2xx within the
timeout (6 s) is success; failures are retried with backoff, and after the give-up window the
hook turns `inactive` (APS disables a hook whose last retry fails).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import uuid
from typing import Any

from fieldbridge_sandbox.webhooks import HookKey, HookQueues
from fieldbridge_sandbox_acc.state import AccState
from fieldbridge_sandbox_acc.store import Record

ISSUES_SYSTEM = "autodesk.construction.issues"
ISSUE_EVENTS = (
    "issue.created-1.0",
    "issue.updated-1.0",
    "issue.deleted-1.0",
    "issue.restored-1.0",
    "issue.unlinked-1.0",
    "comment.created-1.0",
)
PAYLOAD_FIELDS = (
    "id",
    "displayId",
    "title",
    "description",
    "status",
    "issueTypeId",
    "issueSubtypeId",
    "assignedTo",
    "assignedToType",
    "dueDate",
    "startDate",
    "locationId",
    "locationDetails",
    "published",
    "customAttributes",
    "createdBy",
    "createdAt",
    "updatedBy",
    "updatedAt",
    "closedBy",
    "closedAt",
    "deleted",
    "deletedBy",
    "deletedAt",
)


def sign(secret: str, body: bytes) -> str:
    return "sha1hash=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def hook_details(hook: Record) -> dict[str, Any]:
    """HookDetails as webhooks.yaml names its fields (the secret token is never shown)."""
    out = {k: v for k, v in hook.items() if not k.startswith("_") and v is not None}
    if "callbackWithEventPayloadOnly" in out:  # a string in HookDetails, a boolean in HookPayload
        out["callbackWithEventPayloadOnly"] = str(bool(out["callbackWithEventPayloadOnly"])).lower()
    out["__self__"] = f"/systems/{hook['system']}/events/{hook['event']}/hooks/{hook['hookId']}"
    return out


class AccWebhooks(HookQueues):
    def __init__(self, state: AccState) -> None:
        super().__init__(state.config)
        self.state = state

    def hook(self, key: HookKey) -> Record | None:
        hook = self.state.store.get("hooks", str(key))
        return hook if hook is not None and hook["status"] != "inactive" else None

    def discarded(self, hook: Record, event: Record) -> None:
        hook["status"] = "inactive"  # APS disables a hook whose last retry failed
        self._record(hook, event, "discarded", None, None, b"")

    # -- events ---------------------------------------------------------------------------
    def issue_event(
        self, event_type: str, issue: Record, actor_id: str, changed: list[dict[str, Any]]
    ) -> int:
        payload: dict[str, Any] = {k: issue.get(k) for k in PAYLOAD_FIELDS if issue.get(k) is not None}
        payload["containerId"] = payload["projectId"] = issue["containerId"]
        payload["actorId"] = actor_id
        if event_type == "issue.updated-1.0":
            payload["changedAttributes"] = changed
        return self._emit(event_type, issue["containerId"], f"urn:adsk.acc:issue:{issue['id']}", payload)

    def comment_event(self, issue: Record, comment: Record, actor_id: str) -> int:
        payload = {
            "id": comment["id"],
            "issueId": issue["id"],
            "body": comment["body"],
            "createdBy": comment["createdBy"],
            "createdAt": comment["createdAt"],
            "containerId": issue["containerId"],
            "projectId": issue["containerId"],
            "actorId": actor_id,
        }
        urn = f"urn:adsk.acc:issue-comment:{comment['id']}"
        return self._emit("comment.created-1.0", issue["containerId"], urn, payload)

    def _emit(self, event_type: str, project_id: str, urn: str, payload: dict[str, Any]) -> int:
        matched = 0
        for hook in list(self.state.store.rows("hooks")):
            if (
                hook["system"] == ISSUES_SYSTEM
                and hook["status"] != "inactive"
                and hook["_project_id"] == project_id
                and fnmatch.fnmatchcase(event_type, hook["event"])
            ):
                matched += 1
                event = {"event": event_type, "resourceUrn": urn, "payload": payload}
                self._enqueue(hook["hookId"], event)
        return matched

    # -- delivery ---------------------------------------------------------------------------
    def body(self, hook: Record, event: Record) -> dict[str, Any]:
        if hook.get("callbackWithEventPayloadOnly") is True:
            return {"version": "1.0", "resourceUrn": event["resourceUrn"], "payload": event["payload"]}
        details = hook_details(hook)
        details["event"] = event["event"]
        return {
            "version": "1.0",
            "resourceUrn": event["resourceUrn"],
            "hook": details,
            "payload": event["payload"],
        }

    def secret(self, hook: Record) -> str | None:
        own: str | None = hook.get("_token")
        return own or self.state.store.hook_secrets.get(hook["createdBy"])

    async def attempt(self, hook: Record, event: Record, *, retried: bool) -> bool:
        content = json.dumps(self.body(hook, event)).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "APS-Webhooks-Sandbox",
            "x-adsk-delivery-id": str(uuid.uuid4()),
        }
        secret = self.secret(hook)
        if secret:
            headers["x-adsk-signature"] = sign(secret, content)
        try:
            response = await self.post(hook["callbackUrl"], content, headers)
        except Exception as exc:  # any transport failure counts as a failed attempt
            self._record(hook, event, "failed", None, f"{type(exc).__name__}: {exc}", content)
            return False
        ok = 200 <= response.status_code < 300
        self._record(
            hook, event, ("retried" if retried else "ok") if ok else "failed", response, None, content
        )
        return ok

    def _record(
        self,
        hook: Record,
        event: Record,
        outcome: str,
        response: Any,
        error: str | None,
        content: bytes,
    ) -> None:
        store = self.state.store
        store.insert(
            "deliveries",
            {
                "id": store.new_uuid(),
                "hookId": hook["hookId"],
                "event": event["event"],
                "resourceUrn": event["resourceUrn"],
                "outcome": outcome,
                "responseStatus": None if response is None else response.status_code,
                "error": error,
                "body": content.decode() if content else None,
                "at": store.now_iso(),
            },
        )
