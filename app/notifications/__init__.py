"""Notifications: the email outbox (`mail`), written in the caller's transaction and delivered
by a worker with retries."""
