"""NUMA placement against a fake sysfs tree, and thread pinning."""

from __future__ import annotations

import os
import threading

import pytest

from supervm_jax.mvcc import MVCCStore, ParallelExecutor, Transfer
from supervm_jax.mvcc import numa


def fake_sysfs(root, nodes: dict[int, str]) -> str:
    base = root / "devices" / "system" / "node"
    for node, cpulist in nodes.items():
        (base / f"node{node}").mkdir(parents=True)
        (base / f"node{node}" / "cpulist").write_text(cpulist + "\n")
    (base / "possible").write_text("0-1\n")
    return str(root)


def test_parse_cpulist():
    assert numa.parse_cpulist("0-3,8,10-11\n") == {0, 1, 2, 3, 8, 10, 11}
    assert numa.parse_cpulist("") == frozenset()
    for bad in ("a", "3-1", "1-2-3"):
        with pytest.raises(ValueError):
            numa.parse_cpulist(bad)


def test_workers_spread_over_nodes_in_proportion(tmp_path):
    root = fake_sysfs(tmp_path, {0: "0-3", 1: "4-7", 2: "8-9", 3: ""})
    assert numa.node_cpus(root) == {0: set(range(4)), 1: set(range(4, 8)), 2: {8, 9}, 3: frozenset()}
    allowed = frozenset(range(10))
    sets = numa.worker_cpu_sets(5, root, allowed)
    node0, node1, node2 = frozenset(range(4)), frozenset(range(4, 8)), frozenset({8, 9})
    assert sets == [node0, node1, node2, node0, node1]
    assert numa.worker_cpu_sets(2, root, frozenset({5, 9})) == [frozenset({5}), frozenset({9})]
    assert numa.worker_cpu_sets(3, str(tmp_path / "missing"), allowed) == [allowed] * 3
    with pytest.raises(ValueError):
        numa.worker_cpu_sets(0, root, allowed)


def test_workers_are_pinned(tmp_path):
    allowed = sorted(os.sched_getaffinity(0))
    root = fake_sysfs(tmp_path, {0: str(allowed[0])})
    seen = []
    observe = threading.Thread(target=lambda: (numa.pin_current_thread(frozenset({allowed[0]})),
                                                seen.append(os.sched_getaffinity(0))))
    observe.start()
    observe.join()
    assert seen == [{allowed[0]}] and os.sched_getaffinity(0) == set(allowed)

    class Where:
        def execute(self, ctx):
            return sorted(os.sched_getaffinity(0))

    store = MVCCStore(4, gc_threads=0)
    with ParallelExecutor(store, 2, sequential_below=0, sysfs_root=root) as executor:
        receipts = executor.execute_block([Where(), Transfer("a", "b", 0)])
    assert receipts[0].output == [allowed[0]]
