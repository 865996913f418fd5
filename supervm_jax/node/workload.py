"""A deterministic workload of signed transfers (the node job's default input and the bench's).

Keys are derived from the seed (seed_i = SHA-256("supervm:workload:v1" || seed || i)), signed with
`sigverify.ed25519_sign` (device batches; test-grade signing, see there). Every account starts
with `GENESIS_BALANCE`; each block draws `txs_per_block` transfers with random sender, recipient and
amount in [1, 1000] and the sender's next nonce, so they all succeed. The same arguments always give
the same genesis and the same block lines, which is what lets a restarted node skip the blocks it
already committed.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator

from supervm_jax.node.formats import transfer_message
from supervm_jax.sigverify import ed25519_public_keys, ed25519_sign

GENESIS_BALANCE = 10**12


def account_seeds(seed: int, accounts: int) -> list[bytes]:
    prefix = b"supervm:workload:v1" + seed.to_bytes(8, "big", signed=True)
    return [hashlib.sha256(prefix + i.to_bytes(8, "big")).digest() for i in range(accounts)]


def genesis(seed: int, accounts: int) -> tuple[list[bytes], list[bytes], dict[bytes, int]]:
    """(seeds, public keys, genesis accounts)."""
    seeds = account_seeds(seed, accounts)
    pks = ed25519_public_keys(seeds)
    return seeds, pks, {pk: GENESIS_BALANCE for pk in pks}


def blocks(seed: int, seeds: list[bytes], pks: list[bytes], txs_per_block: int, num_blocks: int,
           private_per_block: int = 0) -> Iterator[str]:
    """`num_blocks` JSON block lines of valid signed transfers, each followed by `private_per_block`
    private transfers (witness requests the node proves): while no note is older than the block, a
    deposit of 1..1000 from a random account (its consent signed) into a note of a workload key;
    otherwise, with probability 1/2, a private payment that spends the oldest unspent note into
    two. The generator keeps its own note tree (every transaction succeeds), and draws the note keys,
    blindings and dummies from the seed: reproducible, and therefore test data only."""
    rng = random.Random(seed)
    nonces = [0] * len(pks)
    private = _PrivateWorkload(seed, seeds, pks) if private_per_block else None
    for _ in range(num_blocks):
        rows = []
        for _ in range(txs_per_block):
            s, r = rng.randrange(len(pks)), rng.randrange(len(pks))
            rows.append((s, r, rng.randint(1, 1000), nonces[s]))
            nonces[s] += 1
        msgs = [transfer_message(pks[s], pks[r], amount, nonce) for s, r, amount, nonce in rows]
        sigs = ed25519_sign([seeds[s] for s, *_ in rows], msgs) if rows else []
        txs = [{"type": "transfer", "from": pks[s].hex(), "to": pks[r].hex(), "amount": amount, "nonce": nonce,
                "sig": sig.hex()} for (s, r, amount, nonce), sig in zip(rows, sigs)]
        if private is not None:
            txs.extend(private.block(private_per_block))
        yield json.dumps({"txs": txs})


class _PrivateWorkload:
    """The generator's view of the shielded pool: its note tree and unspent notes (all succeed)."""

    def __init__(self, seed: int, seeds: list[bytes], pks: list[bytes]):
        from supervm_jax.privacy import NoteTree

        self.rng = random.Random(seed ^ 0x5EED)
        self.seeds, self.pks = seeds, pks
        self.tree = NoteTree()
        self.unspent: list = []  # (note, leaf index, key), oldest first
        self.owners: dict = {}  # commitment -> the SpendingKey of the notes it made

    def _key(self):
        from supervm_jax.privacy import SpendingKey
        from supervm_jax.privacy.notes import R

        return SpendingKey(1 + self.rng.randrange(R - 1))

    def block(self, count: int) -> list[dict]:
        from supervm_jax.node.formats import deposit_message
        from supervm_jax.privacy import ExtData, Note, Spend, build_transfer
        from supervm_jax.privacy.notes import R

        rng, requests, consents = self.rng, [], []
        spendable = list(self.unspent)  # notes committed in earlier blocks
        for _ in range(count):
            if spendable and rng.random() < 0.5:
                note, index, key = spendable.pop(0)
                self.unspent.remove((note, index, key))
                part, payee = rng.randint(0, note.amount), self._key()
                outs = [Note(part, payee.public_key, rng.randrange(R)),
                        Note(note.amount - part, key.public_key, rng.randrange(R))]
                self.owners.update({outs[0].commitment: payee, outs[1].commitment: key})
                requests.append((build_transfer(self.tree, [Spend(note, index, key)], outs, rng=rng), None))
            else:
                s, key = rng.randrange(len(self.pks)), self._key()
                note = Note(rng.randint(1, 1000), key.public_key, rng.randrange(R))
                req = build_transfer(self.tree, [], [note], public_amount=note.amount,
                                     ext_data=ExtData(self.pks[s].hex()), rng=rng)
                self.owners[note.commitment] = key
                requests.append((req, s))
        sign = [(self.seeds[s], deposit_message(req.public_signals)) for req, s in requests if s is not None]
        sigs = iter(ed25519_sign([k for k, _ in sign], [m for _, m in sign]) if sign else [])
        txs = []
        for req, s in requests:
            tx = {"type": "private", "witness": {k: _strings(v) for k, v in req.inputs.items()},
                  "account": req.ext_data.account}
            if s is not None:
                tx["sig"] = next(sigs).hex()
            txs.append(tx)
        start = self.tree.append_batch([c for req, _ in requests for c in req.public_signals[5:]])
        for k, (req, _) in enumerate(requests):
            for j, note in enumerate(req.outputs):
                if note.amount:
                    self.unspent.append((note, start + 2 * k + j, self.owners[note.commitment]))
        return txs


def _strings(value):
    return [_strings(v) for v in value] if isinstance(value, list) else str(value)
