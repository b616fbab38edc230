"""Outbound webhooks (DESIGN §5): notifications fanned out to subscriptions, then
delivered with Standard Webhooks signatures, retries and a delivery log.

- `fanout`: one delivery row per matching subscription, unique on (subscription, event).
- `dispatcher` (embedded: the notifications rows of the outbox) and `kafka_dispatcher`
  (distributed: a consumer group on the notifications topic) feed `fanout`; `base` is
  what both dispatchers share.
- `sender`: claims due deliveries, POSTs them, records the outcome.
- `policy` (retry decisions); signing and the SSRF guard live with the subscriptions
  (`shared.domain.webhook_subscriptions`).
- `runner`: dispatcher and sender side by side, for `renewals dev` and `renewals worker`.
"""
