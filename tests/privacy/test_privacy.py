"""Private transfers (`supervm_jax.privacy`) against independent references and end to end.

  - Notes, nullifiers, public keys, the note tree's root and Merkle paths equal what
    tools/privacy/make_input.js computes with circomlibjs's Poseidon (a sparse tree of its own), for
    its three cases (deposit with dummy inputs, transfer, withdraw at leaf 5).
  - Our witness is byte-identical to `snarkjs wtns calculate`; every bad variant of make_input.js
    (inflation, wrong Merkle path, equal nullifiers, an amount >= 2^64, a negative output, a key
    that does not own the note) is refused by the witness calculator.
  - `build_transfer` refuses bad requests with errors naming them.
  - `PrivateTransfer.execute` fails with its named reason (unverified proof, unknown root, spent
    nullifier, unauthorized deposit, insufficient funds) on hand-made transfers.
  - End to end with real proofs (the INSECURE test key): deposits, a private transfer, a
    withdrawal, a double spend inside a block and a replay in a later block, mixed with plain
    transfers; the parallel executor's receipts and state equal the serial executor's; snarkjs
    accepts our proof.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from supervm_jax.mvcc import (
    MVCCStore,
    ParallelExecutor,
    SerialExecutor,
    Transfer,
    balance_key,
)
from supervm_jax.privacy.notes import Note, R, SpendingKey
from supervm_jax.privacy.transaction import (
    POOL_ACCOUNT,
    PrivateTransfer,
    ShieldedPool,
    nullifier_key,
    root_key,
)
from supervm_jax.privacy.transfer import ExtData, Spend, build_transfer
from supervm_jax.privacy.tree import NoteTree

ROOT = Path(__file__).resolve().parents[2]
MAKE_INPUT = ROOT / "tools" / "privacy" / "make_input.js"
SNARKJS = ROOT / "tools" / "groth16_fixtures" / "node_modules" / "snarkjs" / "build" / "cli.cjs"
BAD_VARIANTS = ("inflation", "merkle_path", "same_nullifier", "range", "negative_output", "wrong_key")
KEY_A, KEY_B, KEY_C = SpendingKey(1001), SpendingKey(2002), SpendingKey(3003)


def _need_node() -> None:
    if shutil.which("node") and SNARKJS.exists():
        return
    if os.environ.get("SUPERVM_REQUIRE_NODE") == "1":
        pytest.fail("SUPERVM_REQUIRE_NODE=1 but node or snarkjs is missing (npm ci --prefix tools/groth16_fixtures)")
    pytest.skip("node / circomlibjs not installed (npm ci --prefix tools/groth16_fixtures)")


def _make_input(case: str, *flags: str) -> dict:
    _need_node()
    out = subprocess.run(["node", str(MAKE_INPUT), case, *flags], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _ints(value):
    return [_ints(v) for v in value] if isinstance(value, list) else int(value)


def _our_case(case: str):
    """make_input.js's case built with our library: (request, tree)."""
    tree = NoteTree()
    if case == "deposit":
        spends = [Spend(Note(0, KEY_A.public_key, 11), 0, KEY_A), Spend(Note(0, KEY_A.public_key, 12), 0, KEY_A)]
        outs, amount = [Note(3, KEY_B.public_key, 21), Note(4, KEY_A.public_key, 22)], 7
    elif case == "transfer":
        n0, n1 = Note(5, KEY_A.public_key, 13), Note(6, KEY_A.public_key, 14)
        tree.append_batch([n0.commitment, n1.commitment])
        spends = [Spend(n0, 0, KEY_A), Spend(n1, 1, KEY_A)]
        outs, amount = [Note(10, KEY_B.public_key, 23), Note(1, KEY_A.public_key, 24)], 0
    else:
        n0 = Note(9, KEY_A.public_key, 15)
        tree.append_batch([0, 0, 0, 0, 0, n0.commitment])
        spends = [Spend(n0, 5, KEY_A), Spend(Note(0, KEY_A.public_key, 16), 0, KEY_A)]
        outs, amount = [Note(5, KEY_A.public_key, 25), Note(0, KEY_C.public_key, 26)], -4
    return build_transfer(tree, spends, outs, public_amount=amount, ext_data=ExtData("acct")), tree


@pytest.mark.parametrize("case", ["deposit", "transfer", "withdraw"])
def test_notes_tree_and_paths_equal_circomlibjs(case):
    want = _make_input(case)
    req, _ = _our_case(case)
    for name, value in want.items():
        if name != "ext_data_hash":  # make_input.js uses a Poseidon stand-in; ours is ExtData.hash
            assert _ints(req.inputs[name]) == _ints(value), name
    public = [int(v) for v in _make_input(case, "--public")]
    assert req.public_signals[:2] == public[:2] and req.public_signals[3:] == public[3:]


