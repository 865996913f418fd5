"""Private transfers: a 2-in-2-out join-split circuit over BN254 (circom, circomlib's Poseidon),
notes and a note tree, witnesses computed in process, batch proving, and the `PrivateTransfer`
transaction of `supervm_jax.mvcc`. See docs/PRIVACY.md.
"""
