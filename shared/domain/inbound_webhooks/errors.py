"""Why a delivery was refused before anything was read from it or written."""

from __future__ import annotations

from shared.domain.errors import DomainError


class InvalidSignature(DomainError):
    status = 401
    type = "invalid-signature"
    title = "Missing, invalid or stale webhook signature"


class MalformedDelivery(DomainError):
    status = 400
    type = "malformed-delivery"
    title = "The delivery is not in the expected shape"


class WebhookNotConfigured(DomainError):
    """401 rather than 503: an endpoint without a secret is switched off, so no delivery
    can authenticate, and 5xx stays for real server faults (alerts, the fuzz). Nothing is
    lost: HubSpot and Standard Webhooks senders retry 4xx answers too, so deliveries sent
    before the secret is set still arrive once it is."""

    status = 401
    type = "webhook-not-configured"
    title = "This webhook has no secret configured"


class UnknownOrganization(DomainError):
    """A Salesforce Outbound Message from an org not in `RENEWALS_SALESFORCE_ORG_IDS`."""

    status = 401
    type = "unknown-organization"
    title = "The sending Salesforce organization is not configured"
