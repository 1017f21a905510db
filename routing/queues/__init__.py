"""The call through the hotline: menu, hours and complaints, the queues, agents and routing."""
