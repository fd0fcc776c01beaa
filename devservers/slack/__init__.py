"""A local stand-in for the Slack Web API, and a Slack user to play (see __main__.py)."""
