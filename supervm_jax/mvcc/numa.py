"""NUMA placement of worker threads: read the node -> CPU map from sysfs, pin threads to one node.

Linux lists node N's CPUs in ``<sysfs_root>/devices/system/node/nodeN/cpulist`` (e.g. ``0-3,8-11``).
Workers are spread over the nodes in proportion to each node's usable CPUs (those also in the
process's affinity mask) and each worker is pinned to all usable CPUs of its node, so it may move
between that node's cores but never off the node. Without node information (no such directory, or no
usable CPU on any node) every worker gets the whole affinity mask.
"""

from __future__ import annotations

import os
import re


def parse_cpulist(text: str) -> frozenset[int]:
    """CPU ids in a sysfs cpulist such as ``"0-3,8,10-11"`` (empty text: none). ValueError if malformed."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if match is None:
            raise ValueError(f"malformed cpulist entry {part!r} in {text!r}")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if last < first:
            raise ValueError(f"descending cpu range {part!r} in {text!r}")
        cpus.update(range(first, last + 1))
    return frozenset(cpus)


def node_cpus(sysfs_root: str = "/sys") -> dict[int, frozenset[int]]:
    """{node id: its CPU ids} from ``<sysfs_root>/devices/system/node``; {} when that is absent."""
    base = os.path.join(sysfs_root, "devices", "system", "node")
    try:
        names = os.listdir(base)
    except FileNotFoundError:
        return {}
    nodes = {}
    for name in names:
        match = re.fullmatch(r"node(\d+)", name)
        if match is None:
            continue
        with open(os.path.join(base, name, "cpulist")) as fh:
            nodes[int(match.group(1))] = parse_cpulist(fh.read())
    return nodes


def worker_cpu_sets(num_workers: int, sysfs_root: str = "/sys",
                    allowed: frozenset[int] | None = None) -> list[frozenset[int]]:
    """The CPU set each of `num_workers` workers is pinned to: all usable CPUs of one NUMA node.

    allowed: usable CPUs (default: this process's affinity mask). Worker w goes to the node with the
    fewest workers per usable CPU so far (ties: lowest node id), so nodes fill in proportion.
    """
    if num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    allowed = frozenset(os.sched_getaffinity(0)) if allowed is None else frozenset(allowed)
    nodes = {node: cpus & allowed for node, cpus in sorted(node_cpus(sysfs_root).items())}
    nodes = {node: cpus for node, cpus in nodes.items() if cpus}
    if not nodes:
        return [allowed] * num_workers
    load = dict.fromkeys(nodes, 0)
    placement = []
    for _ in range(num_workers):
        node = min(nodes, key=lambda n: (load[n] / len(nodes[n]), n))
        load[node] += 1
        placement.append(nodes[node])
    return placement


def pin_current_thread(cpus: frozenset[int]) -> None:
    """Restricts the calling thread (not the process) to `cpus` with ``os.sched_setaffinity``."""
    os.sched_setaffinity(0, cpus)
