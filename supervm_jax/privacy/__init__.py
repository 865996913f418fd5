"""Private transfers: a 2-in-2-out join-split circuit over BN254 (circom, circomlib's Poseidon),
notes and a note tree, witnesses computed in process, batch proving, and the `PrivateTransfer`
transaction of `supervm_jax.mvcc`. See docs/PRIVACY.md.

    from supervm_jax.privacy import (SpendingKey, Note, NoteTree, Spend, ExtData, build_transfer,
                                     TransferProver, verify_transfers, PrivateTransfer, ShieldedPool)
"""

from supervm_jax.privacy.notes import Note, SpendingKey, commitments, nullifiers
from supervm_jax.privacy.prover import (
    TransferProver,
    insecure_test_key,
    verify_transfers,
)
from supervm_jax.privacy.transaction import (
    POOL_ACCOUNT,
    DepositNotAuthorized,
    NullifierSpent,
    PrivateTransfer,
    PrivateTransferOutput,
    ProofNotVerified,
    ShieldedPool,
    UnknownRoot,
    nullifier_key,
    root_key,
)
from supervm_jax.privacy.transfer import (
    PUBLIC_SIGNALS,
    ExtData,
    Spend,
    TransferRequest,
    build_transfer,
)
from supervm_jax.privacy.tree import NoteTree
from supervm_jax.privacy.witness import WitnessCalculator, WitnessError

__all__ = [
    "DepositNotAuthorized", "ExtData", "Note", "NoteTree", "NullifierSpent", "POOL_ACCOUNT", "PUBLIC_SIGNALS",
    "PrivateTransfer", "PrivateTransferOutput", "ProofNotVerified", "ShieldedPool", "Spend", "SpendingKey",
    "TransferProver", "TransferRequest", "UnknownRoot", "WitnessCalculator", "WitnessError", "build_transfer",
    "commitments", "insecure_test_key", "nullifier_key", "nullifiers", "root_key", "verify_transfers",
]
