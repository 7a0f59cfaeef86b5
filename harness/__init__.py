"""Play the Pulumi engine's part without the Pulumi CLI: the real dynamic-provider plugin process driven over gRPC
(``harness.plugin``), a program run under Pulumi's official mocks (``harness.program``), and the simulated jobs
the policy is tuned and checked against (``harness.simulation``, shared by the benchmarks and the tests).

A neutral development package: the demo (``python -m demo``) and the tests both import it, while the tests never
import ``demo`` (an import rule checked by ``make lint``). It is not installed with the provider.
"""
