"""Benchmarks of the waiter's polling policy: ``python -m benchmarks`` (``--no-realtime`` skips the emulator run)."""
