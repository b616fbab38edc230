"""The pure renewal engine: no I/O, no clock; "now" is always an argument. Standard
library and `shared.rules` only (checked by tests/test_layers.py)."""
