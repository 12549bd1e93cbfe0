// One shard's lease records: an array of 64-byte Lease records, an
// open-addressing index by client key (linear probing, power-of-two size, at
// most half full), stores for long keys and hostnames, a timer wheel for
// expiry and a FIFO of inactive (expired/released) records, the eviction
// order when the table is full.
//
// Memory follows the leases (issue 19): the records and the stores are
// ReservedArrays (engine/reserved.hpp) sized for `capacity` (the most the
// table may ever hold) but handed out from a high-water mark, so only what
// was used is resident; the index starts small and doubles when it would be
// more than half full, moving its entries to the new array a few at a time
// (incremental rehash: every insert and every maintain() moves
// kRehashStep old slots; lookups meanwhile look in both arrays), then gives
// the old array's pages back a bounded piece at a time. No worker stops for
// a whole rehash (bench/engine_bench.cpp BM_LeaseTableGrowth measures the
// worst single insert). About 64 bytes per record + 16..32 per keyed record
// (index) + 64 per hostname + 160 per long key; memory_bytes() reports it.
//
// Ownership and threads: owned by one shard, used only by its lcore; no
// locks. Only the constructor allocates (address space, mmap; it may throw
// std::bad_alloc); afterwards a full table or store is a returned error,
// never a reallocation: growth only touches pages already reserved.
//
// Cost: find/insert/erase O(1) expected (one index cache line plus one
// record line; during a rehash a miss probes both arrays); list operations
// O(1); sweep() bounded by its budget.
//
// The table knows nothing of DHCP: the shard decides states and addresses; the
// table keeps keys, storage and lists consistent. A record is in at most one
// list: the wheel (by `expires`) or the FIFO; erase() unlinks it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/client_key.hpp"
#include "engine/huge_alloc.hpp"
#include "engine/lease.hpp"
#include "engine/reserved.hpp"

namespace dorado::engine {

struct LeaseTableSizes {
  std::uint32_t capacity = 1024;         // records: clients plus declined addresses
  std::uint32_t hostname_capacity = 1024;    // hostnames kept (63 bytes each)
  std::uint32_t long_key_capacity = 64;  // keys longer than 24 bytes
  std::uint8_t wheel_bits = 16;          // 2^bits one-second buckets (16: 18 h per turn)
  std::uint32_t initial_index = 1024;    // index slots at start (power of two; grows)
};

enum class InsertError : std::uint8_t { ok, table_full, key_store_full };

struct Inserted {
  std::uint32_t index = kNil;
  InsertError error = InsertError::ok;
};

struct SweepResult {
  std::uint32_t visited = 0;   // buckets and entries looked at
  std::uint32_t due = 0;       // entries handed to the callback
  bool caught_up = false;      // every entry with expires <= now was handed out
};

class LeaseTable {
 public:
  // Limits: capacity 1 .. 2^30, wheel_bits 4 .. 24.
  // Index slots an insert or maintain() moves during a rehash.
  static constexpr std::uint32_t kRehashStep = 16;
  // Index bytes a step gives back to the kernel after a rehash (1 MiB of
  // 4 KiB pages: ~0.2 ms of madvise on the test host).
  static constexpr std::size_t kReleaseStep = std::size_t{1} << 20;
  explicit LeaseTable(const LeaseTableSizes& sizes);

  Lease& at(std::uint32_t i) noexcept { return records_[i]; }
  const Lease& at(std::uint32_t i) const noexcept { return records_[i]; }

  // ---- key index ----------------------------------------------------------------
  // Record holding `key`, or kNil.
  std::uint32_t find(const ClientKey& key) const noexcept;
  // A fresh record (state unused, key set, indexed). The caller must have
  // checked that find(key) is kNil.
  Inserted insert(const ClientKey& key) noexcept;
  // A fresh record without a key (state unused, not indexed): a probation
  // record restored from the store. Error table_full when none is left.
  Inserted insert_keyless() noexcept;
  // Removes the record's key (index entry and key storage); the record stays.
  void unindex(std::uint32_t i) noexcept;
  // Unlinks, unindexes and returns the record to the free list.
  void erase(std::uint32_t i) noexcept;
  // The record's key bytes (empty after unindex).
  wire::Bytes key(std::uint32_t i) const noexcept;

