"""Silverline's routing engine: who is calling, who answers them, what it counted; no web code.

Built as one `Engine(redis, clock, settings)` (engine.py) and the same under the web app, the
command line, the simulator and a test. Each package imports only those listed below it
(tests/architecture/test_imports.py, ROUTING_LAYERS):

    engine, demo, migrate, team_report  the engine put together, and what runs over all of it
    governance/   personal data, the audit trail, users and their sessions
    reporting/    figures per queue and per agent read from the statistics, and the alerts
    outbound/     return-visit campaigns and their progressive dialling
    queues/       the call's rules (menu, hours, complaints) and routing: router, the routing
                  script, agents, estimated wait, call-backs, wrap-up, statistics events
    callers/      who is calling: numbers, resident IDs, the customer directory and its import
    clock, exceptions, keys, scripts, settings, store   what every package shares
    lua/          the Lua scripts, read by scripts.py
"""
