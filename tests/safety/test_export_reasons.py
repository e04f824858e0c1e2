"""Safety kinds in the export log: a refusal carries its plain reason and links to where it is
fixed; a delivered record links to its page in Procore (here the sandbox's own page)."""

from datetime import timedelta

from fieldbridge.connections.outcomes import missing_mapping, refusal
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import create_tenant, sign_in_browser
from tests.procore_fixtures import SANDBOX_URL, ProcoreEnv


def test_refusals_start_with_the_plain_reason() -> None:
    mapped = {"priority": {"remote_value": "Urgent", "remote_label": "Urgent", "missing": False}}
    assert missing_mapping(mapped) is None
    mapped["observation_type"] = {"remote_value": "41", "remote_label": "Housekeeping", "missing": True}
    refused = missing_mapping(mapped)
    assert refused is not None
    assert refused.reason.startswith("mapped value missing: the observation type 'Housekeeping'")
    assert refusal("tool not enabled", "the Observations tool is off").reason == (
        "tool not enabled: the Observations tool is off"
    )


async def test_export_log_links_a_fix_and_the_record_in_procore(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    env = procore_env
    tenant = await create_tenant(db, settings)
    connection_id = await env.connect(tenant)
    missing = missing_mapping(
        {"hazard": {"remote_value": "7", "remote_label": "Electrical", "missing": True}}
    )
    assert missing is not None
    rows = {
        "delivered": ("procore.safety.incident", "incident:1", Status.delivered, None, "5000000777"),
        "rejected": ("procore.safety.observation", "observation:9", Status.rejected, missing.reason, None),
    }
    ids = {}
    async with db.transaction() as session:
        for name, (kind, subject, status, reason, remote_id) in rows.items():
            row = Delivery(
                company_id=tenant.company.id,
                connection_id=connection_id,
                kind=kind,
                subject=subject,
                remote_project_id="5000000030",
                payload={"site_id": 1},
                idempotency_key=f"{subject}:v1",
                status=status,
                reason=reason,
                error_class="rejected" if reason else None,
                remote_id=remote_id,
                expires_at=utcnow() + timedelta(days=3),
            )
            session.add(row)
            await session.flush()
            ids[name] = row.id
    await sign_in_browser(env.client, tenant.admin.email)
    delivered = await env.client.get(f"/export-log/{ids['delivered']}")
    assert f'href="{SANDBOX_URL}/_sandbox/edit/incidents/5000000777"' in delivered.text
    assert "Open in Procore" in delivered.text
    rejected = await env.client.get(f"/export-log/{ids['rejected']}")
    assert "mapped value missing: the hazard" in rejected.text
    assert f'href="/safety/mapping/{connection_id}"' in rejected.text
    assert 'id="record-url"' not in rejected.text