  // ---- hostnames ------------------------------------------------------------------
  // Stores `name` (truncated to 63 bytes; empty frees it) and its DNS
  // flags (`ddns` & kDdnsFlagsMask, engine/ddns.hpp; dropped with an empty
  // name). False when the store is full (the old name, if any, is kept).
  // The flags cost no space: a chunk's byte 0 holds the length in its low
  // six bits and the flags in its top two.
  bool set_hostname(std::uint32_t i, std::string_view name, std::uint8_t ddns = 0) noexcept;
  // The stored name and its flags, read together from the chunk (inline:
  // Shard::write_change reads both for every commit record with a name).
  struct StoredHostname {
    std::string_view name;   // empty: none
    std::uint8_t ddns = 0;   // kDdnsForward | kDdnsReverse; 0 without a name
  };
  StoredHostname stored_hostname(std::uint32_t i) const noexcept {
    const std::uint32_t h = records_[i].hostname;
    if (h == kNil) return {};
    const auto& chunk = hostnames_[h];
    const auto b0 = static_cast<unsigned char>(chunk[0]);
    return {{chunk.data() + 1, b0 & kHostnameLenMask}, static_cast<std::uint8_t>(b0 >> kHostnameLenBits)};
  }
  std::string_view hostname(std::uint32_t i) const noexcept { return stored_hostname(i).name; }
  // The flags stored with the name (0 without one).
  std::uint8_t hostname_ddns(std::uint32_t i) const noexcept { return stored_hostname(i).ddns; }

  // ---- timer wheel and inactive FIFO ------------------------------------------------
  // Links the record into the bucket of its `expires`, which must be later
  // than the `now` of every sweep so far. Unlink first if it is linked.
  void schedule(std::uint32_t i) noexcept;
  // Sets a new expiry for a record. A later expiry of a record already in
  // the wheel costs nothing: it stays in its bucket and the sweep moves it
  // when it gets there (a renewal touches no neighbouring records). An
  // earlier one relinks it at once.
  void reschedule(std::uint32_t i, Seconds expires) noexcept;
  // Appends the record to the inactive FIFO.
  void park(std::uint32_t i) noexcept;
  // Removes the record from whichever list holds it (no-op if none).
  void unlink(std::uint32_t i) noexcept;
  std::uint32_t oldest_parked() const noexcept { return fifo_head_; }

  // Asks for the index slot of a key hash, without waiting for it: the
  // worker calls it as each request is queued, so that touch_record() at the
  // start of the burst finds the slot in cache (its demand load of the slot
  // was ~4% of the pipeline worker's cpu-clock samples before).
  void prefetch_slot(std::uint64_t hash) const noexcept {
    __builtin_prefetch(&index_[static_cast<std::uint32_t>(hash) & index_mask_]);
  }

  // Burst warm-up: loads the index slot and the record of a key hash.
  // Demand loads, not __builtin_prefetch: a loop of short independent
  // iterations keeps many misses in flight; on the KVM/EPYC test host
  // prefetcht0 bought much less (engine_bench BM_EngineDoraExisting/8:
  // 255 ns/pkt with prefetches, ~170 with loads).
  void touch_record(std::uint64_t hash) const noexcept {
    const auto h = static_cast<std::uint32_t>(hash);
    for (std::uint32_t pos = h & index_mask_;; pos = (pos + 1) & index_mask_) {
      const IndexEntry e = index_[pos];
      if (e.inv == 0) return;
      if (e.hash == h) {
        const volatile std::uint8_t* p = &records_[~e.inv].key_len;
        (void)*p;
        return;
      }
    }
  }

