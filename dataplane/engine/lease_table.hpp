// One shard's lease records: a fixed array of 64-byte Lease records, an
// open-addressing index by client key (linear probing, power-of-two size, at
// least twice the record count so probes stay short), fixed stores for long
// keys and hostnames, a timer wheel for expiry and a FIFO of inactive
// (expired/released) records, the eviction order when the table is full.
//
// Ownership and threads: owned by one shard, used only by its lcore; no
// locks. Every structure is sized in the constructor (the only function that
// allocates; call it at start-up, it may throw std::bad_alloc); afterwards a
// full table or store is a returned error, never a reallocation.
//
// Cost: find/insert/erase O(1) expected (one index cache line plus one
// record line); list operations O(1); sweep() bounded by its budget.
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

namespace dorado::engine {

struct LeaseTableSizes {
  std::uint32_t capacity = 1024;         // records: clients plus declined addresses
  std::uint32_t hostname_capacity = 1024;    // hostnames kept (63 bytes each)
  std::uint32_t long_key_capacity = 64;  // keys longer than 24 bytes
  std::uint8_t wheel_bits = 16;          // 2^bits one-second buckets (16: 18 h per turn)
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
      if (e.index == kNil) return;
      if (e.hash == h) {
        const volatile std::uint8_t* p = &records_[e.index].key_len;
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
  std::uint32_t parked() const noexcept { return parked_; }
  std::size_t memory_bytes() const noexcept;
  // Calls f(index, const Lease&) for every record whose state is not unused.
  // O(capacity).
  template <typename F>
  void for_each(F&& f) const {
    for (std::uint32_t i = 0; i < records_.size(); ++i)
      if (records_[i].state != LeaseState::unused) f(i, records_[i]);
  }
  // Internal consistency (index <-> records, lists, stores); empty if sound.
  // O(capacity + index); for tests and debugging.
  std::string audit() const;

 private:
  struct IndexEntry {
    std::uint32_t hash;
    std::uint32_t index;   // kNil = empty
  };
  static constexpr std::uint32_t kHeadTag = 0x80000000u;   // prev of a list head
  static constexpr std::uint32_t kFifoList = 0x7fffffffu;
  // Hostname chunk byte 0: the length in the low kHostnameLenBits, the DNS
  // flags above them.
  static constexpr unsigned kHostnameLenBits = 6;
  static constexpr unsigned kHostnameLenMask = (1u << kHostnameLenBits) - 1;

  const std::uint8_t* key_ptr(const Lease& l) const noexcept;
  void index_remove(std::uint32_t i) noexcept;

  HugeVector<Lease> records_;
  std::uint32_t free_head_ = kNil;
  std::uint32_t used_ = 0;
  HugeVector<IndexEntry> index_;
  std::uint32_t index_mask_ = 0;
  std::vector<std::array<std::uint8_t, kMaxKeyLen>> long_keys_;
  std::vector<std::uint32_t> long_key_free_;
  HugeVector<std::array<char, kMaxHostnameLen + 1>> hostnames_;   // [0] = length | ddns << 6
  std::vector<std::uint32_t> hostname_free_;
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
