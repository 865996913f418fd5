"""One-off performance experiments behind docs/PERFORMANCE.md and docs/MSM.md (see README.md here).

Not part of the library or its tests; run each from the repository root as
``python -m experiments.NAME``.
"""
