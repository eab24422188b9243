"""An organisation's own page: members, requests to join, colleague invitations."""
