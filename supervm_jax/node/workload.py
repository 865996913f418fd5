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


def blocks(seed: int, seeds: list[bytes], pks: list[bytes], txs_per_block: int, num_blocks: int) -> Iterator[str]:
    """`num_blocks` JSON block lines of valid signed transfers."""
    rng = random.Random(seed)
    nonces = [0] * len(pks)
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
        yield json.dumps({"txs": txs})
