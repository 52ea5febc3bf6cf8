"""Where a party wants its notices (docs/notifications.md): its own webhooks, and nobody else's.

Every party but the auditor registers and removes its own (the auditor writes nothing through
the service; the operator registers an auditor's webhook with ``escrow webhooks add --party
auditor``). A party lists only its own; another party's webhook is the same ``404`` as one that
does not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from escrow.api import access, models
from escrow.api.context import PartyDep, ServiceDep
from escrow.api.parties import Role
from escrow.api.routes_acts import _PROBLEMS, KeyHeader
from escrow.api.writes import Outcome, write
from escrow.notify.webhooks import Webhook, add_webhook, list_webhooks, remove_webhook

router = APIRouter()
WRITERS = frozenset(Role) - {Role.AUDITOR}


class WebhookOut(BaseModel):
    id: str
    party: str = Field(description="role or role:subject: whose notices it gets.")
    url: str
    created_at: str


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The HMAC-SHA256 key the deliveries are signed with: shown in this answer."
    )


def _json(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "party": hook.party,
        "url": hook.url,
        "created_at": hook.created_at.isoformat(),
    }


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses={k: _PROBLEMS[k] for k in (400, 401, 403, 422)},
    tags=["webhooks"],
)
async def add(
    body: models.WebhookIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    """Register a URL for the party's notices (reminders, missed deadlines, deemed agreements,
    held releases): each is POSTed to it, signed, at least once."""
    access.require(party, WRITERS, "register a webhook")

    def run(_: str) -> Outcome:
        hook, secret = add_webhook(
            service.ledger.store, party.key, body.url, secret=body.secret, now=service.clock.now()
        )
        return 201, _json(hook) | {"secret": secret}

    return await write(request, service, party, key, body, run)


@router.get(
    "/webhooks",
    response_model=list[WebhookOut],
    responses={k: _PROBLEMS[k] for k in (401,)},
    tags=["webhooks"],
)
def list_own(service: ServiceDep, party: PartyDep) -> list[dict[str, Any]]:
    """The party's own webhooks (never their secrets)."""
    with service.lock:
        return [_json(hook) for hook in list_webhooks(service.ledger.store, party.key)]


@router.delete(
    "/webhooks/{webhook}",
    status_code=204,
    responses={k: _PROBLEMS[k] for k in (400, 401, 403, 404)},
    tags=["webhooks"],
)
async def remove(
    webhook: str,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    """Remove one of the party's webhooks: it gets nothing more."""
    access.require(party, WRITERS, "remove a webhook")

    def run(_: str) -> Outcome:
        remove_webhook(service.ledger.store, webhook, party=party.key, now=service.clock.now())
        return 204, {}

    return await write(request, service, party, key, None, run)
