"""The node against a reference nobody here wrote: blocks signed with PyNaCl (libsodium), expected
receipts and balances from a plain-Python serial model of the transfer rules written in this file;
parallel equals serial; account proofs; the file formats of the job; a restart after SIGKILL reaches
the same dump and roots as a run that never stopped."""

import json
import os
import signal
import subprocess
import sys
import time

import nacl.signing
import pytest

from supervm_jax.mvcc import MVCCStore
from supervm_jax.node import Node, transfer_message, verify_account_proof

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = [nacl.signing.SigningKey(bytes([i + 1]) * 32) for i in range(6)]
PKS = [bytes(k.verify_key) for k in KEYS]
GENESIS = {PKS[0]: 1000, PKS[1]: 500, PKS[2]: 0, PKS[3]: 7}


def tx(s, r, amount, nonce, *, key=None, sig=None):
    msg = transfer_message(PKS[s], PKS[r], amount, nonce)
    sig = sig if sig is not None else (key or KEYS[s]).sign(msg).signature
    return {"type": "transfer", "from": PKS[s].hex(), "to": PKS[r].hex(), "amount": amount, "nonce": nonce,
            "sig": sig.hex()}


def reference(genesis, blocks):
    """Plain-Python serial model: (receipts per block, {hex: (balance, nonce)})."""
    bal = {pk.hex(): b for pk, b in genesis.items()}
    non = {}
    out = []
    for h, line in enumerate(blocks, start=1):
        try:
            txs = json.loads(line)["txs"]
            assert isinstance(txs, list)
        except Exception:
            out.append([])
            continue
        rec = []
        for i, t in enumerate(txs):
            reason = _reference_tx(t, bal, non)
            rec.append({"height": h, "index": i, "success": reason is None, "reason": reason})
        out.append(rec)
    accounts = {a: (bal.get(a, 0), non.get(a, 0)) for a in set(bal) | set(non) if bal.get(a, 0) or non.get(a, 0)}
    return out, accounts


def _reference_tx(t, bal, non):
    try:
        assert isinstance(t, dict) and t.get("type") == "transfer"
        frm, to, sig = bytes.fromhex(t["from"]), bytes.fromhex(t["to"]), bytes.fromhex(t["sig"])
        amount, nonce = t["amount"], t["nonce"]
        assert len(frm) == 32 and len(to) == 32 and len(sig) == 64 and len(t["from"]) == 64
        assert type(amount) is int and type(nonce) is int and 0 <= amount < 2**64 and 0 <= nonce < 2**64
    except Exception:
        return "Malformed"
    try:
        nacl.signing.VerifyKey(frm).verify(transfer_message(frm, to, amount, nonce), sig)
    except Exception:
        return "BadSignature"
    a, b = frm.hex(), to.hex()
    if nonce != non.get(a, 0):
        return "BadNonce"
    if bal.get(a, 0) < amount:
        return "InsufficientFunds"
    bal[a] = bal.get(a, 0) - amount
    bal[b] = bal.get(b, 0) + amount
    non[a] = nonce + 1
    return None


def crafted_blocks():
    b1 = [
        tx(0, 1, 100, 0),                       # ok
        tx(0, 2, 50, 0),                        # replayed nonce
        tx(1, 2, 600, 0),                       # overdraft (500 < 600)
        tx(3, 0, 7, 0, key=KEYS[4]),            # signed by the wrong key
        tx(0, 1, 10, 1) | {"amount": 11},       # signature over another amount
        tx(2, 2, 0, 0),                         # zero-balance self transfer: ok, nonce 1
        {"type": "transfer", "from": "00" * 31},  # wrong lengths
        {"type": "mint", "to": PKS[0].hex()},   # unknown type
        tx(0, 1, 1, 1) | {"amount": 2**64},     # amount out of range
        tx(0, 1, 1, 1) | {"nonce": -1},
        "not an object",
        tx(0, 5, 900, 1),                       # ok: empties account 0, creates account 5
        tx(0, 1, 1, 2),                         # insufficient (0 left)
    ]
    # a spend and its replay (BadNonce), then all of account 1 twice (the second is InsufficientFunds)
    b2 = [tx(5, 4, 890, 0), tx(5, 4, 1, 0), tx(1, 0, 600, 0), tx(1, 0, 600, 1)]
    return [json.dumps({"txs": b1}), "{not json", json.dumps({"txs": []}), json.dumps({"txs": b2})]


def _run(blocks, *, serial=False, path=None, overlap=True):
    with MVCCStore(16, path=path) as store, Node(store, num_workers=2, serial=serial) as node:
        node.init_genesis(GENESIS)
        results = list(node.run(blocks, overlap=overlap))
        return results, node.dump(), node


def test_receipts_and_balances_equal_the_reference():
    blocks = crafted_blocks()
    want_receipts, want_accounts = reference(GENESIS, blocks)
    results, dump, _ = _run(blocks)
    assert [[json.loads(line) for line in r.receipts] for r in results] == want_receipts
    assert {a: (v["balance"], v["nonce"]) for a, v in dump["accounts"].items()} == want_accounts
    assert [r.height for r in results] == [1, 2, 3, 4]
    assert results[1].warning and not results[1].receipts   # a bad line is an empty block


