"""Adapters that receive events and status from a live session."""
