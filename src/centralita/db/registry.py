"""Import every model module so that ``Base.metadata`` knows every table."""

from __future__ import annotations

from centralita.access import models as access_models
from centralita.audit import models as audit_models
from centralita.campaigns import models as campaigns_models
from centralita.channels import models as channels_models
from centralita.contacts import models as contacts_models
from centralita.conversations import models as conversations_models
from centralita.db.base import Base
from centralita.events import models as events_models
from centralita.idempotency import models as idempotency_models
from centralita.privacy import models as privacy_models
from centralita.receptionist import models as receptionist_models
from centralita.routing import models as routing_models
from centralita.scheduling import models as scheduling_models
from centralita.spam import models as spam_models
from centralita.staff_messages import models as staff_messages_models
from centralita.surveys import models as surveys_models
from centralita.tenants import models as tenants_models
from centralita.webhooks import models as webhooks_models

MODEL_MODULES = (
    tenants_models,
    access_models,
    audit_models,
    channels_models,
    contacts_models,
    conversations_models,
    events_models,
    staff_messages_models,
    scheduling_models,
    spam_models,
    receptionist_models,
    routing_models,
    surveys_models,
    campaigns_models,
    webhooks_models,
    idempotency_models,
    privacy_models,
)
metadata = Base.metadata
