"""Side-by-side benchmarks: `python -m supervm_jax.bench SUITE [--n=2**10,2**20] [--repeats=5]`.

Each suite is a module `supervm_jax.bench.<suite>` exposing `DEFAULT_SIZES` (list of int) and
`run(sizes) -> Iterator[dict]`; every yielded record becomes one JSON line on stdout with the fields
`suite, case, n, backend, devices, ours_s, peer, peer_s, speedup, compile_s` (see `harness.Record`).
Human-readable progress goes to stderr.
"""

SUITES = ("field", "ntt", "mvcc", "hash", "merkle", "msm", "groth16", "sigverify", "node", "verify", "privacy", "multihost")
