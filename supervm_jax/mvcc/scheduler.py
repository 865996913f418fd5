"""Block-STM scheduler: who executes or validates which transaction next, lowest index first.

State (one lock): per transaction a status and an incarnation number; ``execution_idx`` and
``validation_idx``, the next candidates for each kind of task; ``committed``, the length of the prefix
of committed transactions; the transactions waiting on each one's re-execution; and the committed
state, the writes of the committed prefix (key -> value), which is the serial state after it.

Runs: a worker handed the final execution of the prefix's next transaction, when nothing above it
has started, claims up to `RUN_LENGTH` never-executed successors too and executes and commits them in
order, taking the lock once per run instead of once per transaction.

Statuses: READY -> EXECUTING -> EXECUTED -> COMMITTED (EXECUTING -> COMMITTED directly for a final
execution), with EXECUTING -> ABORTING (suspended on an
ESTIMATE, resumed as READY with the next incarnation when the blocking transaction finishes) and
EXECUTED -> ABORTING -> READY (failed validation). Tasks are tuples ``(kind, index, incarnation,
final)``; ``final`` says the task started while every lower transaction was committed, so its reads
are final: a final execution commits on completion (its executor has already folded its writes into
the committed state), a final validation commits on success (folding them in under the lock).

GIL-aware pacing: under CPython one thread runs Python at a time, so speculating beyond the
committed prefix only pays while the worker executing that prefix's next transaction is outside the
interpreter (sleeping, in I/O, in JAX). Before such a task a worker waits (`PACE_WAIT_S` at first);
if the wait took longer than half the interpreter's switch interval, another worker was running
Python: the task is re-chosen afterwards (the prefix has usually moved) and the next wait is twice as
long, up to `PACE_MAX_WAIT_S`. Otherwise the worker speculates without waiting for the next
`EAGER_S` seconds and the wait returns to `PACE_WAIT_S`.
"""

from __future__ import annotations

import sys
import threading
import time

READY, EXECUTING, EXECUTED, ABORTING, COMMITTED = range(5)
EXECUTE, VALIDATE = 0, 1
PACE_WAIT_S = 100e-6  # first wait before a speculative task
PACE_MAX_WAIT_S = 20e-3  # waits double while the interpreter stays contended, up to this
EAGER_S = 2e-3  # after an uncontended wait, speculate this long before waiting again
RUN_LENGTH = 32  # most transactions one worker claims at once for final execution

Task = tuple[int, int, int, bool]


class Pacer:
    """One worker's pacing state: until when it speculates without waiting, and its next wait."""

    __slots__ = ("eager_until", "wait_s")

    def __init__(self):
        self.eager_until = 0.0
        self.wait_s = PACE_WAIT_S


