// Block-STM for the built-in transfers on native threads (called through ctypes from
// supervm_jax/mvcc/native.py, which documents the contract; see docs/MVCC.md "Native execution").
//
// The algorithm is Block-STM's (Gelashvili et al., PPoPP'23): a multi-version memory with ESTIMATE
// markers, a collaborative scheduler handing out the lowest-index execution or validation task,
// incarnations, dependencies resumed when the blocking transaction finishes, and read-set
// validation by version. Two choices differ from the Python executor (`mvcc/executor.py`):
//
// * The unit the scheduler hands out is a chunk of `chunk` consecutive transactions, executed in
//   order inside one incarnation (its reads see its own earlier writes first). Block-STM over such
//   chunks is Block-STM over a block of bigger transactions, so its result is still the serial one;
//   a transfer is ~30 ns of work, and per-task synchronisation would otherwise cost more than it.
// * No rolling commit: the block's result is read once all tasks are done (every location's
//   highest writer), as in the paper. The Python executor's rolling commit exists to cut
//   interpreter work; here the final read is one pass over the touched locations.
//
// One thread runs the plain serial loop (what Block-STM on one thread computes, without its
// bookkeeping).
//
// Locations: 2 a is account a's balance, 2 a + 1 its nonce; pre-block values come in as arrays.
// Values are uint64: a sum or nonce that would pass 2^64 - 1 gives the transaction status
// OVERFLOW (and no writes); the caller then runs the block in Python, whose ints do not overflow.

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>

namespace {

enum TxStatus : uint8_t { OK = 0, BAD_SIGNATURE = 1, BAD_NONCE = 2, INSUFFICIENT_FUNDS = 3, OVERFLOW = 4 };
enum Kind : uint8_t { KIND_TRANSFER = 0, KIND_NODE_TRANSFER = 1 };

struct Block {
  int64_t n_tx;
  const uint8_t* kind;
  const int32_t* sender;
  const int32_t* recipient;
  const uint64_t* amount;
  const uint64_t* nonce;
  const uint8_t* sig_ok;
  const uint64_t* pre;  // 2 n_acct pre-block values, balance and nonce interleaved (speculative reads)
  uint8_t* status;
  uint64_t* out0;
  uint64_t* out1;
};

// One transaction against a state accessor `st` with read(loc, &value) -> bool (false: blocked on
// an ESTIMATE) and write(loc, value). Returns false when blocked. Sets status/out0/out1 of tx i.
template <class State>
inline bool run_tx(const Block& b, int64_t i, State& st) {
  const uint32_t s = 2u * uint32_t(b.sender[i]), r = 2u * uint32_t(b.recipient[i]);
  const uint64_t amount = b.amount[i];
  uint64_t nonce = 0, balance = 0, received = 0;
  b.out0[i] = b.out1[i] = 0;
  if (b.kind[i] == KIND_NODE_TRANSFER) {
    if (!b.sig_ok[i]) {
      b.status[i] = BAD_SIGNATURE;
      return true;
    }
    if (!st.read(s + 1, nonce)) return false;
    if (nonce != b.nonce[i]) {
      b.status[i] = BAD_NONCE;
      b.out0[i] = nonce;
      return true;
    }
  }
  if (!st.read(s, balance)) return false;
  if (balance < amount) {
    b.status[i] = INSUFFICIENT_FUNDS;
    b.out0[i] = balance;
    return true;
  }
  // The recipient's balance after the sender's debit (the same location when s == r).
  uint64_t before = balance - amount;
  if (r != s && !st.read(r, before)) return false;
  if (b.kind[i] == KIND_TRANSFER && !st.read(s + 1, nonce)) return false;
  if (before > UINT64_MAX - amount || nonce == UINT64_MAX) {
    b.status[i] = OVERFLOW;
    return true;
  }
  received = before + amount;
  st.write(s, balance - amount);
  st.write(r, received);
  st.write(s + 1, nonce + 1);
  b.status[i] = OK;
  if (b.kind[i] == KIND_TRANSFER) {
    b.out0[i] = r == s ? received : balance - amount;
    b.out1[i] = received;
  }
  return true;
}

// -- serial (one thread) -----------------------------------------------------------------------

struct SerialState {
  uint64_t* value;
  uint8_t* written;  // per account: bit 0 balance, bit 1 nonce
  bool read(uint32_t loc, uint64_t& v) {
    v = value[loc];
    return true;
  }
  void write(uint32_t loc, uint64_t v) {
    value[loc] = v;
    written[loc >> 1] |= uint8_t(1u << (loc & 1));
  }
};

// -- multi-version memory -------------------------------------------------------------------------

struct SpinLock {
  std::atomic_flag flag = ATOMIC_FLAG_INIT;
  void lock() {
    while (flag.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
  }
  void unlock() { flag.clear(std::memory_order_release); }
};

struct Entry {
  int32_t txn;  // writing chunk
  int32_t incarnation;
  uint64_t value;
  bool estimate;
};

// The writers of one location, ascending txn: the first kInline in place (most locations of a
// block have one or two writers), the rest in a heap vector allocated only when needed.
class Entries {
 public:
  static constexpr size_t kInline = 3;
  Entry* begin() { return heap_.empty() ? inline_ : heap_.data(); }
  Entry* end() { return begin() + size_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Entry& back() { return begin()[size_ - 1]; }
  void insert(Entry* at, const Entry& e) {
    size_t pos = size_t(at - begin());
    if (heap_.empty() && size_ == kInline) heap_.assign(inline_, inline_ + kInline);
    if (heap_.empty()) {
      std::copy_backward(inline_ + pos, inline_ + size_, inline_ + size_ + 1);
      inline_[pos] = e;
    } else {
      heap_.insert(heap_.begin() + long(pos), e);
    }
    ++size_;
  }
  void erase(Entry* at) {
    std::copy(at + 1, end(), at);
    --size_;
    if (!heap_.empty()) heap_.pop_back();
  }

 private:
  Entry inline_[kInline];
  std::vector<Entry> heap_;  // all entries once there are more than kInline
  size_t size_ = 0;
};

struct Location {
  SpinLock lock;
  Entries entries;
};

enum ReadKind { FROM_STORAGE, FROM_WRITER, FROM_ESTIMATE };

struct ReadResult {
  ReadKind kind;
  int32_t txn, incarnation;
  uint64_t value;
};

struct MVMemory {
  std::vector<Location> locs;
  explicit MVMemory(size_t n_loc) : locs(n_loc) {}

