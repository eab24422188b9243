"""What the tests share: test modules import these modules, never one another."""
