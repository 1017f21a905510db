"""Calls the hotline makes: return-visit campaigns and their progressive dialling."""
