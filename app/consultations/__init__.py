"""Consultations and their items: what visitors read (`services`), administration (`admin`),
seeding from app/content/ (`seeding`), invitations of organisations, and the council's
responses. Pages: `views` (the public pages)."""
