// Durable leases (docs/architecture.md "Durability"): the journal, the mirror, the
// snapshots and crash recovery, behind one facade the control thread drives.
//
// Data flow: workers emit engine::LeaseChange records (full lease state, not
// deltas) over their SPSC rings; the control thread hands each drained batch
// to Store::take(), which stamps every record with a global 64-bit journal
// sequence number, buffers it for the journal and applies it to the mirror
// (every lease, as the shards hold them). Store::tick() does the rest on the
// control thread's pace: group commit (write + fdatasync at most every
// commit_interval_us, or at once when commit_records are buffered), the
// per-worker durable sequence numbers that release held ACKs, snapshots
// written from the mirror in the background, deletion of the segments a
// snapshot covers, and retries after write errors.
//
// Files in `dir` (see format.hpp for the bytes):
//   LOCK                         flock()ed by the one process using the store
//   journal-<first seq, 16 hex>.log    segments; records in seq order
//   snapshot-<seq, 16 hex>.snap  every lease as of journal seq <seq> (fuzzy:
//                                replaying the journal after <seq> makes it exact)
//   *.tail-<offset>              bytes cut off a damaged segment at recovery,
//                                kept for inspection, never read again
//
// Recovery (open()): newest snapshot that validates, then every record with a
// higher seq from the segments in order. A segment is read up to its first
// torn or corrupt record: that record and the rest of the file are copied to
// a .tail file, the segment is truncated there, counted, and replay goes on
// with the next segment (records carry full state, so later records are
// still right to apply). Then a fresh segment is started.
//
// Write errors (ENOSPC, EIO): the failed segment is truncated back to its last
// durable byte (never a partial record on disk), the records stay buffered,
// writable() turns false (the engine then refuses new leases), the error is
// counted and returned by tick() at most once per second for logging, and
// every later tick retries; the first commit that succeeds makes the store
// writable again and releases every held ACK.
//
// Threads: a Store is owned and used by the control thread only; it runs one
// background thread of its own for snapshot file writes and fsyncs. Nothing
// here is touched by workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/lease.hpp"

namespace dorado::store {

enum class Durability : std::uint8_t {
  off,     // no store at all: leases are lost at restart (benchmarks)
  async,   // ACK at once; the journal follows within commit_interval_us
  fsync,   // ACK only after the record is on disk (default)
};

struct StoreOptions {
  std::string dir;
  Durability durability = Durability::fsync;
  std::uint32_t commit_interval_us = 1000;    // group commit: at most this long between fsyncs
  std::uint32_t commit_records = 16384;       // ... or as soon as this many records are buffered
  std::uint64_t segment_bytes = 64ull << 20;  // a new segment once the current one is this big
  std::uint64_t snapshot_records = 4'000'000; // journal records since the last snapshot that start a new one
  unsigned workers = 1;                       // sources of take(); durable_shard_seq() per worker
};

// What open() found and did.
// CPU time of the calling thread, in seconds (RecoveryStats::cpu_seconds;
// the daemon's hand-over line uses it too, control/daemon/serve.cpp).
double thread_cpu_seconds() noexcept;

struct RecoveryStats {
  std::string snapshot;              // file loaded, empty if none
  std::uint64_t snapshot_seq = 0;
  std::uint64_t snapshot_leases = 0;
  std::uint32_t snapshots_rejected = 0;   // newer snapshots that did not validate
  std::uint32_t segments = 0;        // segments read
  std::uint64_t records_replayed = 0;
  std::uint64_t records_skipped = 0; // seq <= snapshot seq (already in the snapshot)
  std::uint32_t torn = 0;            // segments cut at a torn record (a crash mid-write)
  std::uint32_t corrupt = 0;         // segments cut at a CRC or format error
  std::uint64_t bytes_cut = 0;       // bytes moved to .tail files
  std::uint64_t last_seq = 0;        // highest seq recovered (the next record gets last_seq + 1)
  std::uint64_t leases = 0;          // leases in the mirror after recovery
  double seconds = 0;                // wall time of open()
  double cpu_seconds = 0;            // CPU time of the thread that ran open() (a loaded host's
                                     // wall clock is mostly waiting for a CPU)
};

// Counters for the operator (monotonic unless said otherwise).
struct StoreCounters {
  std::uint64_t records = 0;         // records taken
  std::uint64_t records_invalid = 0; // records dropped by take(): op out of range
  std::uint64_t bytes = 0;           // journal bytes written (successfully)
  std::uint64_t commits = 0;         // successful write+fsync groups
  std::uint64_t write_errors = 0;    // failed commits (each retried)
  std::uint64_t snapshots = 0;       // snapshots completed
  std::uint64_t snapshot_errors = 0;
  std::uint64_t segments_deleted = 0;
  std::uint64_t pending_records = 0; // gauge: taken, not yet durable
  std::uint64_t leases = 0;          // gauge: leases in the mirror
  std::uint64_t fsync_ns_last = 0;   // gauge: duration of the last fdatasync
  std::uint64_t fsync_ns_max = 0;
};

// One lease as the store holds it: the last change record for it (op says the
// state: commit/renew = bound until `expires`, release/expire = inactive
// history kept sticky for the client, decline with key_len 0 = address in
// probation until `expires`). `shard` and `seq` are meaningless here.
using StoredLease = engine::LeaseChange;

class Store {
 public:
  struct Opened {
    std::unique_ptr<Store> store;
    RecoveryStats stats;
    std::string error;   // "store /var/lib/dorado: locked by another process", ...
  };
  // Creates `dir` if needed (0700), takes the lock, recovers, starts a new
  // segment. Durability::off is refused here (the caller makes no Store).
  static Opened open(const StoreOptions& options);

