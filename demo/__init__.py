"""The example stack's helpers: the demo runner (`python -m demo`, which drives the plugin through ``harness``) and
the offline downstream resource of the example stack."""
