"""The node: blocks of signed transfers through batch signature checks on the devices, Block-STM
execution on the CPU threads, a state root on the devices and a durable commit.

    from supervm_jax.node import Node
    with MVCCStore(path="state/state.db") as store, Node(store) as node:
        node.init_genesis(accounts)                 # {pubkey bytes: balance}
        for result in node.run(open("blocks.jsonl")):
            print(result.summary())

Modules, one per concern: `formats` (genesis, block lines, receipts, dump: the public file
formats), `transfer` (the signed transfer as a Block-STM transaction), `state` (account tree, state
root, headers, account proofs), `pipeline` (the stages and their overlap), `replica` (the node as
several processes: every process executes, process 0 persists), `workload` (a deterministic
generated workload). The job: ``python -m supervm_jax.jobs.node`` (docs/NODE.md, docs/DEPLOY.md).
"""

from supervm_jax.node.formats import (
           FormatError,
           Malformed,
           SignedTransfer,
           transfer_message,
)
from supervm_jax.node.pipeline import BlockResult, Node
from supervm_jax.node.state import verify_account_proof

__all__ = ["BlockResult", "FormatError", "Malformed", "Node", "SignedTransfer", "transfer_message",
           "verify_account_proof"]
