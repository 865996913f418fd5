"""The executors' `finalize` hook: its writes commit atomically with the block, it sees the block's
write set and receipts, it may not overwrite the block's keys, and if it raises nothing commits."""

import pytest

from supervm_jax.mvcc import MVCCStore, ParallelExecutor, SerialExecutor, Transfer, balance_key


@pytest.mark.parametrize("kind", ["serial", "parallel"])
def test_finalize(kind):
    with MVCCStore(8) as store:
        store.commit({balance_key("a"): 10})
        executor = SerialExecutor(store) if kind == "serial" else ParallelExecutor(store, 2, sequential_below=0)
        try:
            seen = {}

            def finalize(writes, receipts):
                seen.update(writes=dict(writes), ok=[r.success for r in receipts])
                return {"header": f"{len(receipts)} txs"}

            executor.execute_block([Transfer("a", "b", 4), Transfer("a", "b", 40)], finalize=finalize)
            assert seen["ok"] == [True, False]
            assert seen["writes"] == {"a/balance": 6, "b/balance": 4, "a/nonce": 1}
            assert store.height == 2 and store.get("header") == "2 txs" and store.get("b/balance") == 4

            def failing(writes, receipts):
                raise RuntimeError("root failed")

            with pytest.raises(RuntimeError):
                executor.execute_block([Transfer("a", "b", 1)], finalize=failing)
            assert store.height == 2 and store.get("b/balance") == 4

            with pytest.raises(ValueError, match="finalize may only add keys"):
                executor.execute_block([Transfer("a", "b", 1)], finalize=lambda w, r: {"b/balance": 0})
            assert store.height == 2
        finally:
            if kind == "parallel":
                executor.close()
