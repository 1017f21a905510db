"""Every blueprint the app serves, registered in one place."""

from __future__ import annotations

from flask import Flask

from ivr import health


def register(app: Flask) -> None:
    app.register_blueprint(health.bp)
