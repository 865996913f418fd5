"""The node's authenticated state: per-account leaves in a Merkle tree updated per block, the state
root, block headers, and account proofs a light client can check.

Layout inside the MVCC store (all committed atomically with each block's transfers, through the
executor's ``finalize`` hook):

* ``"<hex>/balance"``, ``"<hex>/nonce"``: the account (`node.transfer`).
* ``"idx/<hex>"``: the account's leaf index, assigned once, in the order accounts first appear
  (genesis sorted by key, then each block's new accounts sorted by key); ``"meta/accounts"``: count.
* ``"block/<h>"``: the header of node height h as canonical JSON (sorted keys) with ``height``,
  ``parent`` (SHA-256 of the parent header's bytes; zeros for genesis), ``state_root``, ``tx_root``
  and ``receipt_root``; ``"chain/head"``: the latest node height. Node height h is store height
  h + 1: genesis (node height 0) is the store's first commit.

Roots (all SHA-256):

* account leaf = H("supervm:account:v1" || pubkey || balance as 16 bytes || nonce as 8 bytes),
  big-endian, at its index in a depth-32 `merkle.UpdatableMerkleTree` (the empty leaf is 32 zero
  bytes); a block re-hashes only the paths of the accounts it touched, on the devices.
* state root = H("supervm:state:v1" || account root || note root || nullifier root). The note root
  is the private transfers' note-tree root (`privacy.NoteTree`, Poseidon, 32 bytes big-endian; 32
  zero bytes while the tree is empty) and the nullifier root the pool's SHA-256 chain over spent
  nullifiers (`privacy.ShieldedPool.nullifier_root`; zeros before the first spend).
* tx root / receipt root: `merkle.MerkleTree` roots over H(canonical JSON of each transaction) and
  H(each receipt line); 32 zero bytes for an empty block.

The tree is rebuilt from the store's leaves when a node opens an existing state, so a restart
reaches the same roots as a run that never stopped.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np

from supervm_jax.merkle import MerkleTree, UpdatableMerkleTree, sha256_root_on_host
from supervm_jax.mvcc import balance_key, nonce_key
from supervm_jax.node.formats import hex_rows
from supervm_jax.pmap import mesh_platform

ACCOUNT_DEPTH = 32
ACCOUNT_TAG = b"supervm:account:v1"
STATE_TAG = b"supervm:state:v1"
ZERO = bytes(32)
COUNT_KEY, HEAD_KEY = "meta/accounts", "chain/head"


def index_key(account_hex: str) -> str:
    return f"idx/{account_hex}"


def header_key(height: int) -> str:
    return f"block/{height}"


def account_id(account: str) -> bytes:
    """The 32 bytes an account's leaf commits to: its public key, or for a named system account
    (the private pool's `privacy.POOL_ACCOUNT`) SHA-256 of its name."""
    if len(account) == 64:
        try:
            return bytes.fromhex(account)
        except ValueError:
            pass
    return hashlib.sha256(account.encode()).digest()


def account_leaf(pubkey: bytes, balance: int, nonce: int) -> bytes:
    return hashlib.sha256(ACCOUNT_TAG + pubkey + balance.to_bytes(16, "big") + nonce.to_bytes(8, "big")).digest()


def account_leaves(accounts: Sequence[str], balances: Sequence[int], nonces: Sequence[int]) -> list[bytes]:
    """`account_leaf(account_id(a), b, n)` of each account name, balance and nonce (ints >= 0), as
    one (n, 74) array of the hashed bytes where every id is a public key and every value fits in 64
    bits (a block's accounts), else one by one."""
    n = len(accounts)
    ids = hex_rows(list(accounts), 32)  # None unless every name is a public key
    if ids is None or (n and (max(balances) >= 1 << 64 or max(nonces) >= 1 << 64)):
        return [account_leaf(account_id(a), b, v) for a, b, v in zip(accounts, balances, nonces)]
    tag = len(ACCOUNT_TAG)
    rows = np.zeros((n, tag + 56), np.uint8)
    rows[:, :tag] = np.frombuffer(ACCOUNT_TAG, np.uint8)
    rows[:, tag:tag + 32] = ids
    rows[:, tag + 40:tag + 48] = np.array(balances, np.uint64).astype(">u8").view(np.uint8).reshape(n, 8)
    rows[:, tag + 48:] = np.array(nonces, np.uint64).astype(">u8").view(np.uint8).reshape(n, 8)
    data, width = rows.tobytes(), rows.shape[1]
    return list(map(_digest, map(hashlib.sha256, (data[i:i + width] for i in range(0, len(data), width)))))


def state_root(account_root: bytes, note_root: bytes = ZERO, nullifier_root: bytes = ZERO) -> bytes:
    return hashlib.sha256(STATE_TAG + account_root + note_root + nullifier_root).digest()


def merkle_root(leaves: Sequence[bytes], mesh=None) -> bytes:
    """SHA-256 Merkle root of 32-byte leaves (`merkle.MerkleTree`); zeros for none. On a CPU mesh
    (or without a mesh on the CPU backend) with hashlib (`merkle.sha256_root_on_host`, the same
    root): at a block's size that beats the XLA:CPU kernel."""
    if not leaves:
        return ZERO
    if mesh_platform(mesh) == "cpu":
        return sha256_root_on_host(leaves)
    return MerkleTree(list(leaves), "sha256", mesh=mesh).root


def header_bytes(header: Mapping[str, Any]) -> bytes:
    """Canonical JSON (sorted keys, no spaces) of a header or a transaction."""
    if type(header) is dict and header.keys() == _TRANSFER_KEYS:  # a signed transfer: 5x faster
        fast = _transfer_bytes(header)
        if fast is not None:
            return fast
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


_TRANSFER_KEYS = {"type", "from", "to", "amount", "nonce", "sig"}


_TRANSFER_JSON = '{"amount":%d,"from":"%s","nonce":%d,"sig":"%s","to":"%s","type":"transfer"}'
_TRANSFER_FIELDS = ("amount", "from", "nonce", "sig", "to")  # the template's order


def _transfer_bytes(tx: dict) -> bytes | None:
    """`header_bytes` of a transfer object whose strings need no escaping (ASCII letters and digits)
    and whose numbers are plain ints; None for any other (the general encoder takes it)."""
    kind, sender, recipient, sig, amount, nonce = (tx["type"], tx["from"], tx["to"], tx["sig"], tx["amount"],
                                                    tx["nonce"])
    if not (type(amount) is int and type(nonce) is int and kind == "transfer"):
        return None
    for text in (sender, recipient, sig):
        if type(text) is not str or not (text.isascii() and text.isalnum()):
            return None
    return (_TRANSFER_JSON % (amount, sender, nonce, sig, recipient)).encode()


def transfer_hashes(txs: list[dict]) -> list[bytes]:
    """`tx_hash` of each transfer object of a block that `formats.transfer_columns` accepted (exactly
    the six keys, hex strings, int amounts and nonces: canonical JSON by one template, no checks)."""
    texts = map(_TRANSFER_JSON.__mod__, zip(*(list(map(dict.get, txs, repeat(k))) for k in _TRANSFER_FIELDS)))
    return list(map(_digest, map(hashlib.sha256, map(str.encode, texts))))


_digest = operator.methodcaller("digest")


def tx_hash(tx_json: Any) -> bytes:
    """SHA-256 of a transaction's canonical JSON: the tx-root leaf (computed while decoding)."""
    return hashlib.sha256(header_bytes(tx_json)).digest()


class AccountState:
    """The account tree of one store, kept in step with its committed state.

    `finalize(height, tx_hashes, receipt_lines, writes)` computes the block's extra writes (new leaf
    indices, header, head) and updates the tree; the caller commits them atomically with `writes`.
    """

    def __init__(self, store, mesh=None, *, note_root: bytes = ZERO, nullifier_root: bytes = ZERO):
        self.store = store
        self.note_root, self.nullifier_root = note_root, nullifier_root
        self.mesh = mesh
        self.tree = UpdatableMerkleTree(ACCOUNT_DEPTH, "sha256", mesh=mesh)
        indices, leaves = [], []
        with store.snapshot() as snap:
            for key, index in snap.scan(prefix="idx/"):
                account = key[4:]
                indices.append(index)
                leaves.append(account_leaf(account_id(account), snap.get(balance_key(account)) or 0,
                                           snap.get(nonce_key(account)) or 0))
            head = snap.get(HEAD_KEY)
            self.height = -1 if head is None else head
            self.header = None if head is None else json.loads(snap.get(header_key(head)))
        if indices:
            self.tree.update(indices, leaves)
        if self.header is not None and self.header["state_root"] != self.state_root.hex():
            raise RuntimeError(f"state at node height {self.height}: rebuilt root {self.state_root.hex()} does not "
                               f"match the committed header's {self.header['state_root']}")

    @property
    def state_root(self) -> bytes:
        return state_root(self.tree.root, self.note_root, self.nullifier_root)

    def finalize(self, height: int, tx_hashes: Sequence[bytes], receipt_lines: Sequence[str],
                 writes: Mapping[str, Any], *, note_root: bytes | None = None,
                 nullifier_root: bytes | None = None) -> dict[str, Any]:
        """Extra writes of node block `height`: leaf indices of new accounts, the header, the head.
        note_root, nullifier_root: the private pool's roots after the block (default: unchanged)."""
        if note_root is not None:
            self.note_root = note_root
        if nullifier_root is not None:
            self.nullifier_root = nullifier_root
        if height != self.height + 1:
            raise RuntimeError(f"block {height} finalized on top of node height {self.height}")
        touched = sorted({key.rsplit("/", 1)[0] for key in writes if key.endswith(("/balance", "/nonce"))})
        extra: dict[str, Any] = {}
        balance_keys, nonce_keys = list(map(balance_key, touched)), list(map(nonce_key, touched))
        unwritten = [key for key in balance_keys + nonce_keys if key not in writes]
        with self.store.snapshot() as snap:  # one snapshot, one batch read per kind of key
            stored_count = snap.get(COUNT_KEY) or 0
            known = snap.get_many(list(map(index_key, touched)))
            before = dict(zip(unwritten, snap.get_many(unwritten)))
        values = {**before, **writes}
        count = stored_count
        indices = []
        for account, index in zip(touched, known):
            if index is None:
                index, count = count, count + 1
                extra[index_key(account)] = index
            indices.append(index)
        leaves = account_leaves(touched, [values[k] or 0 for k in balance_keys], [values[k] or 0 for k in nonce_keys])
        if count != stored_count:
            extra[COUNT_KEY] = count
        if indices:
            self.tree.update(indices, leaves)
        parent = hashlib.sha256(header_bytes(self.header)).hexdigest() if self.header else ZERO.hex()
        header = {
            "height": height,
            "parent": parent,
            "state_root": self.state_root.hex(),
            "tx_root": merkle_root(tx_hashes, self.mesh).hex(),
            "receipt_root": merkle_root([hashlib.sha256(line.encode()).digest() for line in receipt_lines],
                                        self.mesh).hex(),
        }
        extra[header_key(height)] = header_bytes(header).decode()
        extra[HEAD_KEY] = height
        self.height, self.header = height, header
        return extra

    def account_proof(self, pubkey: bytes) -> dict[str, Any] | None:
        """Proof of an account's (balance, nonce) under the current state root, or None if the
        account has never been touched. Check it with `verify_account_proof`."""
        account = pubkey.hex()
        index = self.store.get(index_key(account))
        if index is None:
            return None
        proof = self.tree.proof(index)
        return {"pubkey": account, "index": index, "balance": self.store.get(balance_key(account)) or 0,
                "nonce": self.store.get(nonce_key(account)) or 0, "account_root": self.tree.root.hex(),
                "note_root": self.note_root.hex(), "nullifier_root": self.nullifier_root.hex(), "path": proof}


def verify_account_proof(root: bytes, proof: Mapping[str, Any]) -> bool:
    """True when `proof` (from `AccountState.account_proof`) shows its (pubkey, balance, nonce) under
    the state root `root`. Pure host code (hashlib): what a light client runs."""
    try:
        leaf = account_leaf(bytes.fromhex(proof["pubkey"]), int(proof["balance"]), int(proof["nonce"]))
        account_root = bytes.fromhex(proof["account_root"])
        if state_root(account_root, bytes.fromhex(proof["note_root"]), bytes.fromhex(proof["nullifier_root"])) != root:
            return False
        return UpdatableMerkleTree.verify(account_root, int(proof["index"]), leaf, proof["path"], hash="sha256")
    except (KeyError, TypeError, ValueError, OverflowError):
        return False
