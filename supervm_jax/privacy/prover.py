"""Proving and verifying private transfers in batch.

    prover = TransferProver()                       # INSECURE test key, generated once and cached
    prover = TransferProver("transfer_final.zkey")  # a real ceremony key for circuits/transfer.r1cs
    txs = prover.prove([build_transfer(...), ...])  # [PrivateTransfer]
    ok = verify_transfers(prover.verification_key, txs)   # marks tx.proof_verified, numpy bool

Witnesses are computed in process from `circuits/transfer.wasm` (`WitnessCalculator`, a thread
pool), checked against `circuits/transfer.r1cs`, then proved by one `Groth16Prover.prove_batch`.

The INSECURE test key: without a key path, `insecure_test_key()` runs the project's INSECURE
setup (`groth16.setup.insecure_setup`: toxic waste that is public) once and caches the key as
`transfer_INSECURE_<r1cs digest>.zkey` under ~/.cache/supervm_jax/privacy (SUPERVM_PRIVACY_CACHE).
Anyone can forge proofs under it: it is for tests, benchmarks and demos only, and the log says so.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from supervm_jax.privacy.notes import R
from supervm_jax.privacy.transaction import PrivateTransfer
from supervm_jax.privacy.transfer import TransferRequest
from supervm_jax.privacy.witness import WitnessCalculator, WitnessError

CIRCUIT_DIR = Path(__file__).parent / "circuits"
WASM_PATH = CIRCUIT_DIR / "transfer.wasm"
R1CS_PATH = CIRCUIT_DIR / "transfer.r1cs"
_log = logging.getLogger(__name__)


def _cache_dir() -> Path:
    return Path(os.environ.get("SUPERVM_PRIVACY_CACHE") or Path.home() / ".cache" / "supervm_jax" / "privacy")


def insecure_test_key(cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of the INSECURE test proving key of the transfer circuit, made on first use (about a
    minute on 2 cores; a line is logged before) and cached, keyed by the circuit's .r1cs digest."""
    from supervm_jax.groth16.setup import insecure_setup
    from supervm_jax.groth16.zkey import write_zkey

    digest = hashlib.sha256(R1CS_PATH.read_bytes()).hexdigest()[:16]
    out = Path(cache_dir or _cache_dir()) / f"transfer_INSECURE_{digest}.zkey"
    if out.exists():
        _log.warning("privacy: using the INSECURE test key %s (public toxic waste: anyone can forge proofs)", out)
        return out
    _log.warning("privacy: generating the INSECURE test key for the transfer circuit (once, cached at %s)...", out)
    start = time.perf_counter()
    zkey = insecure_setup(R1CS_PATH)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".zkey", dir=out.parent)
    os.close(fd)
    try:
        write_zkey(tmp, zkey)
        os.replace(tmp, out)  # atomic: concurrent processes never read a partial key
    finally:
        Path(tmp).unlink(missing_ok=True)
    _log.warning("privacy: INSECURE test key written in %.1f s", time.perf_counter() - start)
    return out


class TransferProver:
    """Proves transfer requests in batch. zkey: a `.zkey` path, bytes or `ZKey` of
    circuits/transfer.r1cs; None: the cached INSECURE test key (`insecure`: True). mesh, precompute:
    as `Groth16Prover`. max_workers: threads for the witnesses (default: os.cpu_count())."""

    def __init__(self, zkey: Any = None, *, mesh=None, precompute: bool = False, max_workers: int | None = None):
        from supervm_jax.groth16 import Groth16Prover

        self.insecure = zkey is None
        self.witness_calculator = WitnessCalculator(WASM_PATH)
        self.prover = Groth16Prover(insecure_test_key() if zkey is None else zkey, r1cs=R1CS_PATH, mesh=mesh,
                                    precompute=precompute)
        self.max_workers = max_workers

    @property
    def verification_key(self) -> dict:
        """The key's snarkjs verification_key.json object."""
        return self.prover.zkey.verification_key()

    def prove(self, requests: Sequence[TransferRequest], *, skip_invalid: bool = False) -> list:
        """One `PrivateTransfer` per request (witnesses on a thread pool, then one proof batch).
        A request the circuit rejects raises the witness calculator's WitnessError naming it, or with
        skip_invalid=True gets None in its place (a node proving other people's requests)."""
        requests = list(requests)
        if not requests:
            return []
        calc = self.witness_calculator
        if skip_invalid:
            witnesses = [_witness_or_none(calc, r.inputs) for r in requests]
        else:
            witnesses = calc.calculate_batch([r.inputs for r in requests], max_workers=self.max_workers)
        good = [i for i, w in enumerate(witnesses) if w is not None]
        out: list = [None] * len(requests)
        for i, (proof, public) in zip(good, self.prover.prove_batch([witnesses[i] for i in good])):
            req = requests[i]
            if [int(s) for s in public] != [int(s) % R for s in req.public_signals]:
                raise RuntimeError(f"TransferProver: request {i}: the proof's public signals differ from the request's")
            out[i] = PrivateTransfer(proof, public, req.ext_data)
        return out


def _witness_or_none(calc: WitnessCalculator, inputs: dict):
    try:
        return calc.calculate(inputs)
    except WitnessError:
        return None


def verify_transfers(vk: Any, txs: Sequence[PrivateTransfer]) -> np.ndarray:
    """Verifies the transfers' proofs in one `groth16.verify_batch` call, sets each
    `tx.proof_verified`, and returns the (n,) numpy bool result."""
    from supervm_jax.groth16 import verify_batch

    txs = list(txs)
    ok = verify_batch(vk, [t.proof for t in txs], [[str(s) for s in t.public_signals] for t in txs])
    for tx, good in zip(txs, ok):
        tx.proof_verified = bool(good)
    return ok
