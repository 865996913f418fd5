"""Spending keys and notes of the shielded pool (the values the join-split circuit recomputes).

All values are elements of the BN254 scalar field Fr (ints in [0, r)); Poseidon is circomlib's
(`supervm_jax.hash.poseidon_hash`, on device):

    public key  = Poseidon(spending key)
    commitment  = Poseidon(amount, public key, blinding)
    signature   = Poseidon(spending key, commitment, leaf index)
    nullifier   = Poseidon(commitment, leaf index, signature)

A note is spent by revealing its nullifier, which only the key's holder can compute and which is
the same for every spend of the note at that leaf: the pool refuses a nullifier it has seen.
Secrets (spending keys, blindings) come from `secrets`.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence

from supervm_jax.hash import poseidon_hash

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617  # BN254 Fr
AMOUNT_BITS = 64  # every note amount is < 2^64 (range-checked by the circuit)


def _field(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < R:
        raise ValueError(f"{what} must be an int in [0, r) (BN254 Fr), got {value!r}")
    return value


class SpendingKey:
    """A secret in [1, r). `generate()` draws one from `secrets`; `public_key` is Poseidon(secret)."""


    def __init__(self, secret: int):
        if _field(secret, "SpendingKey secret") == 0:
            raise ValueError("SpendingKey secret must be nonzero")
        self.secret = secret

    @classmethod
    def generate(cls) -> "SpendingKey":
        return cls(1 + secrets.randbelow(R - 1))

    @functools.cached_property
    def public_key(self) -> int:
        return poseidon_hash([[self.secret]])[0]

    def __repr__(self) -> str:  # never print the secret
        return f"SpendingKey(public_key={self.public_key:#x})"


class Note:
    """A shielded note: `amount` (int in [0, 2^64)) owned by the public key `owner`, hidden by
    `blinding` (default: fresh from `secrets`). Immutable; `commitment` is computed once."""


    def __init__(self, amount: int, owner: int, blinding: int | None = None):
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount < 1 << AMOUNT_BITS:
            raise ValueError(f"Note amount must be an int in [0, 2^{AMOUNT_BITS}), got {amount!r}")
        self.amount = amount
        self.owner = _field(owner, "Note owner (a public key)")
        self.blinding = secrets.randbelow(R) if blinding is None else _field(blinding, "Note blinding")

    @functools.cached_property
    def commitment(self) -> int:
        return commitments([self])[0]

    def nullifier(self, key: SpendingKey, index: int) -> int:
        """The nullifier of this note at leaf `index` under `key` (the owner's key for a spend)."""
        return nullifiers([(self, key, index)])[0]

    def __repr__(self) -> str:
        return f"Note(amount={self.amount}, owner={self.owner:#x})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Note) and (self.amount, self.owner, self.blinding) == (other.amount, other.owner,
                                                                                        other.blinding)

    def __hash__(self) -> int:
        return hash((self.amount, self.owner, self.blinding))


def commitments(notes: Sequence[Note]) -> list[int]:
    """The commitments of many notes in one device call."""
    return poseidon_hash([[n.amount, n.owner, n.blinding] for n in notes]) if notes else []


def nullifiers(spends: Sequence[tuple[Note, SpendingKey, int]]) -> list[int]:
    """Nullifiers of (note, key, leaf index) triples, in two device calls."""
    if not spends:
        return []
    for i, (_, _, index) in enumerate(spends):
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"nullifiers: spend {i} has leaf index {index!r}, expected an int >= 0")
    cms = commitments([note for note, _, _ in spends])
    sigs = poseidon_hash([[key.secret, cm, index] for (_, key, index), cm in zip(spends, cms)])
    return poseidon_hash([[cm, index, sig] for (_, _, index), cm, sig in zip(spends, cms, sigs)])