  ~Store();   // stops the snapshot thread (abandoning a snapshot in progress), unlocks
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Every lease recovered or taken since, in no particular order. For handing
  // shards their leases at start-up (before the ports open) and for export.
  void for_each_lease(const std::function<void(const StoredLease&)>& fn) const;
  std::size_t lease_count() const noexcept;
  // The same walk a lease at a time, for the start-up hand-over (serve.cpp
  // restore_leases): read_lease(i, out) for every i below lease_slot_end()
  // fills `out` with lease i, or returns false (out untouched) for a free
  // number. `out` is written only as far as its lengths say (Mirror::read):
  // reuse one record, no function object or zeroed copy per lease. No
  // take() in between.
  std::uint32_t lease_slot_end() const noexcept;
  bool read_lease(std::uint32_t i, StoredLease& out) const noexcept;

  // Records drained from worker `worker`'s ring, oldest first (their
  // per-shard seq increasing, wrapping). Never fails: the bytes are buffered
  // until a commit succeeds.
  void take(unsigned worker, std::span<const engine::LeaseChange> changes);

  // Housekeeping, called every control loop (~every 100 us - 1 ms) with a
  // monotonic clock in microseconds. Commits when due, advances the snapshot,
  // retries after errors. Returns a message to log (at most one per second
  // while writes fail, one when they recover), else empty.
  std::string tick(std::uint64_t now_us);

  // The highest per-shard seq of worker `worker` that is on disk (fsync) or
  // written (async); ACKs that depend on records up to it may leave.
  std::uint32_t durable_shard_seq(unsigned worker) const noexcept;
  bool writable() const noexcept;

  // Clean stop: commits what is buffered (one try), finishes or abandons the
  // running snapshot, and when `snapshot` is true writes a final snapshot so
  // the next start replays nothing. Returns an error message or empty.
  std::string close(bool snapshot);

  StoreCounters counters() const noexcept;
  std::size_t memory_bytes() const noexcept;   // mirror + buffers

  // ---- for HA replication (control/ha/) --------------------------------------
  // The journal's identity: a random number made when the store directory
  // was first used (file JOURNAL-ID), so a partner can tell this journal's
  // seqs from those of a store that was wiped and started again.
  std::uint64_t journal_id() const noexcept;
  // Highest seq taken, and highest on disk (written for async, fdatasynced
  // for fsync): every record <= durable_seq() can be read back.
  std::uint64_t last_seq() const noexcept;
  std::uint64_t durable_seq() const noexcept;
  // Called by take() for every record it stamps, before the mirror applies
  // it (find_lease() still answers the lease as it was): the worker it came
  // from, its seq, the change and its encoded journal record (format.hpp).
  // One tap per consumer: HA replication and DDNS (control/ddns/); an
  // empty function removes it.
  using Tap = std::function<void(unsigned worker, std::uint64_t seq, const engine::LeaseChange& change,
                                 std::span<const std::uint8_t> record)>;
  enum class TapSlot : std::uint8_t { ha, ddns };
  void set_tap(Tap tap, TapSlot slot = TapSlot::ha);
  // The stored record of a client key (kind byte + bytes), as for_each_lease gives it.
  std::optional<StoredLease> find_lease(std::span<const std::uint8_t> key) const;
  // Lease changes the HA partner made, journaled as they arrive (with the
  // same durability as the workers' records, and in the mirror), before
  // the shards install them; also the control thread's own records (the
  // MADCAP server's multicast leases, control/madcap/service.hpp): the partner is acknowledged once
  // durable_seq() reaches the returned seq (the last one's). Not given to
  // the tap and not counted in any worker's durable_shard_seq.
  std::uint64_t take_replicated(std::span<const engine::LeaseChange> changes);
  static constexpr unsigned kReplicated = ~0u;   // take()'s worker for those
  // Appends to `out` the encoded journal records with seq > `after` and
  // <= durable_seq(), in order, from the segments on disk, until about
  // `max_bytes` are appended; `last` = the seq of the last one appended
  // (unchanged when none). Resumes cheaply where the previous call ended.
  enum class TailStatus : std::uint8_t {
    ok,     // some appended, maybe more to come
    end,    // nothing after `after` on disk yet
    gone,   // records after `after` are no longer in any segment (a snapshot
            // replaced them): a full transfer is needed
    error,  // the files could not be read (`error` says why)
  };
  TailStatus read_journal(std::uint64_t after, std::size_t max_bytes, std::vector<std::uint8_t>& out,
                          std::uint64_t& last, std::string* error = nullptr);

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Offline access for tools (dorado-leases): the store must not be in use
// (the lock is taken for the duration).
//   read_store: recovers into memory without writing anything (no .tail
//               files, no truncation), calls fn for every lease.
//   write_store: replaces the store's content by `leases`: writes a snapshot
//               with a seq above everything present, then deletes the older
//               snapshots and every segment.
std::string read_store(const std::string& dir,
                       const std::function<void(const StoredLease&)>& fn,
                       RecoveryStats* stats = nullptr);
std::string write_store(const std::string& dir, std::span<const StoredLease> leases);

}  // namespace dorado::store
