"""Private transfers through the node: witness requests proved in batch and proof-carrying
transactions, with PyNaCl-signed deposit consents, next to signed transfers. Every receipt is the
expected one (deposit, bad consent signature, malformed, private payment, double spend in a block,
invalid proof, withdrawal, replay across blocks); parallel equals serial; a node reopened on the same
durable state rebuilds the note tree and reaches the same roots; account proofs cover the pool."""

import copy
import json

import nacl.signing
import pytest

from supervm_jax.mvcc import MVCCStore
from supervm_jax.node import Node, transfer_message, verify_account_proof
from supervm_jax.node.formats import deposit_message
from supervm_jax.privacy import (
    ExtData,
    Note,
    NoteTree,
    Spend,
    SpendingKey,
    TransferProver,
    build_transfer,
)

KEYS = [nacl.signing.SigningKey(bytes([i + 40]) * 32) for i in range(2)]
PKS = [bytes(k.verify_key) for k in KEYS]
A, B = PKS[0].hex(), PKS[1].hex()
GENESIS = {PKS[0]: 1000, PKS[1]: 500}


def _str(v):
    return [_str(x) for x in v] if isinstance(v, list) else str(v)


def _request(req, *, sign_with=None):
    tx = {"type": "private", "witness": {k: _str(v) for k, v in req.inputs.items()}, "account": req.ext_data.account}
    if sign_with is not None:
        tx["sig"] = sign_with.sign(deposit_message(req.public_signals)).signature.hex()
    return tx


def _proved(ptx):
    return {"type": "private", "proof": ptx.proof, "public_signals": [str(v) for v in ptx.public_signals],
            "account": ptx.ext_data.account}


@pytest.fixture(scope="module")
def prover():
    return TransferProver()


@pytest.fixture(scope="module")
def scenario(prover):
    """Three block lines and the expected receipt reasons (None = success)."""
    alice, bob = SpendingKey(11), SpendingKey(12)
    tree = NoteTree()  # mirrors the node's note tree: the outputs of the successful private transfers
    n1 = Note(100, alice.public_key, 5)
    dep_a = build_transfer(tree, [], [n1], public_amount=100, ext_data=ExtData(A))
    dep_b = build_transfer(tree, [], [Note(50, bob.public_key, 6)], public_amount=50, ext_data=ExtData(B))
    bad_hash = _request(dep_b, sign_with=KEYS[1])
    bad_hash["witness"]["ext_data_hash"] = "7"
    msg = transfer_message(PKS[0], PKS[1], 10, 0)
    block1 = [_request(dep_a, sign_with=KEYS[0]), _request(dep_b, sign_with=KEYS[0]),  # B's deposit signed by A
              {"type": "transfer", "from": A, "to": B, "amount": 10, "nonce": 0, "sig": KEYS[0].sign(msg).signature.hex()},
              bad_hash]
    tree.append_batch(dep_a.public_signals[5:])

    to_bob, change = Note(60, bob.public_key, 7), Note(40, alice.public_key, 8)
    pay_req = build_transfer(tree, [Spend(n1, 0, alice)], [to_bob, change])
    double_req = build_transfer(tree, [Spend(n1, 0, alice)], [Note(100, alice.public_key, 9)])
    (pay,) = prover.prove([pay_req])
    forged = _proved(pay)
    forged["proof"] = copy.deepcopy(pay.proof)
    forged["proof"]["pi_a"], forged["proof"]["pi_c"] = pay.proof["pi_c"], pay.proof["pi_a"]
    block2 = [_proved(pay), _request(double_req), forged]
    tree.append_batch(pay.public_signals[5:])

    withdraw = build_transfer(tree, [Spend(to_bob, 2, bob)], [], public_amount=-60, ext_data=ExtData(B))
    block3 = [_request(withdraw), _proved(pay)]
    lines = [json.dumps({"txs": b}) for b in (block1, block2, block3)]
    want = [[None, "BadSignature", None, "Malformed"], [None, "NullifierSpent", "InvalidProof"], [None, "NullifierSpent"]]
    return lines, want


def _run(tmp_path, name, lines, *, serial, restart_after=None, prover=None):
    path = str(tmp_path / f"{name}.db")
    results = []
    store = MVCCStore(8, path=path)
    node = Node(store, serial=serial, num_workers=2, prover=prover)
    node.init_genesis(GENESIS)
    for k, line in enumerate(lines):
        if restart_after is not None and k == restart_after:
            node.close()
            store.close()
            store = MVCCStore(8, path=path)
            node = Node(store, serial=serial, num_workers=2, prover=prover)
            node.init_genesis(GENESIS)
        results.extend(node.run([line]))
    dump = node.dump()
    proof = node.account_proof(PKS[0])
    node.close()
    store.close()
    return results, dump, proof


def test_private_transfers_through_the_node(scenario, prover, tmp_path):
    lines, want = scenario
    runs = {"serial": _run(tmp_path, "serial", lines, serial=True, prover=prover),
            "parallel": _run(tmp_path, "parallel", lines, serial=False, prover=prover),
            "restarted": _run(tmp_path, "restarted", lines, serial=False, restart_after=2, prover=prover)}
    results, dump, proof = runs["serial"]
    got = [[json.loads(line)["reason"] for line in r.receipts] for r in results]
    assert got == want
    assert dump["accounts"][A]["balance"] == 1000 - 100 - 10 and dump["accounts"][B]["balance"] == 500 + 10 + 60
    assert dump["shielded"]["pool_balance"] == 40 and dump["shielded"]["notes"] == 6
    for name in ("parallel", "restarted"):
        other_results, other_dump, _ = runs[name]
        assert [r.receipts for r in other_results] == [r.receipts for r in results], name
        assert [r.state_root for r in other_results] == [r.state_root for r in results], name
        assert other_dump == dump, name
    root = bytes.fromhex(dump["state_root"])
    assert verify_account_proof(root, proof)
    assert proof["note_root"] == dump["shielded"]["note_root"] != "00" * 32
    tampered = dict(proof, nullifier_root="11" * 32)
    assert not verify_account_proof(root, tampered)


def test_generated_workload_with_private_transfers(prover):
    """`node.workload` with private transfers (what `make demo` runs): deposits, then payments of
    earlier notes; every transaction succeeds, and the same seed gives the same lines."""
    from supervm_jax.node import workload

    seeds, pks, genesis = workload.genesis(3, 4)
    lines = list(workload.blocks(3, seeds, pks, 3, 3, private_per_block=2))
    assert lines == list(workload.blocks(3, seeds, pks, 3, 3, private_per_block=2))
    kinds = [[t["type"] for t in json.loads(line)["txs"]] for line in lines]
    assert kinds == [["transfer"] * 3 + ["private"] * 2] * 3
    with MVCCStore(8) as store, Node(store, serial=True, prover=prover) as node:
        node.init_genesis(genesis)
        results = list(node.run(lines))
        assert all(r.n_ok == r.n_txs == 5 for r in results), [r.receipts for r in results]
        assert node.dump()["shielded"]["notes"] == 12
