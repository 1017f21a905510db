"""Every blueprint the app serves, registered in one place."""

from __future__ import annotations

from flask import Flask

from ivr.call import audio, fallback, open_line, visits, voice
from ivr.call.voice import conference
from ivr.web import (
    agent_console,
    api,
    audit,
    campaigns,
    floor,
    health,
    metrics,
    pages,
    softphone,
    supervisor,
    team,
)


def register(app: Flask) -> None:
    app.register_blueprint(health.bp)
    app.register_blueprint(audio.bp)
    app.register_blueprint(fallback.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(conference.bp)
    app.register_blueprint(open_line.bp)
    app.register_blueprint(visits.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(supervisor.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(agent_console.bp)
    app.register_blueprint(softphone.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(floor.bp)
    app.register_blueprint(team.bp)
    app.register_blueprint(campaigns.bp)
