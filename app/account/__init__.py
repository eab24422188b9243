"""The signed-in person's own account: profile, password, email, API tokens, data, deletion."""
