"""Development data: demo accounts and feedback for `make run`, synthetic feedback for
benchmarks. Production code never imports this package."""
