"""The example stack's helpers: the demo runner (`python -m demo`), a test harness that plays the Pulumi engine
against the real dynamic-provider plugin, and the offline downstream resource of the example stack."""
