"""Applying lifecycle events: load the accounts' facts, ask the pure engine, write.

`batch` is the entry the event sources call: a batch applied set-wise (`rows` reads the
accounts, `state` keeps them in memory as the engine's decisions change them, `bulk`
writes the changes). `handle` applies one event at a time through the ORM (`decode`
reads the CloudEvent, `load` turns rows into the engine's facts, `write` turns its
decision into rows): the path a batch falls back to when its bulk write fails. `notify`
builds the notifications for both.
"""
