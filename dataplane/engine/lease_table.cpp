#include "engine/lease_table.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "engine/ddns.hpp"

namespace dorado::engine {

LeaseTable::LeaseTable(const LeaseTableSizes& sizes) {
  if (sizes.capacity == 0 || sizes.capacity > (1u << 30))
    throw std::length_error("lease table capacity must be 1 .. 2^30");
  if (sizes.wheel_bits < 4 || sizes.wheel_bits > 24)
    throw std::length_error("wheel_bits must be 4 .. 24");
  records_.resize(sizes.capacity);
  for (std::uint32_t i = 0; i < sizes.capacity; ++i)
    records_[i].next = i + 1 < sizes.capacity ? i + 1 : kNil;
  free_head_ = 0;

  std::uint32_t n = 2;
  while (n < 2ull * sizes.capacity) n *= 2;
  index_.assign(n, IndexEntry{0, kNil});
  index_mask_ = n - 1;

  long_keys_.resize(sizes.long_key_capacity);
  long_key_free_.resize(sizes.long_key_capacity);
  for (std::uint32_t i = 0; i < sizes.long_key_capacity; ++i)
    long_key_free_[i] = sizes.long_key_capacity - 1 - i;
  hostnames_.resize(sizes.hostname_capacity);
  hostname_free_.resize(sizes.hostname_capacity);
  for (std::uint32_t i = 0; i < sizes.hostname_capacity; ++i)
    hostname_free_[i] = sizes.hostname_capacity - 1 - i;

  wheel_.assign(std::size_t{1} << sizes.wheel_bits, kNil);
  wheel_mask_ = (1u << sizes.wheel_bits) - 1;
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

std::uint32_t LeaseTable::find(const ClientKey& key) const noexcept {
  const auto h = static_cast<std::uint32_t>(key.hash);
  for (std::uint32_t pos = h & index_mask_;; pos = (pos + 1) & index_mask_) {
    const IndexEntry e = index_[pos];
    if (e.index == kNil) return kNil;
    if (e.hash != h) continue;
    const Lease& l = records_[e.index];
    if (l.key_len == key.len && same_key(key_ptr(l), key.bytes.data(), key.len))
      return e.index;
  }
}

Inserted LeaseTable::insert(const ClientKey& key) noexcept {
  if (free_head_ == kNil) return {kNil, InsertError::table_full};
  const bool long_key = key.len > kInlineKeyLen;
  if (long_key && long_key_free_.empty()) return {kNil, InsertError::key_store_full};
  const std::uint32_t i = free_head_;
  Lease& l = records_[i];
  free_head_ = l.next;
  l = Lease{};
  l.hash = static_cast<std::uint32_t>(key.hash);
  l.key_len = key.len;
  if (long_key) {
    const std::uint32_t chunk = long_key_free_.back();
    long_key_free_.pop_back();
    std::memcpy(long_keys_[chunk].data(), key.bytes.data(), key.len);
    std::memcpy(l.key.data(), &chunk, sizeof chunk);
    l.flags |= kLeaseLongKey;
  } else {
    std::memcpy(l.key.data(), key.bytes.data(), key.len);
  }
  std::uint32_t pos = l.hash & index_mask_;
  while (index_[pos].index != kNil) pos = (pos + 1) & index_mask_;
  index_[pos] = IndexEntry{l.hash, i};
  ++used_;
  return {i, InsertError::ok};
}

Inserted LeaseTable::insert_keyless() noexcept {
  if (free_head_ == kNil) return {kNil, InsertError::table_full};
  const std::uint32_t i = free_head_;
  free_head_ = records_[i].next;
  records_[i] = Lease{};
  ++used_;
  return {i, InsertError::ok};
}

// Backward-shift deletion keeps probe sequences unbroken without tombstones.
void LeaseTable::index_remove(std::uint32_t i) noexcept {
  std::uint32_t hole = records_[i].hash & index_mask_;
  while (index_[hole].index != i) hole = (hole + 1) & index_mask_;
  for (std::uint32_t j = (hole + 1) & index_mask_; index_[j].index != kNil;
       j = (j + 1) & index_mask_) {
    const std::uint32_t home = index_[j].hash & index_mask_;
    if (((j - home) & index_mask_) >= ((j - hole) & index_mask_)) {
      index_[hole] = index_[j];
      hole = j;
    }
  }
  index_[hole] = IndexEntry{0, kNil};
}

void LeaseTable::unindex(std::uint32_t i) noexcept {
  Lease& l = records_[i];
  if (l.key_len == 0) return;
  index_remove(i);
  if (l.flags & kLeaseLongKey) {
    std::uint32_t chunk;
    std::memcpy(&chunk, l.key.data(), sizeof chunk);
    long_key_free_.push_back(chunk);
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
      hostname_free_.push_back(l.hostname);
      l.hostname = kNil;
    }
    return true;
  }
  if (l.hostname == kNil) {
    if (hostname_free_.empty()) return false;
    l.hostname = hostname_free_.back();
    hostname_free_.pop_back();
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

std::size_t LeaseTable::memory_bytes() const noexcept {
  return records_.capacity() * sizeof(Lease) + index_.capacity() * sizeof(IndexEntry) +
         long_keys_.capacity() * kMaxKeyLen + long_key_free_.capacity() * 4 +
         hostnames_.capacity() * (kMaxHostnameLen + 1) + hostname_free_.capacity() * 4 +
         wheel_.capacity() * 4;
}

std::string LeaseTable::audit() const {
  std::uint32_t in_use = 0, keyed = 0, in_lists = 0;
  for (std::uint32_t i = 0; i < records_.size(); ++i) {
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
  for (const IndexEntry& e : index_)
    if (e.index != kNil) {
      ++entries;
      if (records_[e.index].state == LeaseState::unused || records_[e.index].key_len == 0)
        return "index entry for a record without a key";
    }
  if (entries != keyed) return "index entries != keyed records";
  // Walk every list and check links and membership flags.
  std::uint32_t linked = 0;
  auto walk = [&](std::uint32_t head, std::uint32_t list, std::uint8_t flag) -> std::string {
    std::uint32_t prev = kHeadTag | list;
    for (std::uint32_t i = head; i != kNil; i = records_[i].next) {
      if (++linked > records_.size()) return "list cycle";
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
    if (++free_records > records_.size()) return "free list cycle";
  if (free_records + used_ != records_.size()) return "free list length mismatch";
  return {};
}

}  // namespace dorado::engine
