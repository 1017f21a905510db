"""Estimated wait: how long a waiting caller will probably wait from now.

Two figures per queue are kept as running averages in the routing script, Asterisk-style
((3 * old + new) / 4): the wait of recently answered callers, and the handle time of recent
calls (talk plus wrap-up). With `staffed` agents who can take the queue, one of them frees up
about every handle / staffed seconds, so the caller at `position` is reached after about
position * handle / staffed seconds. That figure reacts at once to agents signing in or out;
the recent answered wait says how the queue really behaved. The estimate is their mean when
both are known, the one that is known otherwise, and a default handle time before any call.
"""

from __future__ import annotations

import math

DEFAULT_HANDLE_S = 180  # a typical insurance-hotline call with wrap-up, until one is measured


def estimate(position: int, staffed: int, handle_ms: int, answered_wait_ms: int) -> int:
    """Seconds the caller at `position` (1 = next) is expected to wait from now."""
    if position <= 0:
        return 0
    handle_s = handle_ms / 1000 if handle_ms > 0 else DEFAULT_HANDLE_S
    recent_s = answered_wait_ms / 1000
    if staffed <= 0:
        # nobody who can take the queue is signed in: only history can say anything
        return math.ceil(recent_s) if recent_s > 0 else math.ceil(position * handle_s)
    by_rate = position * handle_s / staffed
    if recent_s <= 0:
        return math.ceil(by_rate)
    return math.ceil((by_rate + recent_s) / 2)
