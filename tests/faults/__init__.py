"""Fault injection: real processes (workers, beat, gunicorn, Redis, PostgreSQL, SMTP) broken on
purpose; each test counts what was acknowledged and what is stored."""
