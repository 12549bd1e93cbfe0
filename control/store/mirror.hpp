// The mirror: every lease the store holds, in memory, as the last change
// record for it. The store applies every record it takes (and recovery every
// record it replays) and writes snapshots from it.
//
// Identity: a client lease is identified by its client key (kind byte +
// bytes, 1..160); a probation record (a declined address, no client) by its
// address alone (one IPv4 address is in probation at most once).
//
// apply(c), by op (anything else is `ignored` and changes nothing):
//   commit  key_len > 0: upsert the client's entry; every field replaced,
//           hostname and its DNS flags (LeaseChange::ddns) included (an
//           empty one clears both; the engine sends the name it keeps, so
//           "none" means none).
//   renew, release, expire  key_len > 0: upsert the client's entry; every
//           field replaced except the hostname and its DNS flags when the
//           record carries no hostname
//           (renewals, releases and expiries do not carry it). Released and
//           expired entries stay as history (the address is sticky).
//   decline key_len > 0: erase the client's entry (if any) and upsert a
//           probation entry for the address: op decline, key_len 0, no
//           hostname, subnet/address/start/expires/htype/chaddr from the record.
//   decline key_len 0: upsert the probation entry (snapshots, tools).
//   expire  key_len 0: erase the address's probation entry (probation over).
//   reclaim key_len > 0: erase the client's entry; key_len 0: erase the
//           address's probation entry.
//   commit/renew/release with key_len 0: ignored.
//   Every upsert of a client entry replaces its option 82 (LeaseChange::
//   relay_len, engine::relay_info_of) with the record's: the engine sends
//   the one it keeps on every record, so "none" means none.
//   Probation entries have none.
// Lengths must be in range (key_len <= 160, hostname_len <= 63): callers
// validate (decode_record does, Store::take clamps).
//
// Layout (memory matters: 10 M leases; docs/operations.md "Memory"):
// 32-byte entries in fixed chunks of 65536 that never move, holding the
// address, times, subnet, op, htype and chaddr. The client key is not
// stored when it is the common 8-byte form "kind byte, htype, chaddr" (the
// hardware key, or a client-id of type htype + the MAC): the entry keeps
// the kind byte and rebuilds it. The rare fields (any other key, the
// hostname with its DNS flags, option 82) live together in one side block
// of 16..256 bytes in an arena with free lists, behind one 32-bit
// reference; a lease with none of them has no block. The index is
// open-addressing with 4-byte slots (entry number + 1 in the low bits,
// the key hash's high bits above them as a tag: the entry numbers stay
// below the slot count), linear probing, at most 70% full, doubled when
// needed (rehashed from the entries). About 32 + 5.7..11.4 (index) bytes
// per lease without rare fields, + one side block for those with:
// memory_bytes() reports it.
//
// Stable positions: an entry keeps its number from insertion to erasure,
// whatever else happens, so a snapshot can walk entries [0, slot_end())
// a piece at a time between mutations and never miss an entry that exists
// for the whole walk (erased numbers are reused: the walk may see a newer
// entry there, which is fine for a fuzzy snapshot).
//
// Threads: one owner (the store's control thread); not synchronised.
// Cost: apply/find O(1) expected; one allocation now and then (chunks,
// arena pages, index doubling: an index rehash is O(leases)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/huge_alloc.hpp"
#include "engine/lease.hpp"

namespace dorado::store {

class Mirror {
 public:
  // expected_leases sizes the index up front (0: small, grows by doubling).
  explicit Mirror(std::size_t expected_leases = 0);

  enum class Applied : std::uint8_t { upserted, erased, absent, ignored };
  Applied apply(const engine::LeaseChange& c);
  // Asks for the index slot apply(c) will look at first, without waiting
  // for it (MirrorLoader: recovery keeps several such misses in flight).
  void prefetch(const engine::LeaseChange& c) const noexcept;

  // Grows the index for `leases` entries in one step (e.g. from a snapshot's count).
  void reserve(std::size_t leases);
  void clear();

  std::size_t size() const noexcept { return size_; }
  std::size_t memory_bytes() const noexcept;

  // The stored record (seq and shard 0) of a client key or a probation address.
  std::optional<engine::LeaseChange> find(std::span<const std::uint8_t> key) const;
  std::optional<engine::LeaseChange> find_probation(std::uint32_t address) const;

  // Entry numbers in use are below slot_end(). lease_at(i): the entry's
  // record, or nullopt for a free number.
  std::uint32_t slot_end() const noexcept { return slot_end_; }
  std::optional<engine::LeaseChange> lease_at(std::uint32_t i) const;
  // lease_at(i) into `out`, writing only what the record uses: the fixed
  // fields, key[0, key_len + relay_len) and hostname[0, hostname_len); the
  // bytes past those lengths keep what `out` held (every reader goes by the
  // lengths). False, `out` untouched, for a free number. The hand-over's
  // walk (Store::read_lease): no 256-byte record zeroed and copied twice a
  // lease (bench/results/2026-12-07.md "Hand-over: a cheaper walk").
  bool read(std::uint32_t i, engine::LeaseChange& out) const noexcept;

  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (std::uint32_t i = 0; i < slot_end_; ++i)
      if (const auto l = lease_at(i)) fn(*l);
  }

