"""Every table of FieldBridge, imported in one place so Alembic and tests see the whole schema."""

from fieldbridge.accounts import models as accounts_models
from fieldbridge.connections import models as connections_models
from fieldbridge.delivery import models as delivery_models
from fieldbridge.inbound import models as inbound_models
from fieldbridge.incidents import models as incidents_models
from fieldbridge.jobs import models as jobs_models
from fieldbridge.kit.db import Base
from fieldbridge.safety import models as safety_models
from fieldbridge.sites import models as sites_models
from fieldbridge.timekeeping import models as timekeeping_models
from fieldbridge.webhooks import models as webhooks_models

__all__ = [
    "Base",
    "accounts_models",
    "connections_models",
    "delivery_models",
    "inbound_models",
    "incidents_models",
    "jobs_models",
    "safety_models",
    "sites_models",
    "timekeeping_models",
    "webhooks_models",
]