  // What chunk `txn` sees at `loc`: the highest lower writer's value, an ESTIMATE, or storage.
  ReadResult read(uint32_t loc, int32_t txn) {
    Location& l = locs[loc];
    std::lock_guard<SpinLock> g(l.lock);
    for (Entry* it = l.entries.end(); it != l.entries.begin();) {
      --it;
      if (it->txn < txn)
        return {it->estimate ? FROM_ESTIMATE : FROM_WRITER, it->txn, it->incarnation, it->value};
    }
    return {FROM_STORAGE, -1, 0, 0};
  }

  // Sets chunk `txn`'s entry at `loc`; true when it had none (a new location for Block-STM).
  bool put(uint32_t loc, int32_t txn, int32_t incarnation, uint64_t value) {
    Location& l = locs[loc];
    std::lock_guard<SpinLock> g(l.lock);
    auto it = std::lower_bound(l.entries.begin(), l.entries.end(), txn,
                               [](const Entry& e, int32_t t) { return e.txn < t; });
    if (it != l.entries.end() && it->txn == txn) {
      *it = {txn, incarnation, value, false};
      return false;
    }
    l.entries.insert(it, {txn, incarnation, value, false});
    return true;
  }

  void remove(uint32_t loc, int32_t txn) {
    Location& l = locs[loc];
    std::lock_guard<SpinLock> g(l.lock);
    auto it = std::lower_bound(l.entries.begin(), l.entries.end(), txn,
                               [](const Entry& e, int32_t t) { return e.txn < t; });
    if (it != l.entries.end() && it->txn == txn) l.entries.erase(it);
  }

