"""Native Block-STM for the built-in transfers: flat arrays in, C++ threads, receipts and writes out.

`ParallelExecutor` hands this module the maximal runs of built-in transactions of a block (see
`split_runs`); everything else runs in the Python Block-STM. The C++ side (`native/blockstm.cc`,
called through ctypes, which releases the GIL for the call) runs Block-STM on `num_workers` native
threads pinned like the Python workers, over chunks of consecutive transactions, and returns exactly
the serial result (the tests compare it with `SerialExecutor` on random blocks).

Built-in transactions are those whose class has a ``native_kind`` attribute:

* ``NATIVE_TRANSFER`` (`transactions.Transfer`): ``sender``, ``recipient`` (account names, str),
  ``amount`` (int). Fails when the balance is short; otherwise moves the amount and bumps the
  sender's nonce; output ``(sender_balance, recipient_balance)`` after the transfer.
* ``NATIVE_NODE_TRANSFER`` (`node.transfer.NodeTransfer`): also ``nonce`` (int) and ``sig_ok``
  (bool): fails on a bad signature, then on a nonce other than the account's, then on a short
  balance; output None.

Each such class also has ``native_failure(status, observed)`` returning the exception its
``execute`` would raise for a failure `status` (``observed``: the nonce or balance it read), so the
receipts' reasons are the Python ones, word for word.

Accounts keep the Python layout (``"<name>/balance"``, ``"<name>/nonce"``, missing = 0). The native
side works on uint64: a run whose pre-block values are not all ints in [0, 2^64), whose amounts or
nonces are not, or whose execution would pass 2^64 - 1 anywhere (status OVERFLOW) is not taken:
`execute_run` returns None and the caller runs it in Python, whose ints do not overflow.
"""

from __future__ import annotations

import ctypes
import dataclasses
import time
from collections.abc import Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np

from supervm_jax.mvcc.transactions import Receipt, balance_key, failure_reason, nonce_key

NATIVE_TRANSFER, NATIVE_NODE_TRANSFER = 0, 1
OK, BAD_SIGNATURE, BAD_NONCE, INSUFFICIENT_FUNDS, OVERFLOW = range(5)
MIN_RUN = 32
"""Shortest run of built-in transactions inside a mixed block that goes native (a whole block of
built-ins always does): shorter runs cost more in hand-over than they save."""
_U64 = 1 << 64
_ERROR_BYTES = 256


def available() -> bool:
    """True when the native library is enabled (SUPERVM_NATIVE != 0) and built here."""
    from supervm_jax import native  # JAX comes with it: imported on first use only

    return native.ENABLED and native.library() is not None


def is_builtin(tx: Any) -> bool:
    """Whether `tx` is a built-in transaction the native path can run."""
    return hasattr(type(tx), "native_kind")


def split_runs(txs: Sequence[Any]) -> list[tuple[int, int, bool]]:
    """The block as consecutive (start, end, native) runs: maximal runs of built-in transactions
    are native when they are the whole block or at least `MIN_RUN` long; the rest, merged with
    their neighbours, are Python runs. Runs cover the block in order."""
    n = len(txs)
    if n and all(hasattr(cls, "native_kind") for cls in set(map(type, txs))):
        return [(0, n, True)]  # the common case, decided per class
    runs: list[tuple[int, int, bool]] = []
    start = 0
    while start < n:
        end = start
        while end < n and hasattr(type(txs[end]), "native_kind"):
            end += 1
        if end > start and (end - start >= MIN_RUN or end - start == n):
            runs.append((start, end, True))
            start = end
            continue
        end = max(end, start + 1)
        while end < n and not _native_run_starts(txs, end):
            end += 1
        if runs and not runs[-1][2]:
            runs[-1] = (runs[-1][0], end, False)
        else:
            runs.append((start, end, False))
        start = end
    return runs


def _native_run_starts(txs: Sequence[Any], at: int) -> bool:
    """Whether a run of at least MIN_RUN built-ins starts at `at`."""
    window = txs[at:at + MIN_RUN]
    return len(window) == MIN_RUN and all(hasattr(type(tx), "native_kind") for tx in window)


@dataclasses.dataclass(frozen=True)
class TransferResult:
    """What the C++ Block-STM returns for n transactions over m accounts.

    status (n,) uint8: OK, BAD_SIGNATURE, BAD_NONCE, INSUFFICIENT_FUNDS or OVERFLOW. out0, out1 (n,)
    uint64: for a successful `NATIVE_TRANSFER` the sender's and recipient's balances after it; for
    BAD_NONCE / INSUFFICIENT_FUNDS, out0 is the nonce / balance read. balance, nonce (m,) uint64:
    values after the block. written (m,) uint8: bit 0 set when the balance was written by a
    successful transaction, bit 1 the nonce. executions, validations: transaction runs and
    validations (counted per transaction of each chunk run).
    """

    status: np.ndarray
    out0: np.ndarray
    out1: np.ndarray
    balance: np.ndarray
    nonce: np.ndarray
    written: np.ndarray
    executions: int
    validations: int


