"""Backups that restore: the PostgreSQL database and every attachment file (docs/backups.md)."""