  void mark_estimate(uint32_t loc, int32_t txn) {
    Location& l = locs[loc];
    std::lock_guard<SpinLock> g(l.lock);
    for (Entry& e : l.entries)
      if (e.txn == txn) e.estimate = true;
  }
};

// -- scheduler (the paper's, on chunk indices) -----------------------------------------------------

enum ChunkStatus : uint8_t { READY, EXECUTING, EXECUTED, ABORTING };
enum TaskKind : uint8_t { NO_TASK, EXECUTE, VALIDATE };

struct Task {
  TaskKind kind = NO_TASK;
  int32_t txn = 0, incarnation = 0;
};

struct ReadRecord {
  uint32_t loc;
  int32_t txn, incarnation;  // txn -1: read from storage
};

struct Chunk {
  std::mutex status_lock;
  int32_t incarnation = 0;
  ChunkStatus status = READY;
  std::mutex dependency_lock;
  std::vector<int32_t> dependents;
  std::mutex read_set_lock;
  std::vector<ReadRecord> reads;  // of the latest recorded incarnation
  std::vector<uint32_t> writes;   // locations it wrote (only its executor touches these)
};

struct Scheduler {
  int32_t n;
  std::vector<Chunk> chunks;
  std::atomic<int64_t> execution_idx{0}, validation_idx{0}, decrease_cnt{0}, active_tasks{0};
  std::atomic<bool> done_marker{false};

  explicit Scheduler(int32_t n_chunks) : n(n_chunks), chunks(n_chunks) {}

