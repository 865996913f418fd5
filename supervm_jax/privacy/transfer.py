"""`build_transfer`: the witness input of one join-split (2 notes in, 2 notes out) and its public signals.

    tree = NoteTree()
    req = build_transfer(tree, spends=[Spend(note, index, key)], outputs=[Note(3, bob), Note(2, me)],
                         public_amount=0, ext_data=ExtData(""))
    req.inputs          # the circuit's input.json (dict of signal name -> int or list of ints)
    req.public_signals  # [root, public_amount mod r, ext_data_hash, nullifier 0, 1, commitment 0, 1]

Fewer than two spends or outputs are padded with zero-amount dummy notes under fresh random keys.
The circuit skips the Merkle check of a zero-amount input, so such a spend needs no leaf (its path
is all zeros); its leaf index still enters its nullifier. `public_amount` is the transparent
value entering the pool (a deposit, > 0) or leaving it (a withdrawal, < 0); it travels as
public_amount mod r. `ext_data` names the transparent account that pays the deposit or receives the
withdrawal; its hash is a public signal, so a proof cannot be replayed for another account.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import NamedTuple

from supervm_jax.privacy.notes import Note, R, SpendingKey, commitments, nullifiers
from supervm_jax.privacy.tree import NoteTree

N_INS = N_OUTS = 2
PUBLIC_SIGNALS = ("root", "public_amount", "ext_data_hash", "input_nullifier[0]", "input_nullifier[1]",
                  "output_commitment[0]", "output_commitment[1]")  # snarkjs's order (declaration order)


class ExtData(NamedTuple):
    """Public data bound into the proof. account: the transparent account (mvcc account name) that
    pays a deposit or receives a withdrawal ("" when public_amount is 0)."""

    account: str = ""

    def hash(self) -> int:
        """SHA-256 of b"supervm:ext_data:v1" + account (UTF-8), big-endian, mod r."""
        if type(self.account) is not str:
            raise TypeError(f"ExtData.account must be a str, got {type(self.account).__name__}")
        digest = hashlib.sha256(b"supervm:ext_data:v1" + self.account.encode()).digest()
        return int.from_bytes(digest, "big") % R


class Spend(NamedTuple):
    """An input: `note` at leaf `index` of the tree, spent with `key` (which must own it)."""

    note: Note
    index: int
    key: SpendingKey


class TransferRequest(NamedTuple):
    """What `build_transfer` returns: the circuit input, the public signals it will prove (ints, in
    `PUBLIC_SIGNALS` order), the external data and the two output notes (for their recipients)."""

    inputs: dict
    public_signals: list
    ext_data: ExtData
    outputs: tuple


def field_amount(public_amount: int) -> int:
    """A signed public amount as the field element the circuit sees."""
    if isinstance(public_amount, bool) or not isinstance(public_amount, int) or abs(public_amount) >= 1 << 64:
        raise ValueError(f"public_amount must be an int with |x| < 2^64, got {public_amount!r}")
    return public_amount % R


def build_transfer(tree: NoteTree, spends: Sequence[Spend], outputs: Sequence[Note], *, public_amount: int = 0,
                   ext_data: ExtData = ExtData(), rng: random.Random | None = None) -> TransferRequest:
    """The witness input for spending up to two notes of `tree` into up to two new notes.

    rng: draw the dummy notes' keys and blindings from this generator instead of `secrets`: only for
    reproducible test workloads (whoever knows the seed knows the dummies).

    Raises ValueError (naming the spend or output) when: more than two spends or outputs; a spend's
    key does not own its note, or (nonzero amount) its leaf does not hold the note's commitment;
    one note spent twice at one leaf; sum(inputs) + public_amount != sum(outputs); the tree's depth is not the circuit's 20."""
    spends, outputs = list(spends), list(outputs)
    amount = field_amount(public_amount)
    if len(spends) > N_INS or len(outputs) > N_OUTS:
        raise ValueError(f"build_transfer: at most {N_INS} spends and {N_OUTS} outputs, got {len(spends)} and {len(outputs)}")
    if tree.depth != 20:
        raise ValueError(f"build_transfer: the circuit proves membership at depth 20, the tree has depth {tree.depth}")
    for i, s in enumerate(spends):
        if not isinstance(s, Spend):
            raise ValueError(f"build_transfer: spend {i} is {type(s).__name__}, expected Spend(note, index, key)")
        if s.note.owner != s.key.public_key:
            raise ValueError(f"build_transfer: spend {i}: the key does not own the note")
        if not isinstance(s.index, int) or s.index < 0 or s.index >= tree.capacity:
            raise ValueError(f"build_transfer: spend {i}: leaf index {s.index!r} is not in [0, 2^{tree.depth})")
        if s.note.amount and (s.index >= tree.n_leaves or tree.leaves[s.index] != s.note.commitment):
            raise ValueError(f"build_transfer: spend {i}: leaf {s.index} does not hold the note's commitment")
    if len({(s.note.commitment, s.index) for s in spends}) != len(spends):
        raise ValueError("build_transfer: the same note is spent twice at one leaf (equal nullifiers)")
    for j, note in enumerate(outputs):
        if not isinstance(note, Note):
            raise ValueError(f"build_transfer: output {j} is {type(note).__name__}, expected a Note")
    value_in, value_out = sum(s.note.amount for s in spends), sum(n.amount for n in outputs)
    if value_in + public_amount != value_out:
        raise ValueError(f"build_transfer: inputs {value_in} + public_amount {public_amount} != outputs {value_out}")

    real = [k for k, s in enumerate(spends) if s.note.amount]
    found = dict(zip(real, tree.paths([spends[k].index for k in real]))) if real else {}
    paths = [list(found[k].siblings) if k in found else [0] * tree.depth for k in range(len(spends))]
    def dummy() -> tuple[SpendingKey, Note]:
        if rng is None:
            key = SpendingKey.generate()
            return key, Note(0, key.public_key)
        key = SpendingKey(1 + rng.randrange(R - 1))
        return key, Note(0, key.public_key, rng.randrange(R))

    while len(spends) < N_INS:  # zero-amount dummies: no Merkle check in the circuit
        key, note = dummy()
        spends.append(Spend(note, 0, key))
        paths.append([0] * tree.depth)
    outputs = outputs + [dummy()[1] for _ in range(N_OUTS - len(outputs))]

    nfs = nullifiers([(s.note, s.key, s.index) for s in spends])
    cms = commitments(outputs)
    data_hash = ext_data.hash()
    root = tree.root
    inputs = {
        "root": root,
        "public_amount": amount,
        "ext_data_hash": data_hash,
        "input_nullifier": nfs,
        "output_commitment": cms,
        "in_amount": [s.note.amount for s in spends],
        "in_private_key": [s.key.secret for s in spends],
        "in_blinding": [s.note.blinding for s in spends],
        "in_path_index": [s.index for s in spends],
        "in_path_elements": paths,
        "out_amount": [n.amount for n in outputs],
        "out_public_key": [n.owner for n in outputs],
        "out_blinding": [n.blinding for n in outputs],
    }
    return TransferRequest(inputs, [root, amount, data_hash, *nfs, *cms], ext_data, tuple(outputs))
