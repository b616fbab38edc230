"""Inbound webhooks: signed changes a CRM pushes (`/v1/webhooks/{source}`, DESIGN §5)."""