  static void lower_to(std::atomic<int64_t>& idx, int64_t target) {
    int64_t cur = idx.load();
    while (cur > target && !idx.compare_exchange_weak(cur, target)) {
    }
  }
  void decrease_execution_idx(int64_t t) {
    lower_to(execution_idx, t);
    decrease_cnt.fetch_add(1);
  }
  void decrease_validation_idx(int64_t t) {
    lower_to(validation_idx, t);
    decrease_cnt.fetch_add(1);
  }
  void check_done() {
    int64_t observed = decrease_cnt.load();
    if (std::min(execution_idx.load(), validation_idx.load()) >= n && active_tasks.load() == 0 &&
        observed == decrease_cnt.load())
      done_marker.store(true);
  }
  bool try_incarnate(int64_t i, int32_t& incarnation) {
    if (i >= n) return false;
    Chunk& c = chunks[i];
    std::lock_guard<std::mutex> g(c.status_lock);
    if (c.status != READY) return false;
    c.status = EXECUTING;
    incarnation = c.incarnation;
    return true;
  }
  Task next_task() {
    if (validation_idx.load() < execution_idx.load()) {
      if (validation_idx.load() >= n) return check_done(), Task{};
      active_tasks.fetch_add(1);
      int64_t i = validation_idx.fetch_add(1);
      if (i < n) {
        Chunk& c = chunks[i];
        std::lock_guard<std::mutex> g(c.status_lock);
        if (c.status == EXECUTED) return {VALIDATE, int32_t(i), c.incarnation};
      }
      active_tasks.fetch_sub(1);
      return {};
    }
    if (execution_idx.load() >= n) return check_done(), Task{};
    active_tasks.fetch_add(1);
    int64_t i = execution_idx.fetch_add(1);
    int32_t incarnation;
    if (try_incarnate(i, incarnation)) return {EXECUTE, int32_t(i), incarnation};
    active_tasks.fetch_sub(1);
    return {};
  }
  // Suspends `txn` until `blocking` finishes executing; false if it already has (retry).
  bool add_dependency(int32_t txn, int32_t blocking) {
    Chunk& b = chunks[blocking];
    std::lock_guard<std::mutex> g(b.dependency_lock);
    {
      std::lock_guard<std::mutex> s(b.status_lock);
      if (b.status == EXECUTED) return false;
    }
    {
      std::lock_guard<std::mutex> s(chunks[txn].status_lock);
      chunks[txn].status = ABORTING;
    }
    b.dependents.push_back(txn);
    active_tasks.fetch_sub(1);
    return true;
  }
  void set_ready(int32_t txn) {
    Chunk& c = chunks[txn];
    std::lock_guard<std::mutex> g(c.status_lock);
    c.incarnation += 1;
    c.status = READY;
  }
  Task finish_execution(int32_t txn, int32_t incarnation, bool wrote_new_location) {
    Chunk& c = chunks[txn];
    {
      std::lock_guard<std::mutex> g(c.status_lock);
      c.status = EXECUTED;
    }
    std::vector<int32_t> resumed;
    {
      std::lock_guard<std::mutex> g(c.dependency_lock);
      resumed.swap(c.dependents);
    }
    if (!resumed.empty()) {
      int32_t lowest = INT32_MAX;
      for (int32_t d : resumed) {
        set_ready(d);
        lowest = std::min(lowest, d);
      }
      decrease_execution_idx(lowest);
    }
    if (validation_idx.load() > txn) {
      if (wrote_new_location)
        decrease_validation_idx(txn);
      else
        return {VALIDATE, txn, incarnation};
    }
    active_tasks.fetch_sub(1);
    return {};
  }
  bool try_validation_abort(int32_t txn, int32_t incarnation) {
    Chunk& c = chunks[txn];
    std::lock_guard<std::mutex> g(c.status_lock);
    if (c.status != EXECUTED || c.incarnation != incarnation) return false;
    c.status = ABORTING;
    return true;
  }
  Task finish_validation(int32_t txn, bool aborted) {
    if (aborted) {
      set_ready(txn);
      decrease_validation_idx(int64_t(txn) + 1);
      int32_t incarnation;
      if (execution_idx.load() > txn && try_incarnate(txn, incarnation)) return {EXECUTE, txn, incarnation};
    }
    active_tasks.fetch_sub(1);
    return {};
  }
};

// -- one worker ------------------------------------------------------------------------------------

struct Shared {
  const Block* block;
  int64_t chunk;
  MVMemory* memory;
  Scheduler* scheduler;
  std::atomic<int64_t> executions{0}, validations{0};
};

// Per-thread scratch for one chunk incarnation: own writes and first reads, by location, stamped
// with a generation so nothing is cleared between incarnations.
struct Scratch {
  std::vector<uint32_t> write_gen, read_gen;
  std::vector<uint64_t> write_val, read_val;
  std::vector<uint32_t> written;
  std::vector<ReadRecord> reads;
  uint32_t gen = 0;
  explicit Scratch(size_t n_loc) : write_gen(n_loc), read_gen(n_loc), write_val(n_loc), read_val(n_loc) {}
  void next() {
    if (++gen == 0) {  // wrapped: forget every stamp
      std::fill(write_gen.begin(), write_gen.end(), 0);
      std::fill(read_gen.begin(), read_gen.end(), 0);
      gen = 1;
    }
    written.clear();
    reads.clear();
  }
};

struct SpeculativeState {
  Scratch& s;
  MVMemory& memory;
  const uint64_t* pre;
  int32_t txn;
  int32_t blocking = -1;
  bool read(uint32_t loc, uint64_t& v) {
    if (s.write_gen[loc] == s.gen) return v = s.write_val[loc], true;
    if (s.read_gen[loc] == s.gen) return v = s.read_val[loc], true;
    ReadResult r = memory.read(loc, txn);
    if (r.kind == FROM_ESTIMATE) {
      blocking = r.txn;
      return false;
    }
    v = r.kind == FROM_WRITER ? r.value : pre[loc];
    s.read_gen[loc] = s.gen;
    s.read_val[loc] = v;
    s.reads.push_back({loc, r.kind == FROM_WRITER ? r.txn : -1, r.incarnation});
    return true;
  }
  void write(uint32_t loc, uint64_t v) {
    if (s.write_gen[loc] != s.gen) {
      s.write_gen[loc] = s.gen;
      s.written.push_back(loc);
    }
    s.write_val[loc] = v;
  }
};

Task try_execute(Shared& sh, Scratch& scratch, Task task) {
  const Block& b = *sh.block;
  Scheduler& sched = *sh.scheduler;
  MVMemory& memory = *sh.memory;
  const int64_t first = int64_t(task.txn) * sh.chunk, end = std::min(b.n_tx, first + sh.chunk);
  while (true) {
    sh.executions.fetch_add(end - first, std::memory_order_relaxed);
    scratch.next();
    SpeculativeState st{scratch, memory, b.pre, task.txn};
    bool blocked = false;
    for (int64_t i = first; i < end && !blocked; ++i) blocked = !run_tx(b, i, st);
    if (blocked) {
      if (sched.add_dependency(task.txn, st.blocking)) return {};
      continue;  // the blocking chunk finished meanwhile: run again
    }
    Chunk& c = sched.chunks[task.txn];
    bool wrote_new_location = false;
    for (uint32_t loc : scratch.written)
      wrote_new_location |= memory.put(loc, task.txn, task.incarnation, scratch.write_val[loc]);
    for (uint32_t loc : c.writes)
      if (scratch.write_gen[loc] != scratch.gen) memory.remove(loc, task.txn);
    c.writes.assign(scratch.written.begin(), scratch.written.end());
    {
      std::lock_guard<std::mutex> g(c.read_set_lock);
      c.reads.swap(scratch.reads);
    }
    return sched.finish_execution(task.txn, task.incarnation, wrote_new_location);
  }
}

Task validate(Shared& sh, Task task) {
  Scheduler& sched = *sh.scheduler;
  MVMemory& memory = *sh.memory;
  const int64_t first = int64_t(task.txn) * sh.chunk;
  sh.validations.fetch_add(std::min(sh.block->n_tx, first + sh.chunk) - first, std::memory_order_relaxed);
  Chunk& c = sched.chunks[task.txn];
  bool valid = true;
  {
    std::lock_guard<std::mutex> g(c.read_set_lock);
    for (const ReadRecord& seen : c.reads) {
      ReadResult now = memory.read(seen.loc, task.txn);
      if (now.kind == FROM_ESTIMATE || (now.kind == FROM_STORAGE ? seen.txn != -1
                                        : now.txn != seen.txn || now.incarnation != seen.incarnation)) {
        valid = false;
        break;
      }
    }
  }
  bool aborted = !valid && sched.try_validation_abort(task.txn, task.incarnation);
  if (aborted)
    for (uint32_t loc : c.writes) memory.mark_estimate(loc, task.txn);
  return sched.finish_validation(task.txn, aborted);
}

void worker(Shared& sh, Scratch& scratch, const std::vector<int32_t>& cpus) {
  if (!cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int32_t cpu : cpus) CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);  // best effort, as numa.py's pinning
  }
  Scheduler& sched = *sh.scheduler;
  Task task;
  while (!sched.done_marker.load()) {
    if (task.kind == EXECUTE) task = try_execute(sh, scratch, task);
    if (task.kind == VALIDATE) task = validate(sh, task);
    if (task.kind == NO_TASK) {
      task = sched.next_task();
      if (task.kind == NO_TASK) std::this_thread::yield();
    }
  }
}

int fail(char* err, int64_t err_len, const char* message) {
  if (err && err_len > 0) std::snprintf(err, size_t(err_len), "%s", message);
  return -1;
}

}  // namespace

