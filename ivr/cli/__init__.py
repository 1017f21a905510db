"""The `silverline` command line: one group, every job's commands registered here.

The app factory is handed in (`build(create_app)`), the way Flask's own command line takes
`create_app`: nothing under ivr/ imports app.py, which builds the command line as `app.cli`.
"""

from __future__ import annotations

import click

from ivr.cli import (
    agents,
    audit,
    campaigns,
    customers,
    dialects,
    doctor,
    plan,
    privacy,
    script,
    serve,
    sim,
    stats,
    twilio_local,
    twilio_setup,
    users,
)
from ivr.services import AppFactory


def build(create_app: AppFactory) -> click.Group:
    """Return the `silverline` group; commands find `create_app` as the root context's obj."""

    @click.group(context_settings={"obj": create_app})
    def silverline() -> None:
        """Silverline: an IVR and call-routing engine with a green channel for older callers."""

    for command in (
        serve.serve,
        agents.agents,
        customers.customers,
        customers.demo,
        sim.call_command,
        sim.simulate_command,
        twilio_local.twilio_local,
        twilio_setup.twilio,
        plan.plan_command,
        users.users,
        audit.audit_command,
        privacy.privacy,
        stats.stats_command,
        campaigns.campaigns,
        dialects.dialects,
        doctor.doctor,
        script.script_command,
    ):
        silverline.add_command(command)
    return silverline
