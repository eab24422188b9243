"""The domain services: transactions, permission checks and state transitions."""