def test_build_transfer_refuses_bad_requests():
    note = Note(5, KEY_A.public_key, 1)
    tree = NoteTree()
    tree.append_batch([note.commitment])
    outs = [Note(5, KEY_B.public_key)]
    with pytest.raises(ValueError, match="spend 0: the key does not own the note"):
        build_transfer(tree, [Spend(note, 0, KEY_B)], outs)
    with pytest.raises(ValueError, match="spend 0: leaf 1 does not hold"):
        build_transfer(tree, [Spend(note, 1, KEY_A)], outs)
    with pytest.raises(ValueError, match=r"inputs 5 \+ public_amount 0 != outputs 6"):
        build_transfer(tree, [Spend(note, 0, KEY_A)], [Note(6, KEY_B.public_key)])
    with pytest.raises(ValueError, match="the same note is spent twice"):
        build_transfer(tree, [Spend(note, 0, KEY_A)] * 2, [Note(10, KEY_B.public_key)])
    with pytest.raises(ValueError, match="at most 2 spends"):
        build_transfer(tree, [Spend(note, 0, KEY_A)] * 3, outs)
    with pytest.raises(ValueError, match="public_amount must be an int"):
        build_transfer(tree, [], [Note(5, KEY_B.public_key)], public_amount=1 << 64)
    with pytest.raises(ValueError, match="Note amount must be an int in"):
        Note(1 << 64, KEY_A.public_key)
    with pytest.raises(ValueError, match="nonzero"):
        SpendingKey(0)


@pytest.fixture(scope="module")
def calculator():
    from supervm_jax.privacy.prover import WASM_PATH
    from supervm_jax.privacy.witness import WitnessCalculator

    return WitnessCalculator(WASM_PATH)


