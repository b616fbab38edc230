"""Time-ordered UUIDs (version 7), so ids sort by creation and serve as pagination cursors.

Within one millisecond a per-process counter in the 12-bit `rand_a` field keeps ids
increasing, so "the one received last" is also the one with the greatest id.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_millis = 0
_sequence = 0


def new_id() -> uuid.UUID:
    global _last_millis, _sequence
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last_millis:
            _sequence += 1
            if _sequence > 0xFFF:
                _last_millis += 1
                _sequence = 0
            millis = _last_millis
        else:
            _last_millis = millis
            _sequence = 0
        sequence = _sequence
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | sequence << 64 | 0b10 << 62 | rand
    return uuid.UUID(int=value)