def _u64(name: str, values) -> np.ndarray:
    """uint64 array of `values`: Python ints, or a NumPy integer array, in [0, 2^64). ValueError
    naming `name` and the first bad index otherwise (a str, float or bool is refused, not parsed)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "ui" and values.ndim == 1:
        if values.dtype.kind == "i" and values.size and values.min() < 0:
            bad = int(np.argmax(values < 0))
            raise ValueError(f"{name}[{bad}] = {values[bad]} is not an int in [0, 2^64)")
        return values.astype(np.uint64)
    values = list(values)
    if set(map(type, values)) <= {int}:
        try:
            return np.array(values, dtype=np.uint64)
        except OverflowError:
            pass
    bad = next(i for i, v in enumerate(values) if type(v) is not int or not 0 <= v < _U64)
    raise ValueError(f"{name}[{bad}] = {values[bad]!r} is not an int in [0, 2^64)")


def chunk_size(n_tx: int, num_workers: int) -> int:
    """Transactions per Block-STM task: about 16 tasks per worker in flight over the block, between
    1 and 16 transactions (bigger chunks conflict more often, smaller ones cost more in
    synchronisation than a transfer's ~30 ns of work)."""
    return max(1, min(16, n_tx // (16 * num_workers)))


def execute_transfers(kinds, senders, recipients, amounts, nonces, sig_ok, balance, nonce, *,
                      num_workers: int, cpu_sets: Sequence[frozenset[int] | None] | None = None,
                      chunk: int | None = None) -> TransferResult:
    """Runs n transfers over m accounts in C++ on `num_workers` threads (1: the serial loop).

    kinds (n,) `NATIVE_TRANSFER` / `NATIVE_NODE_TRANSFER`; senders, recipients (n,) account indices
    in [0, m); amounts, nonces (n,) ints in [0, 2^64) (nonces are ignored for `NATIVE_TRANSFER`);
    sig_ok (n,) bools; balance, nonce (m,) pre-block values in [0, 2^64). cpu_sets: per worker the
    CPUs to pin it to (None: not pinned). chunk: transactions per task (default `chunk_size`).
    Raises ValueError naming the array and index for wrong lengths or out-of-range values, and
    RuntimeError when the library is unavailable.
    """
    from supervm_jax import native

    lib = native.library()
    if lib is None or not native.ENABLED:
        raise RuntimeError("supervm_jax.native: the Block-STM kernel is unavailable (see mvcc.native.available)")
    n, m = len(kinds), len(balance)
    for name, array, size in (("senders", senders, n), ("recipients", recipients, n), ("amounts", amounts, n),
                              ("nonces", nonces, n), ("sig_ok", sig_ok, n), ("nonce", nonce, m)):
        if len(array) != size:
            raise ValueError(f"{name} has {len(array)} entries, expected {size}")
    if type(num_workers) is not int or num_workers < 1:
        raise ValueError(f"num_workers must be an int >= 1, got {num_workers!r}")
    chunk = chunk_size(n, num_workers) if chunk is None else chunk
    if type(chunk) is not int or chunk < 1:
        raise ValueError(f"chunk must be an int >= 1, got {chunk!r}")
    kinds_a = np.asarray(kinds, dtype=np.uint8)
    senders_a, recipients_a = (np.ascontiguousarray(a, dtype=np.int32) for a in (senders, recipients))
    amounts_a, nonces_a = _u64("amounts", amounts), _u64("nonces", nonces)
    balance_a, nonce_a = _u64("balance", balance), _u64("nonce", nonce)
    sig_a = np.asarray(sig_ok, dtype=np.uint8)
    cpus_a = offsets_a = None
    if cpu_sets is not None and any(s is not None for s in cpu_sets[:num_workers]):
        if len(cpu_sets) < num_workers:
            raise ValueError(f"cpu_sets has {len(cpu_sets)} entries for {num_workers} workers")
        flat = [sorted(s or ()) for s in cpu_sets[:num_workers]]
        cpus_a = np.array([c for s in flat for c in s], dtype=np.int32)
        offsets_a = np.cumsum([0] + [len(s) for s in flat]).astype(np.int64)
    status = np.empty(n, np.uint8)
    out0, out1 = np.empty(n, np.uint64), np.empty(n, np.uint64)
    post_balance, post_nonce, written = np.empty(m, np.uint64), np.empty(m, np.uint64), np.empty(m, np.uint8)
    stats = np.zeros(2, np.int64)
    error = ctypes.create_string_buffer(_ERROR_BYTES)

    def ptr(a):
        return None if a is None else a.ctypes.data_as(ctypes.c_void_p)

    fn = lib.supervm_blockstm_transfers
    fn.restype = ctypes.c_int
    rc = fn(ctypes.c_int64(n), ctypes.c_int64(m), ptr(kinds_a), ptr(senders_a), ptr(recipients_a), ptr(amounts_a),
            ptr(nonces_a), ptr(sig_a), ptr(balance_a), ptr(nonce_a), ctypes.c_int64(num_workers),
            ctypes.c_int64(chunk), ptr(cpus_a), ptr(offsets_a), ptr(status), ptr(out0), ptr(out1),
            ptr(post_balance), ptr(post_nonce), ptr(written), ptr(stats), error, ctypes.c_int64(_ERROR_BYTES))
    if rc != 0:
        raise ValueError(f"native Block-STM refused the block: {error.value.decode(errors='replace')}")
    return TransferResult(status, out0, out1, post_balance, post_nonce, written, int(stats[0]), int(stats[1]))


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """One native run: its receipts (block indices), write set, counts and stage seconds."""

    receipts: list[Receipt]
    writes: dict[str, int]
    executions: int
    validations: int
    timings: dict[str, float]


def execute_run(txs: Sequence[Any], view, *, first_index: int, num_workers: int,
                cpu_sets: Sequence[frozenset[int] | None] | None = None) -> RunOutcome | None:
    """Executes built-in transactions `txs` (block indices from `first_index`) against `view` (an
    object with ``get_many(keys)`` giving the state before the run) natively.

    Returns None when the run cannot be taken natively (a value that is not an int in [0, 2^64), or
    an overflow in the result); the caller then runs it in Python. The outcome's write set holds
    exactly the keys the serial executor would write.
    """
    start = time.perf_counter()
    n = len(txs)
    index: dict[str, int] = {}
    add = index.setdefault
    senders = [add(tx.sender, len(index)) for tx in txs]
    n_senders = len(index)  # accounts [0, n_senders) send; only their nonces are ever read
    recipients = [add(tx.recipient, len(index)) for tx in txs]
    names = list(index)
    m = len(names)
    balance_keys = list(map(balance_key, names))
    nonce_keys = list(map(nonce_key, names[:n_senders]))
    values = view.get_many(balance_keys + nonce_keys)
    kinds = np.fromiter((tx.native_kind for tx in txs), np.uint8, n)
    node = bool(kinds.any())
    try:
        if not set(map(type, values)) <= {int, type(None)}:
            return None
        state = np.zeros(m + n_senders, np.uint64)
        state[:] = [0 if v is None else v for v in values]
        amounts = np.array([tx.amount for tx in txs], dtype=np.uint64)
        nonces = np.array([getattr(tx, "nonce", 0) for tx in txs] if node else [0] * n, dtype=np.uint64)
    except OverflowError:  # a negative value, or one past 2^64 - 1
        return None
    sig_ok = [getattr(tx, "sig_ok", True) for tx in txs] if node else np.ones(n, np.uint8)
    pre_nonce = np.zeros(m, np.uint64)
    pre_nonce[:n_senders] = state[m:]
    converted = time.perf_counter()
    result = execute_transfers(kinds, senders, recipients, amounts, nonces, sig_ok, state[:m], pre_nonce,
                               num_workers=num_workers, cpu_sets=cpu_sets)
    executed = time.perf_counter()
    status = result.status
    if (status == OVERFLOW).any():
        return None
    indices = range(first_index, first_index + n)
    if node:
        outputs = [None] * n
        plain = np.flatnonzero(kinds == NATIVE_TRANSFER).tolist()
        for i, out in zip(plain, zip(result.out0[plain].tolist(), result.out1[plain].tolist())):
            outputs[i] = out
    else:
        outputs = zip(result.out0.tolist(), result.out1.tolist())
    receipts = list(map(tuple.__new__, repeat(Receipt), zip(indices, repeat(True), outputs, repeat(None))))
    observed = result.out0
    for i in np.flatnonzero(status != OK).tolist():
        err = txs[i].native_failure(int(status[i]), int(observed[i]))
        receipts[i] = Receipt(first_index + i, False, None, failure_reason(err))
    writes: dict[str, int] = {}
    for keys, flag, post in ((balance_keys, 1, result.balance), (nonce_keys, 2, result.nonce)):
        written = np.flatnonzero(result.written[:len(keys)] & flag).tolist()
        if written:
            writes.update(zip(itemgetter(*written)(keys) if len(written) > 1 else [keys[written[0]]],
                              post[written].tolist()))
    done = time.perf_counter()
    return RunOutcome(receipts, writes, result.executions, result.validations,
                      {"convert_s": (converted - start) + (done - executed), "execute_s": executed - converted})
