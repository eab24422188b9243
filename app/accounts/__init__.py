"""Accounts: people, their passwords and sessions, registration, recovery, roles and profiles.

Services: `sessions` (signing in), `services` (registration, recovery, colleague invitations),
`profile`, `roles`, `permissions` (the role check every service uses), `passwords` and
`link_tokens`. Pages: `auth_views` (signing in and out, registration, recovery) and
`profile_views` (the signed-in person's own account)."""