  // Walks wheel buckets up to `now`, unlinks each entry with expires <= now
  // and calls on_due(index) for it (entries that were extended move to their
  // new bucket) (which must not touch other records' list
  // membership except through unlink/schedule/park/erase). Stops after
  // `budget` buckets+entries visited or `max_due` entries handed out; the
  // next call resumes where this one stopped. A clock jump of more than one
  // wheel turn costs one turn of buckets, not the jump.
  template <typename F>
  SweepResult sweep(Seconds now, std::uint32_t budget, std::uint32_t max_due, F&& on_due) noexcept;

  // ---- inspection ----------------------------------------------------------------
  std::uint32_t size() const noexcept { return used_; }
  std::uint32_t capacity() const noexcept { return static_cast<std::uint32_t>(records_.size()); }
  // Records ever handed out: every record index is below it (loops over
  // records stop here, not at capacity()).
  std::uint32_t high_water() const noexcept { return top_; }
  // Index slots now (grows by doubling) and whether a rehash is under way.
  std::uint32_t index_slots() const noexcept { return index_mask_ + 1; }
  bool rehashing() const noexcept { return old_ != nullptr; }
  // Moves up to `steps` * kRehashStep index slots of a rehash under way, or
  // gives back up to `steps` * kReleaseStep bytes of the old index array;
  // nothing when neither is pending. The shard calls it from its timer tick
  // so that a rehash ends even when inserts stop.
  void maintain(std::uint32_t steps = 1) noexcept;
  // Start-up: sizes the index for `records` keyed records at once (no
  // rehash while they are inserted), finishing any rehash under way.
  // O(index slots); never shrinks; capped at what capacity() needs. The
  // index pages are made resident at once (ReservedArray::populate), in
  // 2 MiB pages where the kernel has them (ReservedArray::advise_huge);
  // so are the next `records` lease records (4 KiB pages): one system call,
  // not a page fault per 64 records as they are first written.
  void reserve(std::uint32_t records) noexcept;
  std::uint32_t parked() const noexcept { return parked_; }
  std::size_t memory_bytes() const noexcept;
  // Calls f(index, const Lease&) for every record whose state is not unused.
  // O(high_water()).
  template <typename F>
  void for_each(F&& f) const {
    for (std::uint32_t i = 0; i < top_; ++i)
      if (records_[i].state != LeaseState::unused) f(i, records_[i]);
  }
  // Internal consistency (index <-> records, lists, stores); empty if sound.
  // O(capacity + index); for tests and debugging.
  std::string audit() const;

 private:
  // All-zero is an empty slot (fresh pages read as zero): the record index
  // is stored inverted, and kTomb (an index no record has) marks a slot of
  // the old array whose entry moved or was erased during a rehash (lookups
  // in the old array skip it, so probe chains there stay unbroken).
  struct IndexEntry {
    std::uint32_t hash;
    std::uint32_t inv;   // ~record index; 0 = empty; kTomb
  };
  static constexpr std::uint32_t kTomb = 1;
  static constexpr std::uint32_t kHeadTag = 0x80000000u;   // prev of a list head
  static constexpr std::uint32_t kFifoList = 0x7fffffffu;
  // Hostname chunk byte 0: the length in the low kHostnameLenBits, the DNS
  // flags above them.
  static constexpr unsigned kHostnameLenBits = 6;
  static constexpr unsigned kHostnameLenMask = (1u << kHostnameLenBits) - 1;

