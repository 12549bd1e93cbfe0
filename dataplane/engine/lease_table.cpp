#include "engine/lease_table.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>

#include "engine/ddns.hpp"

namespace dorado::engine {

namespace {
std::uint32_t index_slots_for(std::uint32_t records) noexcept {
  std::uint32_t n = 2;
  while (n < 2ull * records) n *= 2;
  return n;
}
}  // namespace

LeaseTable::LeaseTable(const LeaseTableSizes& sizes) {
  if (sizes.capacity == 0 || sizes.capacity > (1u << 30))
    throw std::length_error("lease table capacity must be 1 .. 2^30");
  if (sizes.wheel_bits < 4 || sizes.wheel_bits > 24)
    throw std::length_error("wheel_bits must be 4 .. 24");
  records_ = ReservedArray<Lease>(sizes.capacity);
  // The index never needs more than twice the capacity (at most half full).
  const std::uint32_t most = index_slots_for(sizes.capacity);
  std::uint32_t first = std::bit_ceil(std::max<std::uint32_t>(sizes.initial_index, 16));
  if (first > most) first = most;
  regions_[0] = ReservedArray<IndexEntry>(most);
  if (first < most) regions_[1] = ReservedArray<IndexEntry>(most);
  index_ = regions_[0].data();
  index_mask_ = first - 1;

  long_keys_ = ReservedArray<std::array<std::uint8_t, kMaxKeyLen>>(sizes.long_key_capacity);
  hostnames_ = ReservedArray<std::array<char, kMaxHostnameLen + 1>>(sizes.hostname_capacity);

  wheel_.assign(std::size_t{1} << sizes.wheel_bits, kNil);
  wheel_mask_ = (1u << sizes.wheel_bits) - 1;
}

template <typename Chunk>
std::uint32_t LeaseTable::take_chunk(ReservedArray<Chunk>& store, std::uint32_t& free_head,
                                     std::uint32_t& top) noexcept {
  std::uint32_t c;
  if (free_head != kNil) {
    c = free_head;
    std::memcpy(&free_head, store[c].data(), sizeof free_head);
  } else if (top < store.size()) {
    c = top++;
  } else {
    return kNil;
  }
  return c;
}

template <typename Chunk>
void LeaseTable::give_chunk(ReservedArray<Chunk>& store, std::uint32_t& free_head, std::uint32_t chunk) noexcept {
  std::memcpy(store[chunk].data(), &free_head, sizeof free_head);
  free_head = chunk;
}

const std::uint8_t* LeaseTable::key_ptr(const Lease& l) const noexcept {
  if (l.flags & kLeaseLongKey) {
    std::uint32_t chunk;
    std::memcpy(&chunk, l.key.data(), sizeof chunk);
    return long_keys_[chunk].data();
  }
  return l.key.data();
}

wire::Bytes LeaseTable::key(std::uint32_t i) const noexcept {
  const Lease& l = records_[i];
  return {key_ptr(l), l.key_len};
}

namespace {
// Key bytes equal? The usual keys, kind + htype + a 6-byte MAC and kind +
// a 7-byte RFC 4361-less client-id (type 1 + MAC), are 8 bytes: one word
// compare instead of a memcmp call, which was 18% of a shard's time per
// request (engine_bench BM_EngineDoraExisting).
bool same_key(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) noexcept {
  if (n == 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    return x == y;
  }
  return std::memcmp(a, b, n) == 0;
}
}  // namespace

std::uint32_t LeaseTable::find_in(const IndexEntry* table, std::uint32_t mask,
                                  const ClientKey& key) const noexcept {
  const auto h = static_cast<std::uint32_t>(key.hash);
  for (std::uint32_t pos = h & mask;; pos = (pos + 1) & mask) {
    const IndexEntry e = table[pos];
    if (e.inv == 0) return kNil;
    if (e.hash != h || e.inv == kTomb) continue;
    const Lease& l = records_[~e.inv];
    if (l.key_len == key.len && same_key(key_ptr(l), key.bytes.data(), key.len)) return ~e.inv;
  }
}

std::uint32_t LeaseTable::find(const ClientKey& key) const noexcept {
  const std::uint32_t i = find_in(index_, index_mask_, key);
  if (i != kNil || old_ == nullptr) return i;
  return find_in(old_, old_mask_, key);
}

void LeaseTable::place(std::uint32_t hash, std::uint32_t inv) noexcept {
  std::uint32_t pos = hash & index_mask_;
  while (index_[pos].inv != 0) pos = (pos + 1) & index_mask_;
  index_[pos] = IndexEntry{hash, inv};
}

// Doubles the index: the new array (the other region, all zero: it was
// given back after its last use) becomes index_, the current one old_,
// emptied kRehashStep slots per insert / maintain().
void LeaseTable::start_grow() noexcept {
  if (release_from_ < release_to_) release_step(release_to_ - release_from_);   // rare: not done yet
  old_ = index_;
  old_mask_ = index_mask_;
  old_pos_ = 0;
  cur_ ^= 1;
  index_ = regions_[cur_].data();
  index_mask_ = 2 * old_mask_ + 1;
}

void LeaseTable::rehash_step(std::uint32_t slots) noexcept {
  for (std::uint32_t n = 0; n < slots && old_ != nullptr; ++n) {
    IndexEntry& e = old_[old_pos_];
    if (e.inv != 0 && e.inv != kTomb) {
      place(e.hash, e.inv);
      e.inv = kTomb;
    }
    if (old_pos_++ == old_mask_) {   // done: give the old array back, a piece at a time
      old_ = nullptr;
      release_from_ = 0;
      release_to_ = (std::size_t{old_mask_} + 1) * sizeof(IndexEntry);
    }
  }
}

// The old array starts at the region's (page-aligned) start and is a power
// of two of 8-byte slots: a whole number of pages, or less than one page,
// which is zeroed by hand (released pages read as zero).
void LeaseTable::release_step(std::size_t bytes) noexcept {
  ReservedArray<IndexEntry>& r = regions_[cur_ ^ 1];
  const std::size_t end = std::min(release_to_, release_from_ + bytes);
  if (release_to_ < ReservedArray<IndexEntry>::kPage)
    std::memset(static_cast<void*>(r.data()), 0, release_to_);
  else
    r.release(release_from_ / sizeof(IndexEntry), (end - release_from_) / sizeof(IndexEntry));
  release_from_ = release_to_ < ReservedArray<IndexEntry>::kPage ? release_to_ : end;
}

void LeaseTable::reserve(std::uint32_t records) noexcept {
  const std::uint32_t want = index_slots_for(std::min(records, capacity()));
  while (true) {
    while (old_ != nullptr) rehash_step(old_mask_ + 1);
    if (release_from_ < release_to_) release_step(release_to_ - release_from_);
    if (index_mask_ + 1 >= want) break;
    if (indexed_ == 0) {   // an empty index is all zero: just use more of it
      index_mask_ = want - 1;
      break;
    }
    start_grow();
  }
  // The records about to come land all over the index: its pages resident
  // in one go (the hand-over's prefetches need present pages), as 2 MiB
  // pages where the kernel has them: at 10 M leases the hand-over was bound
  // by TLB misses in a 256 MiB index (bench/results/2026-12-07.md
  // "Start-up, huge pages"). Populated here, so no worker faults them in;
  // released later (a doubling), they come back as 4 KiB pages
  // (ReservedArray::release). The records keep 4 KiB pages: advised for
  // 2 MiB ones the hand-over took more CPU (the kernel's compaction on
  // each fault), not less.
  const std::size_t slots = std::size_t{index_mask_} + 1;
  regions_[cur_].advise_huge(0, slots);
  regions_[cur_].populate(0, slots);
  // The records the hand-over will take, from the high-water mark up, made
  // resident in one system call too, instead of one fault per 4 KiB page
  // as insert() first writes each (bench/results/2026-12-07.md "Hand-over:
  // a cheaper walk").
  const std::uint32_t more = std::min(records, capacity()) > top_ ? std::min(records, capacity()) - top_ : 0;
  records_.populate(top_, more);
}

void LeaseTable::maintain(std::uint32_t steps) noexcept {
  if (old_ != nullptr)
    rehash_step(steps * kRehashStep);
  else if (release_from_ < release_to_)
    release_step(steps * kReleaseStep);
}

// A fresh record index: the free list first, then the high-water mark.
// kNil when the table is full.
static inline std::uint32_t take_record(ReservedArray<Lease>& records, std::uint32_t& free_head,
                                        std::uint32_t& top) noexcept {
  if (free_head != kNil) {
    const std::uint32_t i = free_head;
    free_head = records[i].next;
    return i;
  }
  return top < records.size() ? top++ : kNil;
}

Inserted LeaseTable::insert(const ClientKey& key) noexcept {
  if (free_head_ == kNil && top_ == records_.size()) return {kNil, InsertError::table_full};
  const bool long_key = key.len > kInlineKeyLen;
  if (long_key && long_key_free_ == kNil && long_key_top_ == long_keys_.size())
    return {kNil, InsertError::key_store_full};
  if (old_ != nullptr) {
    rehash_step(kRehashStep);
  } else if (2ull * (indexed_ + 1) > index_mask_ + 1ull) {
    start_grow();
    rehash_step(kRehashStep);
  } else if (release_from_ < release_to_) {
    release_step(kReleaseStep);
  }
  const std::uint32_t i = take_record(records_, free_head_, top_);
  Lease& l = records_[i];
  l = Lease{};
  l.hash = static_cast<std::uint32_t>(key.hash);
  l.key_len = key.len;
  if (long_key) {
    const std::uint32_t chunk = take_chunk(long_keys_, long_key_free_, long_key_top_);
    ++long_keys_used_;
    std::memcpy(long_keys_[chunk].data(), key.bytes.data(), key.len);
    std::memcpy(l.key.data(), &chunk, sizeof chunk);
    l.flags |= kLeaseLongKey;
  } else {
    std::memcpy(l.key.data(), key.bytes.data(), key.len);
  }
  place(l.hash, ~i);
  ++indexed_;
  ++used_;
  return {i, InsertError::ok};
}

Inserted LeaseTable::insert_keyless() noexcept {
  const std::uint32_t i = take_record(records_, free_head_, top_);
  if (i == kNil) return {kNil, InsertError::table_full};
  records_[i] = Lease{};
  ++used_;
  return {i, InsertError::ok};
}

// Backward-shift deletion keeps probe sequences unbroken without tombstones.
// During a rehash an entry not (yet) in the new array is in the old one,
// where it becomes a tombstone.
void LeaseTable::index_remove(std::uint32_t i) noexcept {
  const std::uint32_t h = records_[i].hash;
  --indexed_;
  std::uint32_t hole = h & index_mask_;
  while (index_[hole].inv != ~i) {
    if (index_[hole].inv == 0) {   // not in the new array: in the old one
      std::uint32_t pos = h & old_mask_;
      while (old_[pos].inv != ~i) pos = (pos + 1) & old_mask_;
      old_[pos].inv = kTomb;
      return;
    }
    hole = (hole + 1) & index_mask_;
  }
  for (std::uint32_t j = (hole + 1) & index_mask_; index_[j].inv != 0;
       j = (j + 1) & index_mask_) {
    const std::uint32_t home = index_[j].hash & index_mask_;
    if (((j - home) & index_mask_) >= ((j - hole) & index_mask_)) {
      index_[hole] = index_[j];
      hole = j;
    }
  }
  index_[hole] = IndexEntry{0, 0};
}

void LeaseTable::unindex(std::uint32_t i) noexcept {
  Lease& l = records_[i];
  if (l.key_len == 0) return;
  index_remove(i);
  if (l.flags & kLeaseLongKey) {
    std::uint32_t chunk;
    std::memcpy(&chunk, l.key.data(), sizeof chunk);
    give_chunk(long_keys_, long_key_free_, chunk);
    --long_keys_used_;
    l.flags &= static_cast<std::uint8_t>(~kLeaseLongKey);
  }
  l.key_len = 0;
  l.key = {};
}

void LeaseTable::erase(std::uint32_t i) noexcept {
  unlink(i);
  unindex(i);
  set_hostname(i, {});
  Lease& l = records_[i];
  l = Lease{};
  l.next = free_head_;
  free_head_ = i;
  --used_;
}

bool LeaseTable::set_hostname(std::uint32_t i, std::string_view name, std::uint8_t ddns) noexcept {
  static_assert(kMaxHostnameLen <= kHostnameLenMask && kDdnsFlagsMask < (1u << (8 - kHostnameLenBits)),
                "hostname chunk byte 0: 6-bit length, 2-bit flags");
  Lease& l = records_[i];
  if (name.empty()) {
    if (l.hostname != kNil) {
      give_chunk(hostnames_, hostname_free_, l.hostname);
      --hostnames_used_;
      l.hostname = kNil;
    }
    return true;
  }
  if (l.hostname == kNil) {
    const std::uint32_t c = take_chunk(hostnames_, hostname_free_, hostname_top_);
    if (c == kNil) return false;
    l.hostname = c;
    ++hostnames_used_;
  }
  const std::size_t n = std::min(name.size(), kMaxHostnameLen);
  auto& chunk = hostnames_[l.hostname];
  chunk[0] = static_cast<char>(n | static_cast<std::size_t>(ddns & kDdnsFlagsMask) << kHostnameLenBits);
  std::memcpy(chunk.data() + 1, name.data(), n);
  return true;
}

void LeaseTable::schedule(std::uint32_t i) noexcept {
  Lease& l = records_[i];
  const std::uint32_t b = l.expires & wheel_mask_;
  l.next = wheel_[b];
  l.prev = kHeadTag | b;
  if (l.next != kNil) records_[l.next].prev = i;
  wheel_[b] = i;
  l.flags |= kLeaseInWheel;
}

void LeaseTable::reschedule(std::uint32_t i, Seconds expires) noexcept {
  Lease& l = records_[i];
  const bool lazy = (l.flags & kLeaseInWheel) && expires >= l.expires;
  l.expires = expires;
  if (lazy) return;
  unlink(i);
  schedule(i);
}

void LeaseTable::park(std::uint32_t i) noexcept {
  Lease& l = records_[i];
  l.next = kNil;
  if (fifo_tail_ == kNil) {
    l.prev = kHeadTag | kFifoList;
    fifo_head_ = i;
  } else {
    l.prev = fifo_tail_;
    records_[fifo_tail_].next = i;
  }
  fifo_tail_ = i;
  l.flags |= kLeaseInFifo;
  ++parked_;
}

void LeaseTable::unlink(std::uint32_t i) noexcept {
  Lease& l = records_[i];
  const bool fifo = (l.flags & kLeaseInFifo) != 0;
  if (!fifo && !(l.flags & kLeaseInWheel)) return;
  if (i == sweep_next_) sweep_next_ = l.next;
  if (l.next != kNil)
    records_[l.next].prev = l.prev;
  else if (fifo)
    fifo_tail_ = (l.prev & kHeadTag) ? kNil : l.prev;
  if (l.prev & kHeadTag) {
    if (fifo)
      fifo_head_ = l.next;
    else
      wheel_[l.prev & ~kHeadTag] = l.next;
  } else {
    records_[l.prev].next = l.next;
  }
  if (fifo) --parked_;
  l.next = l.prev = kNil;
  l.flags &= static_cast<std::uint8_t>(~(kLeaseInFifo | kLeaseInWheel));
}

// What is resident (or about to be): records and store chunks up to their
// high-water marks, the index arrays in use, the wheel.
std::size_t LeaseTable::memory_bytes() const noexcept {
  std::size_t index = (std::size_t{index_mask_} + 1) * sizeof(IndexEntry);
  if (old_ != nullptr) index += (std::size_t{old_mask_} + 1) * sizeof(IndexEntry);
  else index += release_to_ - release_from_;
  return std::size_t{top_} * sizeof(Lease) + index + std::size_t{long_key_top_} * kMaxKeyLen +
         std::size_t{hostname_top_} * (kMaxHostnameLen + 1) + wheel_.capacity() * 4;
}

std::string LeaseTable::audit() const {
  std::uint32_t in_use = 0, keyed = 0, in_lists = 0;
  for (std::uint32_t i = 0; i < top_; ++i) {
    const Lease& l = records_[i];
    if (l.state == LeaseState::unused) continue;
    ++in_use;
    if (l.key_len != 0) {
      ++keyed;
      ClientKey k;
      k.len = l.key_len;
      std::memcpy(k.bytes.data(), key_ptr(l), l.key_len);
      k.hash = hash_key_bytes(k.view());
      if (static_cast<std::uint32_t>(k.hash) != l.hash)
        return "record " + std::to_string(i) + ": stored hash differs from its key's";
      if (find(k) != i) return "record " + std::to_string(i) + ": not found by its key";
    }
    if (l.flags & (kLeaseInWheel | kLeaseInFifo)) ++in_lists;
    if ((l.flags & kLeaseInWheel) && (l.flags & kLeaseInFifo))
      return "record " + std::to_string(i) + ": in both wheel and FIFO";
  }
  if (in_use != used_) return "used count " + std::to_string(used_) + " != records in use " +
                              std::to_string(in_use);
  std::uint32_t entries = 0;
  auto count = [&](const IndexEntry* t, std::uint32_t mask) -> std::string {
    for (std::uint32_t p = 0; p <= mask; ++p) {
      const IndexEntry e = t[p];
      if (e.inv == 0 || e.inv == kTomb) continue;
      if (t == index_ && e.inv == kTomb) return "tombstone in the index";
      if (~e.inv >= top_) return "index entry past the high-water mark";
      ++entries;
      if (records_[~e.inv].state == LeaseState::unused || records_[~e.inv].key_len == 0)
        return "index entry for a record without a key";
    }
    return {};
  };
  if (std::string e = count(index_, index_mask_); !e.empty()) return e;
  if (old_ != nullptr)
    if (std::string e = count(old_, old_mask_); !e.empty()) return e;
  if (entries != keyed || entries != indexed_) return "index entries != keyed records";
  // Walk every list and check links and membership flags.
  std::uint32_t linked = 0;
  auto walk = [&](std::uint32_t head, std::uint32_t list, std::uint8_t flag) -> std::string {
    std::uint32_t prev = kHeadTag | list;
    for (std::uint32_t i = head; i != kNil; i = records_[i].next) {
      if (++linked > top_) return "list cycle";
      const Lease& l = records_[i];
      if (l.prev != prev) return "broken prev link at record " + std::to_string(i);
      if (!(l.flags & flag)) return "record " + std::to_string(i) + " in a list without its flag";
      prev = i;
    }
    if (flag == kLeaseInFifo && fifo_tail_ != (prev & kHeadTag ? kNil : prev))
      return "FIFO tail mismatch";
    return {};
  };
  for (std::uint32_t b = 0; b <= wheel_mask_; ++b)
    if (std::string e = walk(wheel_[b], b, kLeaseInWheel); !e.empty()) return e;
  const std::uint32_t wheel_linked = linked;
  if (std::string e = walk(fifo_head_, kFifoList, kLeaseInFifo); !e.empty()) return e;
  if (linked - wheel_linked != parked_) return "parked count mismatch";
  if (linked != in_lists) return "list membership flags disagree with the lists";
  std::uint32_t free_records = 0;
  for (std::uint32_t i = free_head_; i != kNil; i = records_[i].next)
    if (++free_records > top_) return "free list cycle";
  if (free_records + used_ != top_) return "free list length mismatch";
  return {};
}

}  // namespace dorado::engine