class Scheduler:
    """Hands out the tasks of one block of `n` transactions to concurrent workers."""

    def __init__(self, n: int, committed_state: dict):
        self.n = n
        self._committed_state = committed_state
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._status = [READY] * n
        self._incarnation = [0] * n
        self._dependents: list[list[int] | None] = [None] * n
        self._execution_idx = 0
        self._validation_idx = 0
        self.committed = 0  # length of the committed prefix (read without the lock by readers)
        self._idle = 0
        self._halted = False
        self._contended_s = sys.getswitchinterval() / 2

    def next_task(self, pacer: Pacer | None) -> Task | None:
        """The lowest-index task available, waiting while none is; None once the block is done.
        `pacer` None disables pacing (a single worker)."""
        with self._lock:
            return self._next_locked(pacer)

    def _next_locked(self, pacer: Pacer | None) -> Task | None:
        status = self._status
        n = self.n
        while True:
            committed = self.committed
            if committed >= n or self._halted:
                return None
            validation = self._validation_idx if self._validation_idx > committed else committed
            execution = self._execution_idx
            if validation < execution:
                if validation != committed and pacer is not None and status[committed] == EXECUTING \
                        and not self._pace(pacer):
                    continue
                self._validation_idx = validation + 1
                if status[validation] == EXECUTED:
                    return VALIDATE, validation, self._incarnation[validation], validation == committed
            elif execution < n:
                if execution != committed and pacer is not None and status[committed] == EXECUTING \
                        and not self._pace(pacer):
                    continue
                self._execution_idx = execution + 1
                if status[execution] == READY:
                    status[execution] = EXECUTING
                    return EXECUTE, execution, self._incarnation[execution], execution == committed
            else:
                self._idle += 1
                self._cond.wait()
                self._idle -= 1

    def _pace(self, pacer: Pacer) -> bool:
        """True: speculate now. False: waited for the interpreter; re-choose the task (lock held)."""
        start = time.perf_counter()
        if start < pacer.eager_until:
            return True
        self._cond.wait(pacer.wait_s)
        end = time.perf_counter()
        if end - start < self._contended_s:
            pacer.eager_until = end + EAGER_S
            pacer.wait_s = PACE_WAIT_S
        else:
            pacer.wait_s = min(2 * pacer.wait_s, PACE_MAX_WAIT_S)
        return False

    def _wake(self) -> None:
        if self._idle:
            self._cond.notify_all()

    def _advance_locked(self) -> Task | None:
        """Extends the committed prefix; returns a final validation of the next transaction if it has
        executed speculatively."""
        status = self._status
        committed = self.committed
        while committed < self.n and status[committed] == COMMITTED:
            committed += 1
        self.committed = committed
        if committed >= self.n:
            self._cond.notify_all()
            return None
        if status[committed] == EXECUTED:
            return VALIDATE, committed, self._incarnation[committed], True
        return None

    def claim_run(self, first: int) -> int:
        """Extends final execution `first` (just handed out) by the following never-executed
        transactions, up to `RUN_LENGTH` in all, provided `first` itself runs for the first time and
        none above it has started; returns the end of the run (exclusive). The caller executes the
        run in order, committing each member but the last with `commit_in_run` and the last with
        `finish_execution`."""
        with self._lock:
            end = first + 1
            if self._execution_idx != end or self._incarnation[first]:
                return end
            limit = min(self.n, first + RUN_LENGTH)
            status, incarnation = self._status, self._incarnation
            while end < limit and status[end] == READY and not incarnation[end]:
                status[end] = EXECUTING
                end += 1
            self._execution_idx = end
            return end

    def commit_in_run(self, index: int) -> None:
        """Commits run member `index` (the committed prefix's next) after its final execution, whose
        writes the caller has already folded into the committed state. No lock: a never-executed
        transaction has no ESTIMATEs, so no dependents, and no one else touches a claimed run."""
        self._status[index] = COMMITTED
        self.committed = index + 1

    def add_dependency(self, index: int, blocking: int) -> bool:
        """Suspends executing transaction `index` until `blocking` re-executes. False when `blocking`
        has already finished (the caller retries instead)."""
        with self._lock:
            if self._status[blocking] in (EXECUTED, COMMITTED):
                return False
            if self._dependents[blocking] is None:
                self._dependents[blocking] = []
            self._dependents[blocking].append(index)
            self._status[index] = ABORTING
            return True

    def finish_execution(self, index: int, wrote_new_location: bool, final: bool, pacer: Pacer | None
                         ) -> Task | None:
        """Records that `index` executed (committing it when `final`), resumes its dependents, and
        returns the caller's next task."""
        with self._lock:
            status = self._status
            dependents = self._dependents[index]
            if dependents:
                self._dependents[index] = None
                for waiting in dependents:
                    status[waiting] = READY
                    self._incarnation[waiting] += 1
                self._execution_idx = min(self._execution_idx, *dependents)
                self._wake()
            if final:
                status[index] = COMMITTED
                following = index + 1
                if wrote_new_location and self._validation_idx > following:
                    self._validation_idx = following
                    self._wake()
                if self._execution_idx == following and following < self.n and status[following] == READY:
                    # Nothing above has started: take the next transaction, final, without a search.
                    self.committed = following
                    self._execution_idx = following + 1
                    status[following] = EXECUTING
                    return EXECUTE, following, self._incarnation[following], True
                task = self._advance_locked()
            else:
                status[index] = EXECUTED
                task = None
                if wrote_new_location:
                    if self._validation_idx > index:
                        self._validation_idx = index
                        self._wake()
                elif self._validation_idx > index or self.committed == index:
                    task = VALIDATE, index, self._incarnation[index], self.committed == index
            return task if task is not None else self._next_locked(pacer)

    def finish_validation(self, index: int, incarnation: int, final: bool, writes: dict,
                          pacer: Pacer | None) -> Task | None:
        """Records a successful validation and returns the caller's next task. When `final` and
        `index` is unchanged since, commits it: its `writes` are folded into the committed state."""
        with self._lock:
            if final and self._status[index] == EXECUTED and self._incarnation[index] == incarnation:
                self._committed_state.update(writes)
                self._status[index] = COMMITTED
                task = self._advance_locked()
                if task is not None:
                    return task
            return self._next_locked(pacer)

    def try_validation_abort(self, index: int, incarnation: int) -> bool:
        """Claims the abort of `index`'s `incarnation` after a failed validation (False: already
        aborted or re-executed by someone else)."""
        with self._lock:
            if self._status[index] == EXECUTED and self._incarnation[index] == incarnation:
                self._status[index] = ABORTING
                return True
            return False

    def finish_abort(self, index: int, pacer: Pacer | None) -> Task | None:
        """After the aborted writes became ESTIMATEs: schedules the next incarnation of `index` and
        validation of everything above it; returns the caller's next task."""
        with self._lock:
            self._incarnation[index] += 1
            self._status[index] = READY
            if self._validation_idx > index + 1:
                self._validation_idx = index + 1
                self._wake()
            if self._execution_idx > index:
                self._status[index] = EXECUTING
                return EXECUTE, index, self._incarnation[index], self.committed == index
            return self._next_locked(pacer)

    def halt(self) -> None:
        """Stops the block (a worker failed): every `next_task` returns None from now on."""
        with self._lock:
            self._halted = True
            self._cond.notify_all()
