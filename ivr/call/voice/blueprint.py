"""The blueprint the caller's webhooks are routes of, one for all the phase modules.

One blueprint named "voice" keeps every endpoint `voice.<view>` as it was before the flow was
split by phase: the endpoint names are written into spool files (ivr/call/spool.py REPORTS)
and choose the failure answer (ivr/call/webhooks.py), so a report kept before an upgrade is
replayed after it.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("voice", __name__, url_prefix="/voice")
