"""supervm_jax: a blockchain node's heavy arithmetic on accelerators (JAX) and its branchy
bookkeeping on CPU threads.

Packages: `field` (prime fields), `ntt`, `curve`, `msm`, `hash` / `merkle`, `mvcc` (state store and
Block-STM executor), `pmap` (devices and sharding), `config`, `bench`, `jobs`. Importing this package
imports nothing heavy and changes no JAX configuration.
"""

__version__ = "0.1.0"
