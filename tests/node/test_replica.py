"""`node.replica`: the committed state process 0 sends to the other processes of a multi-process node
arrives whole (every kind of value, overwritten keys at their latest value) and without receipts."""

from supervm_jax.mvcc import MVCCStore
from supervm_jax.node.pipeline import receipts_key
from supervm_jax.node.replica import committed_state, restore


def _rows(store):
    with store.snapshot() as snap:
        return dict(snap.scan())


def test_restore_gives_the_committed_state_without_receipts():
    with MVCCStore(4) as lead, MVCCStore(4) as other:
        lead.commit({"a/balance": 10, "a/nonce": 0, "block/0": '{"height":0}', "pool/leaf": b"\x00\xff",
                     receipts_key(1): "r1", "big": 2**100})
        lead.commit({"a/balance": 7, "a/nonce": 1, "gone": 1})
        lead.commit({"gone": None})
        restore(other, committed_state(lead))
        want = {k: v for k, v in _rows(lead).items() if k != receipts_key(1)}
        assert _rows(other) == want
        assert want["a/balance"] == 7 and want["pool/leaf"] == b"\x00\xff" and "gone" not in want


def test_restore_of_an_empty_state_commits_nothing():
    with MVCCStore(4) as lead, MVCCStore(4) as other:
        restore(other, committed_state(lead))
        assert other.height == lead.height and _rows(other) == {}
