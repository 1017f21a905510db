"""A benchmark's server: `python -m bench.target silverline|bare PORT REDIS_URL [JSON]`.

Both apps run under gunicorn with `ivr.runtime.server.gunicorn_options` (the production settings:
workers, threads, gthread, preloaded app), bound to 127.0.0.1:PORT. Silverline is open round
the clock here so every call takes the open-hours path whatever the time of day.
"""

from __future__ import annotations

import json
import sys

from bench.bare_app import create_bare_app
from ivr import services
from ivr.runtime.server import _Gunicorn, gunicorn_options
from ivr.settings import load_settings


def overrides(port: int, redis_url: str) -> dict[str, object]:
    return {
        "redis.url": redis_url,
        "server.port": port,
        "server.host": "127.0.0.1",
        "twilio.public_url": f"http://127.0.0.1:{port}",
        "business_hours.open": "00:00",
        "business_hours.close": "00:00",
    }


def main() -> None:
    kind, port, redis_url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    extra = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}  # more setting overrides
    if kind == "silverline":
        from app import create_app  # noqa: PLC0415

        app = create_app(overrides(port, redis_url) | extra)
        settings = services.of(app).engine.settings
        _Gunicorn(app, gunicorn_options(settings, app)).run()
    elif kind == "bare":
        settings = load_settings(overrides(port, redis_url or "redis://unused"))
        _Gunicorn(create_bare_app(), gunicorn_options(settings)).run()
    else:
        raise SystemExit(f"unknown target {kind!r}")


if __name__ == "__main__":
    main()