 private:
  static constexpr unsigned kChunkBits = 16;
  // Entry::flags
  static constexpr std::uint8_t kKeyBuilt = 1;   // key = {key0, htype, chaddr} (8 bytes), not in the side block
  struct Entry {
    std::uint32_t address;
    std::uint32_t start;
    std::uint32_t expires;
    std::uint32_t subnet_id;
    std::uint32_t side;   // arena block of the rare fields, kNil: none; next free entry when op == 0
    std::uint8_t chaddr[6];
    std::uint8_t op;   // 0: free
    std::uint8_t htype;
    std::uint8_t key_len;   // 0: a probation entry
    std::uint8_t key0;      // the key's kind byte when kKeyBuilt
    std::uint8_t flags;
    std::uint8_t unused;
  };
  static_assert(sizeof(Entry) == 32);
  // The side block: [0] hostname_len | ddns << 6, [1] relay_len, then the
  // key (when not kKeyBuilt), the hostname, option 82.
  static constexpr std::size_t kSideHeader = 2;
  // A key and option 82 share LeaseChange::key: at most kMaxKeyLen together.
  static constexpr std::size_t kMaxSide = kSideHeader + engine::kMaxKeyLen + engine::kMaxHostnameLen;
  static_assert(kMaxSide <= 256, "the arena's largest block");
  // The parts of a side block, for building one.
  struct Rare {
    std::span<const std::uint8_t> key;   // empty when kKeyBuilt or a probation entry
    std::span<const std::uint8_t> hostname;
    std::uint8_t ddns = 0;
    std::span<const std::uint8_t> relay;
  };

  // Blocks of 16 << c bytes (c = 0..4) addressed by 16-byte unit number.
  class Arena {
   public:
    std::uint32_t alloc(std::size_t bytes);
    void free(std::uint32_t ref, std::size_t bytes) noexcept;
    std::uint8_t* at(std::uint32_t ref) noexcept;
    const std::uint8_t* at(std::uint32_t ref) const noexcept;
    std::size_t memory_bytes() const noexcept { return pages_.size() * kPageBytes; }
    void clear();

   private:
    static constexpr std::size_t kPageUnits = 65536;
    static constexpr std::size_t kPageBytes = kPageUnits * 16;
    std::vector<std::unique_ptr<std::uint8_t[]>> pages_;
    std::uint32_t next_ = 0;   // bump pointer (units)
    std::uint32_t free_[5] = {engine::kNil, engine::kNil, engine::kNil, engine::kNil, engine::kNil};
  };

  Entry& entry(std::uint32_t i) noexcept { return chunks_[i >> kChunkBits][i & ((1u << kChunkBits) - 1)]; }
  const Entry& entry(std::uint32_t i) const noexcept {
    return chunks_[i >> kChunkBits][i & ((1u << kChunkBits) - 1)];
  }
  // The entry's key: in its side block, or built into `buf`.
  std::span<const std::uint8_t> key_of(const Entry& e, std::uint8_t (&buf)[8]) const noexcept;
  std::uint32_t hash_of(const Entry& e) const noexcept;
  Rare rare_of(const Entry& e) const noexcept;
  std::size_t side_bytes(const Entry& e) const noexcept;
  std::uint32_t mask() const noexcept { return static_cast<std::uint32_t>(index_.size() - 1); }
  // Index slot holding entry with this key (key_len 0: probation `address`), or npos.
  std::size_t find_slot(std::uint32_t hash, std::span<const std::uint8_t> key,
                        std::uint32_t address) const noexcept;
  std::uint32_t new_entry();
  void erase_slot(std::size_t slot);
  // Replaces entry e's side block by one holding `r` (none when r is empty).
  void set_rare(Entry& e, const Rare& r);
  void upsert(const engine::LeaseChange& c, std::span<const std::uint8_t> key, bool keep_hostname);
  Applied erase(std::span<const std::uint8_t> key, std::uint32_t address);
  void grow_index(std::size_t slots);

  std::vector<std::unique_ptr<Entry[]>> chunks_;
  // 0: empty; else (hash & ~mask) | (entry + 1), mask = slots - 1: every
  // entry number + 1 is below the slot count (at most 70% of the slots are
  // used, and entry numbers are reused before new ones are taken). 2 MiB
  // pages where the kernel has them (engine/huge_alloc.hpp): recovery's
  // lookups land all over it, a TLB miss each with 4 KiB pages.
  engine::HugeVector<std::uint32_t> index_;
  std::size_t size_ = 0;
  std::uint32_t slot_end_ = 0;
  std::uint32_t free_entry_ = engine::kNil;
  Arena arena_;
};

// Recovery's way to fill a mirror (snapshot load, journal replay): add()
// takes the records in order and applies each kDepth records later, having
// prefetched its index slot when it was added, so that the random index
// misses of consecutive records overlap instead of queueing one after the
// other (1 M leases: the index is 16 MiB, each lookup a cache and TLB miss;
// bench/results/2026-12-07.md "Start-up, second pass"). The order of
// application is the order of add(); flush() applies what is left (records
// not flushed are dropped with the loader: an error path). The mirror must
// not be touched otherwise between add() and flush().
class MirrorLoader {
 public:
  explicit MirrorLoader(Mirror& mirror) noexcept : mirror_(mirror) {}
  ~MirrorLoader() = default;
  MirrorLoader(const MirrorLoader&) = delete;
  MirrorLoader& operator=(const MirrorLoader&) = delete;

  void add(const engine::LeaseChange& c);
  void flush();

 private:
  static constexpr std::size_t kDepth = 16;   // 4 KiB of records in flight
  Mirror& mirror_;
  std::unique_ptr<engine::LeaseChange[]> ring_ = std::make_unique<engine::LeaseChange[]>(kDepth);
  std::size_t head_ = 0;    // oldest record not applied
  std::size_t count_ = 0;   // records waiting
};

}  // namespace dorado::store