def test_witness_equals_snarkjs(calculator, tmp_path):
    req, _ = _our_case("transfer")
    _need_node()
    (tmp_path / "input.json").write_text(json.dumps({k: _str(v) for k, v in req.inputs.items()}))
    from supervm_jax.privacy.prover import WASM_PATH

    out = subprocess.run(["node", str(SNARKJS), "wtns", "calculate", str(WASM_PATH), str(tmp_path / "input.json"),
                          str(tmp_path / "w.wtns")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert calculator.calculate_wtns(req.inputs) == (tmp_path / "w.wtns").read_bytes()


def _str(value):
    return [_str(v) for v in value] if isinstance(value, list) else str(value)


@pytest.mark.parametrize("bad", BAD_VARIANTS)
def test_circuit_refuses_bad_witnesses(calculator, bad):
    from supervm_jax.privacy.witness import WitnessError

    case = "deposit" if bad in ("inflation", "range", "negative_output") else "transfer"
    good = _make_input(case)
    calculator.calculate(good)  # the unmodified case is accepted
    with pytest.raises(WitnessError):
        calculator.calculate(_make_input(case, f"--bad={bad}"))


# -- execution semantics on hand-made transfers (no proving) -------------------------------------------

def _fake(root: int, nullifiers=(11, 12), amount: int = 0, account: str = "", verified: bool = True) -> PrivateTransfer:
    tx = PrivateTransfer({}, [root, amount % R, ExtData(account).hash(), *nullifiers, 21, 22], ExtData(account))
    tx.proof_verified = verified
    return tx


def test_execute_reasons():
    pool = ShieldedPool(NoteTree(depth=4))
    root = pool.tree.root
    with MVCCStore(8) as store:
        store.commit({**pool.genesis_writes(), balance_key("alice"): 10, nullifier_key(99): 1})
        deposit = _fake(root, (1, 2), 8, "alice")
        deposit.deposit_authorized = True
        unauthorized = _fake(root, (3, 4), 1, "alice")
        too_big = _fake(root, (6, 7), 3, "alice")
        too_big.deposit_authorized = True
        block = [_fake(root, verified=False), _fake(root + 1), _fake(root, (99, 5)), deposit, unauthorized,
                 too_big, _fake(root, (8, 9), -9, "bob"), _fake(root, (1, 10))]
        receipts = SerialExecutor(store).execute_block(block, finalize=pool.finalize)
        reasons = [r.reason.split(":")[0] if r.reason else None for r in receipts]
        assert reasons == ["ProofNotVerified", "UnknownRoot", "NullifierSpent", None, "DepositNotAuthorized",
                           "InsufficientFunds", "InsufficientFunds", "NullifierSpent"]
        assert store.get(balance_key("alice")) == 2 and store.get(balance_key(POOL_ACCOUNT)) == 8
        assert store.get(nullifier_key(1)) == 1 and store.get(nullifier_key(3)) is None
        assert pool.tree.n_leaves == 2 and store.get(root_key(pool.tree.root)) == 1  # the deposit's outputs
        reloaded = ShieldedPool.load(store, depth=4)  # what a restarted node rebuilds
        assert (reloaded.tree.root, reloaded.recent, reloaded.nullifier_root) == (pool.tree.root, pool.recent,
                                                                                 pool.nullifier_root)
        assert pool.nullifier_root != bytes(32) and len(pool.recent) == 2
    with pytest.raises(ValueError, match="ext_data does not match"):
        PrivateTransfer({}, [root, 0, ExtData("a").hash(), 1, 2, 3, 4], ExtData("b"))
    with pytest.raises(ValueError, match="public signal 3 .*input_nullifier"):
        PrivateTransfer({}, [root, 0, ExtData().hash(), R, 2, 3, 4])


# -- end to end with real proofs ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prover():
    from supervm_jax.privacy.prover import TransferProver

    return TransferProver()


def _run_block(kind: str, store, pool, txs):
    if kind == "serial":
        return SerialExecutor(store).execute_block(txs, finalize=pool.finalize)
    with ParallelExecutor(store, 2, sequential_below=0) as executor:
        return executor.execute_block(txs, finalize=pool.finalize)


def test_deposit_transfer_withdraw_double_spend_parallel_equals_serial(prover, tmp_path):
    from supervm_jax.privacy.prover import verify_transfers

    alice, bob = SpendingKey.generate(), SpendingKey.generate()
    genesis = {balance_key("alice"): 100, balance_key("bob"): 50}
    worlds = {}
    for kind in ("serial", "parallel"):
        pool = ShieldedPool()
        store = MVCCStore(8)
        store.commit({**pool.genesis_writes(), **genesis})
        worlds[kind] = (store, pool)
    tree = worlds["serial"][1].tree  # both pools' trees hold the same leaves throughout

    # Block 1: two deposits (alice 30, bob 20) and a plain transfer.
    a1, b1 = Note(30, alice.public_key), Note(20, bob.public_key)
    deposits = prover.prove([build_transfer(tree, [], [a1], public_amount=30, ext_data=ExtData("alice")),
                             build_transfer(tree, [], [b1], public_amount=20, ext_data=ExtData("bob"))])
    assert verify_transfers(prover.verification_key, deposits).all()
    for tx in deposits:
        tx.deposit_authorized = True
    block1 = [deposits[0], Transfer("alice", "carol", 5), deposits[1]]
    receipts = {k: _run_block(k, *worlds[k], block1) for k in worlds}
    assert [r.success for r in receipts["serial"]] == [True, True, True]

    # Block 2: alice pays bob 12 privately (change 18); bob withdraws his 20; a second spend of a1
    # in the same block fails; a plain transfer in between.
    a1_index, b1_index = tree.leaves.index(a1.commitment), tree.leaves.index(b1.commitment)
    to_bob, change = Note(12, bob.public_key), Note(18, alice.public_key)
    requests = [build_transfer(tree, [Spend(a1, a1_index, alice)], [to_bob, change]),
                build_transfer(tree, [Spend(b1, b1_index, bob)], [], public_amount=-20, ext_data=ExtData("bob")),
                build_transfer(tree, [Spend(a1, a1_index, alice)], [Note(30, alice.public_key)])]
    pay, withdraw = prover.prove(requests[:2])  # batches of 2 and 1 only: one program set each
    (double,) = prover.prove(requests[2:])
    assert verify_transfers(prover.verification_key, [pay, withdraw, double]).all()
    block2 = [pay, Transfer("bob", "alice", 1), withdraw, double]
    receipts = {k: _run_block(k, *worlds[k], block2) for k in worlds}
    assert [r.success for r in receipts["serial"]] == [True, True, True, False]
    assert receipts["serial"][3].reason.startswith("NullifierSpent")

    # Block 3: the replay of block 2's payment fails; its notes are spendable (bob spends to_bob).
    to_bob_index = tree.leaves.index(to_bob.commitment)
    (spend,) = prover.prove([build_transfer(tree, [Spend(to_bob, to_bob_index, bob)], [Note(12, alice.public_key)])])
    assert verify_transfers(prover.verification_key, [spend]).all()
    receipts3 = {k: _run_block(k, *worlds[k], [pay, spend]) for k in worlds}
    assert [r.success for r in receipts3["serial"]] == [False, True]
    assert receipts3["serial"][0].reason.startswith("NullifierSpent")

    for k in worlds:
        assert [(r.success, r.reason) for r in receipts[k]] == [(r.success, r.reason) for r in receipts["serial"]]
    states = {}
    for kind, (store, pool) in worlds.items():
        with store.snapshot() as snap:
            states[kind] = dict(snap.scan())
        store.close()
    assert states["parallel"] == states["serial"]
    assert worlds["parallel"][1].tree.root == worlds["serial"][1].tree.root
    s = states["serial"]
    assert s[balance_key("alice")] == 100 - 30 - 5 + 1 and s[balance_key("bob")] == 50 - 20 - 1 + 20
    assert s[balance_key(POOL_ACCOUNT)] == 30  # 30 + 20 deposited, 20 withdrawn

    # snarkjs accepts our proofs under our verification key: a deposit (two dummy inputs), the
    # payment (one real input) and bob's spend.
    _need_node()
    (tmp_path / "vk.json").write_text(json.dumps(prover.verification_key))
    for k, tx in enumerate((deposits[0], pay, spend)):
        (tmp_path / f"proof{k}.json").write_text(json.dumps(tx.proof))
        (tmp_path / f"public{k}.json").write_text(json.dumps([str(v) for v in tx.public_signals]))
        out = subprocess.run(["node", str(SNARKJS), "groth16", "verify", str(tmp_path / "vk.json"),
                              str(tmp_path / f"public{k}.json"), str(tmp_path / f"proof{k}.json")],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0 and "OK" in out.stdout, out.stdout + out.stderr
