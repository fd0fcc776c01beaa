"""Conversations: who owns one (bound on its first verified turn)."""
