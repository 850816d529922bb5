"""Flagging rule data: reviewable YAML lexicons, platforms and rules, read via importlib.resources."""
