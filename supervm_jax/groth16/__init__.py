"""Groth16 proofs for circom circuits from snarkjs files, on device.

    from supervm_jax.groth16 import Groth16Prover, verify, write_json
    prover = Groth16Prover("circuit_final.zkey", r1cs="circuit.r1cs")
    proof, public = prover.prove("witness.wtns")
    write_json("proof.json", proof); write_json("public.json", public)
    verify("verification_key.json", proof, public)                # True
    verify_batch("verification_key.json", [proof], [public])      # numpy bool, one per proof

Modules: `binfile` (the iden3 container), `wtns`, `r1cs`, `zkey` (readers and writers),
`proof_json` (snarkjs JSON), `qap` (device quotient), `prover`, `verifier` (single and batch
verification on device), `curves` (snarkjs's curve conventions), `pyecc` (host group tail, the
tests' py_ecc oracle), `setup` (an INSECURE test-only key generator).
"""

from supervm_jax.groth16.binfile import SnarkjsFileError
from supervm_jax.groth16.curves import BLS12381, BN128, PairingCurve
from supervm_jax.groth16.proof_json import ProofFormatError, parse_proof, parse_public, parse_verification_key, write_json
from supervm_jax.groth16.prover import Groth16Prover, UnsatisfiedWitnessError, prove, prove_batch
from supervm_jax.groth16.r1cs import R1CS, read_r1cs, write_r1cs
from supervm_jax.groth16.verifier import verify, verify_batch
from supervm_jax.groth16.wtns import Witness, read_wtns, write_wtns
from supervm_jax.groth16.zkey import ZKey, read_zkey, write_zkey

__all__ = [
    "BLS12381", "BN128", "Groth16Prover", "PairingCurve", "ProofFormatError", "R1CS", "SnarkjsFileError",
    "UnsatisfiedWitnessError", "Witness", "ZKey", "parse_proof", "parse_public", "parse_verification_key", "prove",
    "prove_batch", "read_r1cs", "read_wtns", "read_zkey", "verify", "verify_batch", "write_json", "write_r1cs", "write_wtns",
    "write_zkey",
]