// Executes n_tx transfers over n_acct accounts (see mvcc/native.py for every array's meaning).
// Returns 0, or -1 with a message in err (bad input; nothing written to the outputs then).
extern "C" int supervm_blockstm_transfers(
    int64_t n_tx, int64_t n_acct, const uint8_t* kind, const int32_t* sender, const int32_t* recipient,
    const uint64_t* amount, const uint64_t* nonce, const uint8_t* sig_ok, const uint64_t* pre_balance,
    const uint64_t* pre_nonce, int64_t num_threads, int64_t chunk, const int32_t* cpus,
    const int64_t* cpu_offsets, uint8_t* status, uint64_t* out0, uint64_t* out1, uint64_t* post_balance,
    uint64_t* post_nonce, uint8_t* written, int64_t* stats, char* err, int64_t err_len) {
  char message[160];
  if (n_tx < 0 || n_acct < 0 || n_acct > (int64_t(1) << 30) || n_tx > (int64_t(1) << 31) - 1)
    return fail(err, err_len, "n_tx and n_acct must be in [0, 2^31) and [0, 2^30]");
  if (num_threads < 1 || num_threads > 4096) return fail(err, err_len, "num_threads must be in [1, 4096]");
  if (chunk < 1) return fail(err, err_len, "chunk must be >= 1");
  for (int64_t i = 0; i < n_tx; ++i) {
    if (kind[i] > KIND_NODE_TRANSFER) {
      std::snprintf(message, sizeof message, "transaction %lld: kind %d is not 0 (Transfer) or 1 (node transfer)",
                    (long long)i, int(kind[i]));
      return fail(err, err_len, message);
    }
    if (sender[i] < 0 || sender[i] >= n_acct || recipient[i] < 0 || recipient[i] >= n_acct) {
      std::snprintf(message, sizeof message, "transaction %lld: account index %d or %d outside [0, %lld)",
                    (long long)i, sender[i], recipient[i], (long long)n_acct);
      return fail(err, err_len, message);
    }
  }
  if (cpus) {
    for (int64_t w = 0; w < num_threads; ++w) {
      if (cpu_offsets[w] < 0 || cpu_offsets[w] > cpu_offsets[w + 1])
        return fail(err, err_len, "cpu_offsets must be non-decreasing from 0");
      for (int64_t k = cpu_offsets[w]; k < cpu_offsets[w + 1]; ++k)
        if (cpus[k] < 0 || cpus[k] >= CPU_SETSIZE) {
          std::snprintf(message, sizeof message, "worker %lld: cpu %d outside [0, %d)", (long long)w, cpus[k],
                        CPU_SETSIZE);
          return fail(err, err_len, message);
        }
    }
  }
  try {
    const size_t n_loc = size_t(2 * n_acct);
    std::vector<uint64_t> state(n_loc);
    for (int64_t a = 0; a < n_acct; ++a) state[2 * a] = pre_balance[a], state[2 * a + 1] = pre_nonce[a];
    std::vector<uint8_t> touched(size_t(n_acct), 0);
    Block b{n_tx, kind, sender, recipient, amount, nonce, sig_ok, state.data(), status, out0, out1};
    int64_t executions = n_tx, validations = 0;
    if (num_threads == 1 || n_tx == 0) {
      SerialState st{state.data(), touched.data()};
      for (int64_t i = 0; i < n_tx; ++i) run_tx(b, i, st);
    } else {
      const int64_t n_chunks = (n_tx + chunk - 1) / chunk;
      MVMemory memory(n_loc);
      Scheduler scheduler(static_cast<int32_t>(n_chunks));
      Shared sh{&b, chunk, &memory, &scheduler};
      std::vector<std::vector<int32_t>> cpu_sets(static_cast<size_t>(num_threads));
      if (cpus)
        for (int64_t w = 0; w < num_threads; ++w) cpu_sets[w].assign(cpus + cpu_offsets[w], cpus + cpu_offsets[w + 1]);
      std::vector<Scratch> scratch;
      scratch.reserve(size_t(num_threads));
      for (int64_t w = 0; w < num_threads; ++w) scratch.emplace_back(n_loc);
      std::vector<std::thread> threads;
      for (int64_t w = 1; w < num_threads; ++w)
        threads.emplace_back(worker, std::ref(sh), std::ref(scratch[w]), std::cref(cpu_sets[w]));
      {
        // Worker 0 is the calling thread (the GIL is released by ctypes); its affinity is restored.
        cpu_set_t own;
        bool restore = !cpu_sets[0].empty() && pthread_getaffinity_np(pthread_self(), sizeof own, &own) == 0;
        worker(sh, scratch[0], cpu_sets[0]);
        if (restore) pthread_setaffinity_np(pthread_self(), sizeof own, &own);
      }
      for (std::thread& t : threads) t.join();
      for (size_t loc = 0; loc < n_loc; ++loc) {
        Entries& entries = memory.locs[loc].entries;
        if (entries.empty()) continue;
        state[loc] = entries.back().value;
        touched[loc >> 1] |= uint8_t(1u << (loc & 1));
      }
      executions = sh.executions.load();
      validations = sh.validations.load();
    }
    for (int64_t a = 0; a < n_acct; ++a) {
      post_balance[a] = state[2 * a];
      post_nonce[a] = state[2 * a + 1];
      written[a] = touched[a];
    }
    stats[0] = executions;
    stats[1] = validations;
    return 0;
  } catch (const std::exception& e) {
    return fail(err, err_len, e.what());
  }
}
