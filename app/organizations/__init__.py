"""Organisations: members, requests to join, verification and suspension (`services`).
Pages: `views` (an organisation's own page) and `verification_views` (moderators)."""