def test_parallel_equals_serial_and_sequential_stages():
    blocks = crafted_blocks()
    par, dump_p, _ = _run(blocks)
    ser, dump_s, _ = _run(blocks, serial=True, overlap=False)
    assert [r.receipts for r in par] == [r.receipts for r in ser]
    assert [r.state_root for r in par] == [r.state_root for r in ser]
    assert dump_p == dump_s


def test_account_proofs_verify_and_fail_after_tampering(tmp_path):
    blocks = crafted_blocks()
    results, dump, _ = _run(blocks, path=str(tmp_path / "s.db"))
    root = bytes.fromhex(dump["state_root"])
    with MVCCStore(16, path=str(tmp_path / "s.db")) as store, Node(store, serial=True) as node:
        assert node.dump() == dump  # reopened: same accounts and root
        for pk in (PKS[0], PKS[4], PKS[5]):
            proof = node.account_proof(pk)
            assert verify_account_proof(root, proof)
            want = dump["accounts"].get(pk.hex(), {"balance": 0, "nonce": 0})
            assert (proof["balance"], proof["nonce"]) == (want["balance"], want["nonce"])
            for field, value in (("balance", proof["balance"] + 1), ("nonce", proof["nonce"] + 1),
                                 ("index", proof["index"] ^ 1), ("pubkey", PKS[1].hex())):
                assert not verify_account_proof(root, proof | {field: value}), field
        assert node.account_proof(bytes(32)) is None


def _job(*args, **kw):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    return subprocess.Popen([sys.executable, "-m", "supervm_jax.jobs.node", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_job_formats_and_sigkill_restart(tmp_path):
    """The job on a PyNaCl-signed workload: receipts, dump and roots equal the reference; killed with
    SIGKILL after its first committed block and restarted, it ends with the same dump and files."""
    blocks = crafted_blocks() * 2  # repeats: replays of committed nonces fail as BadNonce
    (tmp_path / "genesis.json").write_text(json.dumps({"accounts": {pk.hex(): b for pk, b in GENESIS.items()}}))
    (tmp_path / "blocks.jsonl").write_text("\n".join(blocks) + "\n")
    want_receipts, want_accounts = reference(GENESIS, blocks)

    def args(d):
        return [f"--genesis={tmp_path / 'genesis.json'}", f"--blocks={tmp_path / 'blocks.jsonl'}", f"--state={d}",
                f"--receipts={d}/receipts.jsonl", f"--dump_state={d}/dump.json", "--num_workers=2"]

    full = _job(*args(tmp_path / "a"))
    out, err = full.communicate(timeout=600)
    assert full.returncode == 0, err[-2000:]
    dump_a = json.loads((tmp_path / "a/dump.json").read_text())
    assert {a: (v["balance"], v["nonce"]) for a, v in dump_a["accounts"].items()} == want_accounts
    got = [json.loads(line) for line in (tmp_path / "a/receipts.jsonl").read_text().splitlines()]
    assert got == [r for block in want_receipts for r in block]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["height"] == len(blocks) and summary["devices"] == 2

    killed = _job(*args(tmp_path / "b"))
    deadline = time.time() + 600
    while time.time() < deadline:  # wait for the first committed block's summary line
        line = killed.stdout.readline()
        if line.startswith('{"height"') or not line:
            break
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    rerun = _job(*args(tmp_path / "b"))
    out_b, err_b = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err_b[-2000:]
    assert json.loads((tmp_path / "b/dump.json").read_text()) == dump_a
    assert (tmp_path / "b/receipts.jsonl").read_text() == (tmp_path / "a/receipts.jsonl").read_text()
    assert json.loads(out_b.strip().splitlines()[-1])["state_root"] == summary["state_root"]


def test_job_errors_exit_2(tmp_path):
    (tmp_path / "bad.json").write_text('{"accounts": {"zz": 1}}')
    proc = _job(f"--genesis={tmp_path / 'bad.json'}", f"--blocks={tmp_path / 'none.jsonl'}")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "error:" in err and "account 'zz'" in err
    proc = _job("--set=parallel.num_workers=zero")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "error:" in err


@pytest.mark.parametrize("bad", ["--private_per_block=-1", "--blocks=x.jsonl"])
def test_job_usage_errors(bad):
    proc = _job(bad)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "error:" in err


def test_second_writer_is_refused(tmp_path):
    (tmp_path / "genesis.json").write_text(json.dumps({"accounts": {PKS[0].hex(): 5}}))
    (tmp_path / "blocks.jsonl").write_text("\n")
    with MVCCStore(16, path=str(tmp_path / "state.db")):
        proc = _job(f"--genesis={tmp_path / 'genesis.json'}", f"--blocks={tmp_path / 'blocks.jsonl'}",
                    f"--state={tmp_path}")
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "another writer" in err, err[-500:]
