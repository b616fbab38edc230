"""Applying a lifecycle event: load the account's facts, ask the pure engine, write.

`handle` is the entry the event sources call; `decode` reads the CloudEvent, `load`
turns rows into the engine's facts, `write` turns its decision into rows and `notify`
emits the notifications.
"""
