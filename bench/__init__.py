"""The HTTP benchmark: seeding, the floor app, and the runner (see docs/benchmarks.md)."""
