// The store facade: recovery, group commit, write-error handling, snapshot
// scheduling, the offline read/write used by tools. See store.hpp for the
// contract and format.hpp for the bytes.
//
// Commit states. `pending_` holds every record taken and not yet known to be
// on disk; its first `written_` bytes were written to the current segment at
// durable_offset_ but not yet synced. fsync mode writes and fdatasyncs in the
// same tick, so written_ is 0 between ticks. async mode writes every
// commit_interval_us and fdatasyncs at most every kAsyncSyncUs (and before a
// rotation or close): the records stay in `pending_` until that sync, so a
// failed fdatasync can still rewrite them. In async mode durable_shard_seq()
// is the last per-shard seq taken: ACKs are not held, the journal follows.
//
// Fsyncgate: after a failed write or fdatasync the kernel may have dropped
// the dirty pages and cleared the error, so the outcome is never trusted:
// the segment is cut back to durable_offset_ and all of pending_ is written
// and synced again by the retry.
#include "store/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <array>
#include <optional>
#include <random>

#include "store/format.hpp"
#include "store/journal.hpp"
#include "store/mirror.hpp"
#include "store/snapshot.hpp"

namespace dorado::store {
namespace {

using engine::LeaseChange;
using engine::LeaseOp;

constexpr std::uint64_t kRetryUs = 100'000;            // after a failed commit
constexpr std::uint64_t kErrorLogUs = 1'000'000;       // at most one error message per second
constexpr std::uint64_t kAsyncSyncUs = 1'000'000;      // async mode: fdatasync at most this often
constexpr std::uint64_t kSnapshotRetryUs = 10'000'000; // after a failed snapshot
// Entries encoded per tick while a snapshot runs: about 1 ms of control-thread
// time (BM_SnapshotEncode: ~67 ns per entry, 1 M leases), ~1 MiB of records.
constexpr std::uint32_t kSnapshotEntriesPerTick = 16384;
constexpr std::size_t kSnapshotQueue = 4;              // buffers waiting for the writer thread

std::uint64_t wall_seconds() { return static_cast<std::uint64_t>(std::time(nullptr)); }

constexpr const char* kJournalIdFile = "JOURNAL-ID";

// The store's journal identity (Store::journal_id): 16 hex digits in
// JOURNAL-ID, made (random, never 0) when missing or unreadable.
std::uint64_t journal_id_of(int dir_fd) {
  if (MappedFile::Opened m = MappedFile::open(dir_fd, kJournalIdFile); m.file) {
    const auto b = m.file->bytes();
    std::uint64_t v = 0;
    std::size_t i = 0;
    for (; i < b.size() && i < 16; ++i) {
      const char ch = static_cast<char>(b[i]);
      const int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
      if (d < 0) break;
      v = v << 4 | static_cast<unsigned>(d);
    }
    if (i == 16 && v != 0) return v;
  }
  std::random_device rd;
  std::uint64_t v = 0;
  while (v == 0) v = (std::uint64_t{rd()} << 32) ^ rd();
  char text[18];
  std::snprintf(text, sizeof text, "%016llx\n", static_cast<unsigned long long>(v));
  write_new_file(dir_fd, kJournalIdFile, {reinterpret_cast<const std::uint8_t*>(text), 17});
  fsync_dir(dir_fd);
  return v;   // a failed write only means a new id (a full transfer) next time
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string errno_text(int err) { return std::strerror(err); }

// mkdir -p, new components 0700.
std::string make_dirs(const std::string& dir) {
  if (dir.empty()) return "empty directory name";
  for (std::size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    const std::string part = dir.substr(0, i);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return "mkdir " + part + ": " + errno_text(errno);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return errno_text(errno);
  if (!S_ISDIR(st.st_mode)) return "not a directory";
  return {};
}

// The directory and its LOCK, held until destroyed.
struct DirLock {
  int dir_fd = -1;
  int lock_fd = -1;
  DirLock() = default;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  DirLock(DirLock&& o) noexcept : dir_fd(o.dir_fd), lock_fd(o.lock_fd) { o.dir_fd = o.lock_fd = -1; }
  DirLock& operator=(DirLock&& o) noexcept {
    std::swap(dir_fd, o.dir_fd);
    std::swap(lock_fd, o.lock_fd);
    return *this;
  }
  ~DirLock() {
    if (lock_fd >= 0) ::close(lock_fd);   // releases the flock
    if (dir_fd >= 0) ::close(dir_fd);
  }
};

struct Locked {
  DirLock lock;
  std::string error;
};

Locked lock_dir(const std::string& dir, bool create) {
  Locked l;
  const std::string who = "store " + dir + ": ";
  if (create) {
    if (std::string e = make_dirs(dir); !e.empty()) {
      l.error = who + e;
      return l;
    }
  }
  l.lock.dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (l.lock.dir_fd < 0) {
    l.error = who + errno_text(errno);
    return l;
  }
  l.lock.lock_fd = ::openat(l.lock.dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (l.lock.lock_fd < 0) {
    l.error = who + "LOCK: " + errno_text(errno);
    return l;
  }
  if (::flock(l.lock.lock_fd, LOCK_EX | LOCK_NB) != 0) {
    l.error = errno == EWOULDBLOCK ? who + "locked by another process"
                                   : who + "lock LOCK: " + errno_text(errno);
    return l;
  }
  return l;
}

// A record as the store keeps it: lengths clamped; false when the op is
// unknown (such a record is dropped).
bool valid_op(const LeaseChange& c) {
  return c.op >= LeaseOp::commit && c.op <= LeaseOp::reclaim;
}
bool needs_clamp(const LeaseChange& c) {
  return c.key_len > engine::kMaxKeyLen || c.hostname_len > engine::kMaxHostnameLen;
}
LeaseChange clamped(const LeaseChange& c) {
  LeaseChange n = c;
  n.key_len = static_cast<std::uint8_t>(std::min<std::size_t>(n.key_len, engine::kMaxKeyLen));
  n.hostname_len = static_cast<std::uint8_t>(std::min<std::size_t>(n.hostname_len, engine::kMaxHostnameLen));
  return n;
}

struct Recovered {
  Mirror mirror;
  RecoveryStats stats;
  std::uint64_t highest_name_seq = 0;   // of every store file present (write_store)
  std::string error;
};

// Loads the newest valid snapshot and replays the segments. repair: cut
// damaged segments (keeping the cut bytes in .tail files) and remove stale
// snapshot .tmp files; else read only.
Recovered recover(int dir_fd, const std::string& dir, bool repair) {
  Recovered r;
  RecoveryStats& s = r.stats;
  const std::string who = "store " + dir + ": ";
  const DirListing listing = list_store_dir(dir_fd);
  if (!listing.result.ok()) {
    r.error = who + io_text(listing.result, ".");
    return r;
  }
  if (repair)
    for (const std::string& t : listing.temporaries) remove_file(dir_fd, t);
  for (const StoreFile& f : listing.segments) r.highest_name_seq = std::max(r.highest_name_seq, f.seq);
  for (const StoreFile& f : listing.snapshots) r.highest_name_seq = std::max(r.highest_name_seq, f.seq);

  for (auto it = listing.snapshots.rbegin(); it != listing.snapshots.rend(); ++it) {
    LoadedSnapshot l = load_snapshot(dir_fd, it->name);
    if (l.result.ok() && l.scan.status == Status::ok && l.scan.header.seq == it->seq) {
      r.mirror = std::move(l.mirror);
      s.snapshot = it->name;
      s.snapshot_seq = it->seq;
      s.snapshot_leases = l.scan.leases;
      break;
    }
    ++s.snapshots_rejected;
  }
  s.last_seq = s.snapshot_seq;

  MirrorLoader loader(r.mirror);   // applies in order, a few records behind (mirror.hpp)
  for (const StoreFile& f : listing.segments) {
    std::optional<std::size_t> cut;   // keep bytes [0, cut), move the rest to a .tail file
    std::vector<std::uint8_t> tail;
    {
      const MappedFile::Opened m = MappedFile::open(dir_fd, f.name);
      if (!m.result.ok()) {
        r.error = who + io_text(m.result, f.name);
        return r;
      }
      const auto bytes = m.file->bytes();
      ++s.segments;
      const auto apply = [&](const DecodedRecord& d) {
        if (d.seq > s.snapshot_seq) {
          loader.add(d.change);
          ++s.records_replayed;
        } else {
          ++s.records_skipped;
        }
      };
      SegmentScan scan;
      scan.header = decode_file_header(FileKind::segment, bytes);
      if (scan.header.status == Status::ok && scan.header.header.seq != f.seq) {
        scan.header.status = Status::corrupt;   // renamed or misplaced: its seqs cannot be trusted
        scan.header.error = FormatError::bad_seq;
      }
      if (scan.header.status == Status::ok) {
        scan = scan_segment(bytes, apply);
      } else {
        scan.records.status = scan.header.status;
        scan.records.error = scan.header.error;
      }
      s.last_seq = std::max(s.last_seq, scan.records.last_seq);
      if (scan.records.status == Status::torn) ++s.torn;
      if (scan.records.status == Status::corrupt) ++s.corrupt;
      if (scan.records.status == Status::torn || scan.records.status == Status::corrupt) {
        cut = scan.records.offset;
        s.bytes_cut += bytes.size() - *cut;
        if (repair) tail.assign(bytes.begin() + static_cast<std::ptrdiff_t>(*cut), bytes.end());
      }
    }   // unmapped before the file is cut
    if (!repair || !cut) continue;
    if (!tail.empty()) {
      const std::string tail_name = f.name + ".tail-" + std::to_string(*cut);
      if (const IoResult w = write_new_file(dir_fd, tail_name, tail); !w.ok()) {
        r.error = who + io_text(w, tail_name);
        return r;
      }
    }
    // A segment without a valid header is of no use any more.
    const IoResult t = *cut == 0 ? remove_file(dir_fd, f.name) : truncate_file(dir_fd, f.name, *cut);
    if (!t.ok()) {
      r.error = who + io_text(t, f.name);
      return r;
    }
  }
  loader.flush();
  if (repair) {
    if (const IoResult d = fsync_dir(dir_fd); !d.ok()) {
      r.error = who + io_text(d, ".");
      return r;
    }
  }
  s.leases = r.mirror.size();
  return r;
}

// Removes the snapshots older than `seq`, and every segment all of whose
// records are <= seq (the next segment starts at or before seq + 1), except
// `keep` (the segment being written). Returns the segments removed.
std::uint64_t remove_covered(int dir_fd, std::uint64_t seq, const std::string& keep, bool all_segments) {
  const DirListing l = list_store_dir(dir_fd);
  if (!l.result.ok()) return 0;
  for (const StoreFile& f : l.snapshots)
    if (f.seq < seq) remove_file(dir_fd, f.name);
  std::uint64_t removed = 0;
  for (std::size_t i = 0; i < l.segments.size(); ++i) {
    const StoreFile& f = l.segments[i];
    if (f.name == keep) continue;
    const bool covered = all_segments || (i + 1 < l.segments.size() && l.segments[i + 1].seq <= seq + 1);
    if (covered && remove_file(dir_fd, f.name).ok()) ++removed;
  }
  fsync_dir(dir_fd);
  return removed;
}

}  // namespace

struct Store::Impl {
  StoreOptions options;
  DirLock lock;
  Mirror mirror;
  std::unique_ptr<SegmentFile> segment;    // null after a failed creation: the next commit retries
  std::uint64_t durable_offset = 0;        // bytes of `segment` on disk
  std::vector<std::uint8_t> pending;       // records not known to be on disk
  std::size_t written = 0;                 // of `pending`, written at durable_offset (not synced)
  std::uint64_t pending_records = 0;
  std::uint64_t unwritten_records = 0;
  std::uint64_t next_seq = 1;
  std::vector<std::uint32_t> taken_shard_seq;
  std::vector<std::uint32_t> written_shard_seq;   // taken_shard_seq when `written` was cut
  std::vector<std::uint32_t> durable_shard_seq;
  std::uint64_t written_seq = 0;           // last seq of `pending` when `written` was cut
  std::uint64_t durable_seq = 0;           // every record <= it is on disk (Store::durable_seq)
  std::uint64_t journal_id = 0;
  std::array<Store::Tap, 2> taps;   // by Store::TapSlot
  // read_journal's place: the segment, the byte offset after the record with seq `seq`.
  struct TailCursor {
    std::string segment;
    std::uint64_t offset = 0;
    std::uint64_t seq = 0;
    bool valid = false;
  } tail;

  bool writable = true;
  std::uint64_t failures = 0;              // consecutive failed commits
  std::uint64_t retry_at_us = 0;
  std::optional<std::uint64_t> last_error_log_us;
  std::uint64_t last_commit_us = 0;
  std::uint64_t last_sync_us = 0;
  StoreCounters counters;
  bool closed = false;

  std::uint64_t records_since_snapshot = 0;
  std::unique_ptr<SnapshotThread> snapshot;
  std::optional<SnapshotEncoder> encoder;
  std::uint64_t snapshot_seq = 0;
  std::uint64_t snapshot_records_at_start = 0;
  std::uint64_t snapshot_retry_at_us = 0;

  std::string who() const { return "store " + options.dir + ": "; }
  std::string commit(std::uint64_t now_us, bool force_sync);
  std::string failed(const IoResult& r, const std::string& file, std::uint64_t now_us);
  std::string advance_snapshot(std::uint64_t now_us);
  void abandon_snapshot();
};

std::string Store::Impl::failed(const IoResult& r, const std::string& file, std::uint64_t now_us) {
  ++counters.write_errors;
  ++failures;
  writable = false;
  retry_at_us = now_us + kRetryUs;
  // Never trust a failed write or fdatasync (see the top of this file): cut
  // back to the last durable byte and write everything again next time.
  if (segment) segment->truncate(durable_offset);
  written = 0;
  unwritten_records = pending_records;
  if (last_error_log_us && now_us - *last_error_log_us < kErrorLogUs) return {};
  last_error_log_us = now_us;
  return who() + io_text(r, file) + " (" + std::to_string(failures) + " failure(s), " +
         std::to_string(pending_records) + " record(s) waiting; retrying)";
}

// One commit attempt: rotate if due, write what is unwritten, fdatasync when
// the mode (or force_sync) says so.
std::string Store::Impl::commit(std::uint64_t now_us, bool force_sync) {
  last_commit_us = now_us;
  if (!segment || (written == 0 && pending_records > 0 && durable_offset >= options.segment_bytes)) {
    const std::uint64_t first = next_seq - pending_records;
    SegmentFile::Created c = SegmentFile::create(lock.dir_fd, first, wall_seconds());
    if (!c.result.ok()) return failed(c.result, segment_name(first).data(), now_us);
    segment = std::move(c.file);
    durable_offset = kFileHeaderSize;
  }
  if (written < pending.size()) {
    const std::span<const std::uint8_t> rest{pending.data() + written, pending.size() - written};
    if (const IoResult r = segment->write_at(durable_offset + written, rest); !r.ok())
      return failed(r, segment->name(), now_us);
    written = pending.size();
    unwritten_records = 0;
    written_shard_seq = taken_shard_seq;
    written_seq = next_seq - 1;
    if (options.durability == Durability::async) durable_seq = written_seq;
    if (options.durability == Durability::async) ++counters.commits;
  }
  const bool sync = options.durability == Durability::fsync || force_sync ||
                    now_us - last_sync_us >= kAsyncSyncUs ||
                    durable_offset + written >= options.segment_bytes;
  if (written > 0 && sync) {
    const auto t0 = std::chrono::steady_clock::now();
    const IoResult r = segment->sync();
    const auto ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    counters.fsync_ns_last = ns;
    counters.fsync_ns_max = std::max(counters.fsync_ns_max, ns);
    if (!r.ok()) return failed(r, segment->name(), now_us);
    last_sync_us = now_us;
    durable_offset += written;
    counters.bytes += written;
    if (options.durability == Durability::fsync) {
      ++counters.commits;
      durable_shard_seq = written_shard_seq;
    }
    durable_seq = written_seq;
    pending.clear();
    if (pending.capacity() > (std::size_t{16} << 20)) pending.shrink_to_fit();   // after a long outage
    written = 0;
    pending_records = 0;
  }
  if (writable) return {};
  writable = true;
  const std::uint64_t n = failures;
  failures = 0;
  last_error_log_us.reset();
  return who() + "writes succeed again after " + std::to_string(n) + " failure(s)";
}

void Store::Impl::abandon_snapshot() {
  snapshot.reset();   // joins; the thread removes its .tmp
  encoder.reset();
}

std::string Store::Impl::advance_snapshot(std::uint64_t now_us) {
  if (!snapshot) {
    if (records_since_snapshot < options.snapshot_records || now_us < snapshot_retry_at_us) return {};
    // Fuzzy snapshot at S = the last seq taken. It walks the mirror's entry
    // positions a piece per tick while take() goes on changing the mirror.
    // Recovery loads it and replays every journal record > S; as records
    // carry full state, the last record for a lease decides it whatever the
    // snapshot held. So an entry changed, created or erased after S may be
    // in the snapshot in any state (or twice, or missing): records > S put
    // it right. What must not happen is missing an entry that exists at S
    // and is not touched afterwards: it has no record > S. Entry positions
    // are stable (Mirror), and such an entry sits below slot_end() at S,
    // so the walk over [0, slot_end at S) meets it.
    snapshot_seq = next_seq - 1;
    snapshot_records_at_start = records_since_snapshot;
    encoder.emplace(mirror.slot_end());
    snapshot = std::make_unique<SnapshotThread>(lock.dir_fd, snapshot_seq, wall_seconds(), kSnapshotQueue);
    return {};
  }
  if (encoder) {
    if (!snapshot->full()) snapshot->push(encoder->next(mirror, kSnapshotEntriesPerTick));
    if (encoder->done()) {
      snapshot->finish(encoder->trailer());
      encoder.reset();
    }
    return {};
  }
  const std::optional<IoResult> r = snapshot->result();
  if (!r) return {};
  const std::string name = snapshot->name();
  snapshot.reset();
  if (!r->ok()) {
    ++counters.snapshot_errors;
    snapshot_retry_at_us = now_us + kSnapshotRetryUs;
    return who() + "snapshot " + io_text(*r, name) + " (journal kept; retrying in 10 s)";
  }
  ++counters.snapshots;
  records_since_snapshot -= snapshot_records_at_start;
  counters.segments_deleted +=
      remove_covered(lock.dir_fd, snapshot_seq, segment ? segment->name() : std::string(), false);
  return {};
}

// ---- facade ------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Store::Opened Store::open(const StoreOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = thread_cpu_seconds();
  Opened o;
  if (options.durability == Durability::off) {
    o.error = "store " + options.dir + ": durability \"off\" uses no store";
    return o;
  }
  Locked l = lock_dir(options.dir, true);
  if (!l.error.empty()) {
    o.error = l.error;
    return o;
  }
  Recovered r = recover(l.lock.dir_fd, options.dir, true);
  if (!r.error.empty()) {
    o.error = r.error;
    return o;
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->options.workers = std::max(1u, options.workers);
  impl->lock = std::move(l.lock);
  impl->mirror = std::move(r.mirror);
  impl->next_seq = r.stats.last_seq + 1;
  impl->durable_seq = impl->written_seq = r.stats.last_seq;
  impl->journal_id = journal_id_of(impl->lock.dir_fd);
  impl->taken_shard_seq.assign(impl->options.workers, 0);
  impl->written_shard_seq = impl->durable_shard_seq = impl->taken_shard_seq;
  // A long journal behind the snapshot is worth a snapshot soon.
  impl->records_since_snapshot = r.stats.records_replayed;
  SegmentFile::Created c = SegmentFile::create(impl->lock.dir_fd, impl->next_seq, wall_seconds());
  if (c.result.ok()) {
    impl->segment = std::move(c.file);
    impl->durable_offset = kFileHeaderSize;
  } else {
    // Start unwritable; the first tick retries (and reports the error).
    impl->writable = false;
    ++impl->failures;
    ++impl->counters.write_errors;
  }
  r.stats.seconds = seconds_since(t0);
  r.stats.cpu_seconds = thread_cpu_seconds() - cpu0;
  o.stats = r.stats;
  o.store.reset(new Store(std::move(impl)));
  return o;
}

void Store::for_each_lease(const std::function<void(const StoredLease&)>& fn) const {
  impl_->mirror.for_each(fn);
}

std::size_t Store::lease_count() const noexcept { return impl_->mirror.size(); }
std::uint32_t Store::lease_slot_end() const noexcept { return impl_->mirror.slot_end(); }
bool Store::read_lease(std::uint32_t i, StoredLease& out) const noexcept { return impl_->mirror.read(i, out); }

void Store::take(unsigned worker, std::span<const engine::LeaseChange> changes) {
  Impl& s = *impl_;
  if (s.closed) return;
  for (const LeaseChange& in : changes) {
    if (!valid_op(in)) {
      ++s.counters.records_invalid;
      continue;
    }
    std::optional<LeaseChange> fixed;
    if (needs_clamp(in)) fixed = clamped(in);
    const LeaseChange& c = fixed ? *fixed : in;
    const std::size_t at = s.pending.size();
    s.pending.resize(at + record_size(c));
    const std::uint64_t seq = s.next_seq++;
    encode_record(seq, c, {s.pending.data() + at, s.pending.size() - at});
    if (worker != kReplicated)
      for (const Tap& tap : s.taps)
        if (tap) tap(worker, seq, c, {s.pending.data() + at, record_size(c)});
    s.mirror.apply(c);
    ++s.pending_records;
    ++s.unwritten_records;
    ++s.records_since_snapshot;
    ++s.counters.records;
    if (worker < s.taken_shard_seq.size()) s.taken_shard_seq[worker] = in.seq;
  }
  if (s.options.durability == Durability::async) s.durable_shard_seq = s.taken_shard_seq;
}

std::uint64_t Store::take_replicated(std::span<const engine::LeaseChange> changes) {
  take(kReplicated, changes);
  return last_seq();
}

std::string Store::tick(std::uint64_t now_us) {
  Impl& s = *impl_;
  if (s.closed) return {};
  std::string msg;
  if (!s.writable) {
    if (now_us >= s.retry_at_us) msg = s.commit(now_us, false);
  } else {
    const bool due = s.unwritten_records > 0 &&
                     (now_us - s.last_commit_us >= s.options.commit_interval_us ||
                      s.unwritten_records >= s.options.commit_records);
    const bool sync_due = s.options.durability == Durability::async && s.written > 0 &&
                          now_us - s.last_sync_us >= kAsyncSyncUs;
    if (due || sync_due) msg = s.commit(now_us, false);
  }
  std::string snap = s.advance_snapshot(now_us);
  if (msg.empty()) return snap;
  if (!snap.empty()) msg += "\n" + snap;
  return msg;
}

std::uint32_t Store::durable_shard_seq(unsigned worker) const noexcept {
  return worker < impl_->durable_shard_seq.size() ? impl_->durable_shard_seq[worker] : 0;
}

bool Store::writable() const noexcept { return impl_->writable; }

std::uint64_t Store::journal_id() const noexcept { return impl_->journal_id; }
std::uint64_t Store::last_seq() const noexcept { return impl_->next_seq - 1; }
std::uint64_t Store::durable_seq() const noexcept { return impl_->durable_seq; }
void Store::set_tap(Tap tap, TapSlot slot) { impl_->taps[static_cast<std::size_t>(slot)] = std::move(tap); }

std::optional<StoredLease> Store::find_lease(std::span<const std::uint8_t> key) const {
  return impl_->mirror.find(key);
}

Store::TailStatus Store::read_journal(std::uint64_t after, std::size_t max_bytes,
                                      std::vector<std::uint8_t>& out, std::uint64_t& last,
                                      std::string* error) {
  Impl& s = *impl_;
  const std::uint64_t limit = s.durable_seq;
  if (after >= limit) return TailStatus::end;
  Impl::TailCursor& c = s.tail;
  if (!c.valid || c.seq != after) {
    // Find the segment holding after + 1: the last one starting at or before it.
    const DirListing d = list_store_dir(s.lock.dir_fd);
    if (!d.result.ok()) {
      if (error) *error = io_text(d.result, s.options.dir);
      return TailStatus::error;
    }
    const StoreFile* from = nullptr;
    for (const StoreFile& f : d.segments)
      if (f.seq <= after + 1) from = &f;
    if (from == nullptr) return TailStatus::gone;
    c = {from->name, kFileHeaderSize, from->seq - 1, true};
  }
  const std::size_t start = out.size();
  while (out.size() - start < max_bytes) {
    MappedFile::Opened m = MappedFile::open(s.lock.dir_fd, c.segment);
    if (!m.file) {
      c.valid = false;
      if (m.result.err == ENOENT) return TailStatus::gone;   // removed under us (a snapshot)
      if (error) *error = io_text(m.result, c.segment);
      return TailStatus::error;
    }
    const std::span<const std::uint8_t> bytes = m.file->bytes();
    bool progressed = false;
    while (c.offset < bytes.size() && out.size() - start < max_bytes) {
      const DecodedRecord r = decode_record(bytes.subspan(c.offset));
      if (r.status != Status::ok || r.seq > limit) break;
      if (r.seq > after) {   // the first records of a segment found by name may be <= after
        out.insert(out.end(), bytes.begin() + static_cast<std::ptrdiff_t>(c.offset),
                   bytes.begin() + static_cast<std::ptrdiff_t>(c.offset + r.size));
        last = r.seq;
      }
      c.offset += r.size;
      c.seq = r.seq;
      progressed = true;
    }
    if (c.seq >= limit || out.size() - start >= max_bytes) break;
    if (!progressed || c.offset >= bytes.size() || decode_record(bytes.subspan(c.offset)).status != Status::ok) {
      // End of this segment's records: go on in the next one, if it exists.
      const DirListing d = list_store_dir(s.lock.dir_fd);
      const StoreFile* next = nullptr;
      for (const StoreFile& f : d.segments)
        if (f.seq == c.seq + 1) next = &f;
      if (next == nullptr) break;
      c = {next->name, kFileHeaderSize, c.seq, true};
    }
  }
  return out.size() > start ? TailStatus::ok : TailStatus::end;
}

std::string Store::close(bool snapshot) {
  Impl& s = *impl_;
  if (s.closed) return {};
  s.abandon_snapshot();
  const std::uint64_t now_us = s.last_commit_us + kRetryUs;
  std::string error;
  if (s.pending_records > 0) {
    s.commit(now_us, true);
    if (s.pending_records > 0) error = "close: " + std::to_string(s.pending_records) + " record(s) not written";
  }
  if (snapshot) {
    const std::uint64_t seq = s.next_seq - 1;
    const IoResult r = write_snapshot(s.lock.dir_fd, seq, s.mirror);
    if (r.ok()) {
      ++s.counters.snapshots;
      // Every record <= seq: the snapshot replaces the whole journal,
      // the current segment included (the next open starts a new one).
      const bool everything = s.pending_records == 0;
      s.segment.reset();
      s.counters.segments_deleted += remove_covered(s.lock.dir_fd, seq, {}, everything);
    } else {
      ++s.counters.snapshot_errors;
      if (!error.empty()) error += "; ";
      error += "snapshot " + io_text(r, snapshot_name(seq).data());
    }
  }
  s.segment.reset();
  s.closed = true;
  return error;
}

StoreCounters Store::counters() const noexcept {
  StoreCounters c = impl_->counters;
  c.pending_records = impl_->pending_records;
  c.leases = impl_->mirror.size();
  return c;
}

std::size_t Store::memory_bytes() const noexcept {
  const Impl& s = *impl_;
  return s.mirror.memory_bytes() + s.pending.capacity() + (s.snapshot ? s.snapshot->queued_bytes() : 0);
}

// ---- offline ------------------------------------------------------------------------------

std::string read_store(const std::string& dir, const std::function<void(const StoredLease&)>& fn,
                       RecoveryStats* stats) {
  const auto t0 = std::chrono::steady_clock::now();
  Locked l = lock_dir(dir, false);
  if (!l.error.empty()) return l.error;
  Recovered r = recover(l.lock.dir_fd, dir, false);
  if (!r.error.empty()) return r.error;
  r.mirror.for_each(fn);
  r.stats.seconds = seconds_since(t0);
  if (stats != nullptr) *stats = r.stats;
  return {};
}

std::string write_store(const std::string& dir, std::span<const StoredLease> leases) {
  Locked l = lock_dir(dir, true);
  if (!l.error.empty()) return l.error;
  const Recovered r = recover(l.lock.dir_fd, dir, false);
  if (!r.error.empty()) return r.error;
  Mirror mirror(leases.size());
  for (const StoredLease& lease : leases) {
    if (!valid_op(lease)) continue;
    mirror.apply(needs_clamp(lease) ? clamped(lease) : lease);
  }
  // Above every seq present: leftovers that could not be removed are skipped.
  const std::uint64_t seq = std::max(r.stats.last_seq, r.highest_name_seq) + 1;
  if (const IoResult w = write_snapshot(l.lock.dir_fd, seq, mirror); !w.ok())
    return "store " + dir + ": " + io_text(w, snapshot_name(seq).data());
  remove_covered(l.lock.dir_fd, seq, {}, true);
  return {};
}

double thread_cpu_seconds() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace dorado::store
