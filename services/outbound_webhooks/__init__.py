"""Outbound webhooks (DESIGN §5): notifications fanned out to subscriptions, then
delivered with Standard Webhooks signatures, retries and a delivery log.

- `fanout`: one delivery row per matching subscription, unique on (subscription, event).
- `dispatcher` (embedded: the notifications rows of the outbox) and `kafka_dispatcher`
  (distributed: a consumer group on the notifications topic) feed `fanout`.
- `sender`: claims due deliveries, POSTs them, records the outcome.
- `policy` (retry decisions), `signing` (secrets and headers), `url_guard` (SSRF).
- `runner`: dispatcher and sender side by side, for `renewals dev` and `renewals worker`.
"""