  const std::uint8_t* key_ptr(const Lease& l) const noexcept;
  void index_remove(std::uint32_t i) noexcept;
  // Inlined into find(): a call per lookup cost ~20 instructions per request.
  [[gnu::always_inline]] inline std::uint32_t find_in(const IndexEntry* table, std::uint32_t mask,
                                                      const ClientKey& key) const noexcept;
  void place(std::uint32_t hash, std::uint32_t inv) noexcept;   // into index_, no growth
  void start_grow() noexcept;
  void rehash_step(std::uint32_t slots) noexcept;
  void release_step(std::size_t bytes) noexcept;
  // A free chunk of a store holds the next free chunk's number in its first
  // four bytes (kNil ends the list); chunks never used are above the mark.
  template <typename Chunk>
  static std::uint32_t take_chunk(ReservedArray<Chunk>& store, std::uint32_t& free_head,
                                  std::uint32_t& top) noexcept;
  template <typename Chunk>
  static void give_chunk(ReservedArray<Chunk>& store, std::uint32_t& free_head, std::uint32_t chunk) noexcept;

  ReservedArray<Lease> records_;
  std::uint32_t top_ = 0;            // records [0, top_) were handed out once
  std::uint32_t free_head_ = kNil;
  std::uint32_t used_ = 0;
  // The index: two reserved arrays of the largest size used in turn; index_
  // points into regions_[cur_], old_ (during a rehash) into the other.
  ReservedArray<IndexEntry> regions_[2];
  unsigned cur_ = 0;
  IndexEntry* index_ = nullptr;
  std::uint32_t index_mask_ = 0;
  std::uint32_t indexed_ = 0;        // live entries (keyed records)
  IndexEntry* old_ = nullptr;        // rehash under way: the array being emptied
  std::uint32_t old_mask_ = 0;
  std::uint32_t old_pos_ = 0;        // next old slot to move
  std::size_t release_from_ = 0;     // bytes of regions_[cur_ ^ 1] still to give back
  std::size_t release_to_ = 0;
  ReservedArray<std::array<std::uint8_t, kMaxKeyLen>> long_keys_;
  std::uint32_t long_key_top_ = 0;
  std::uint32_t long_key_free_ = kNil;
  std::uint32_t long_keys_used_ = 0;
  ReservedArray<std::array<char, kMaxHostnameLen + 1>> hostnames_;   // [0] = length | ddns << 6
  std::uint32_t hostname_top_ = 0;
  std::uint32_t hostname_free_ = kNil;
  std::uint32_t hostnames_used_ = 0;
  std::vector<std::uint32_t> wheel_;
  std::uint32_t wheel_mask_ = 0;
  std::uint32_t fifo_head_ = kNil;
  std::uint32_t fifo_tail_ = kNil;
  std::uint32_t parked_ = 0;
  Seconds cursor_ = 0;               // second whose bucket is swept next
  bool mid_bucket_ = false;
  std::uint32_t sweep_next_ = kNil;  // next entry of the bucket being swept
};

template <typename F>
SweepResult LeaseTable::sweep(Seconds now, std::uint32_t budget, std::uint32_t max_due,
                              F&& on_due) noexcept {
  SweepResult r;
  const std::uint32_t turn = wheel_mask_ + 1;
  while (r.visited < budget && r.due < max_due) {
    if (!mid_bucket_) {
      if (cursor_ > now) {
        r.caught_up = true;
        break;
      }
      // Every bucket is visited once per turn and expires all entries
      // <= now, so one turn covers any jump.
      if (now - cursor_ >= turn) cursor_ = now - turn + 1;
      mid_bucket_ = true;
      sweep_next_ = wheel_[cursor_ & wheel_mask_];
    }
    ++r.visited;
    const std::uint32_t i = sweep_next_;
    if (i == kNil) {
      mid_bucket_ = false;
      ++cursor_;
      continue;
    }
    sweep_next_ = records_[i].next;
    const Seconds e = records_[i].expires;
    if (e <= now) {
      unlink(i);
      ++r.due;
      on_due(i);
    } else if ((e & wheel_mask_) != (cursor_ & wheel_mask_)) {
      unlink(i);   // extended since it was linked
      schedule(i);
    }
  }
  return r;
}

}  // namespace dorado::engine
