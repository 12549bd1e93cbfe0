#include "store/mirror.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "engine/ddns.hpp"
#include "store/crc32c.hpp"

namespace dorado::store {
namespace {

using engine::kNil;
using engine::LeaseChange;
using engine::LeaseOp;

constexpr std::size_t kNpos = ~std::size_t{0};
constexpr std::size_t kMinIndex = 1024;

// crc32c is one instruction per 8 bytes; the multiply spreads its linear
// bits over the whole word (index position = low bits).
std::uint32_t mix(std::uint32_t crc) noexcept {
  return static_cast<std::uint32_t>((crc * 0x9E3779B97F4A7C15ull) >> 32);
}
std::uint32_t key_hash(std::span<const std::uint8_t> key) noexcept { return mix(crc32c(key)); }
std::uint32_t probation_hash(std::uint32_t address) noexcept {
  std::uint8_t b[4];
  std::memcpy(b, &address, 4);
  return mix(crc32c(b, 0x50524f42u));   // another seed than client keys
}

unsigned size_class(std::size_t bytes) noexcept {
  unsigned c = 0;
  while ((std::size_t{16} << c) < bytes) ++c;
  return c;
}

std::size_t index_slots_for(std::size_t leases) noexcept {
  // At most 70% full.
  return std::max(kMinIndex, std::bit_ceil(leases * 10 / 7 + 1));
}

}  // namespace

// ---- arena ---------------------------------------------------------------------

std::uint32_t Mirror::Arena::alloc(std::size_t bytes) {
  const unsigned c = size_class(bytes);
  if (free_[c] != kNil) {
    const std::uint32_t ref = free_[c];
    std::memcpy(&free_[c], at(ref), 4);
    return ref;
  }
  const std::uint32_t units = 1u << c;
  // A block never straddles two pages; the few units left at a page end are lost.
  if (next_ + units > pages_.size() * kPageUnits) {
    next_ = static_cast<std::uint32_t>(pages_.size() * kPageUnits);
    pages_.push_back(std::make_unique<std::uint8_t[]>(kPageBytes));
  }
  const std::uint32_t ref = next_;
  next_ += units;
  return ref;
}

void Mirror::Arena::free(std::uint32_t ref, std::size_t bytes) noexcept {
  const unsigned c = size_class(bytes);
  std::memcpy(at(ref), &free_[c], 4);
  free_[c] = ref;
}

std::uint8_t* Mirror::Arena::at(std::uint32_t ref) noexcept {
  return pages_[ref / kPageUnits].get() + (ref % kPageUnits) * 16;
}
const std::uint8_t* Mirror::Arena::at(std::uint32_t ref) const noexcept {
  return pages_[ref / kPageUnits].get() + (ref % kPageUnits) * 16;
}

void Mirror::Arena::clear() {
  pages_.clear();
  next_ = 0;
  std::fill(std::begin(free_), std::end(free_), kNil);
}

// ---- mirror ----------------------------------------------------------------------

Mirror::Mirror(std::size_t expected_leases) : index_(index_slots_for(expected_leases), 0) {}

void Mirror::reserve(std::size_t leases) {
  const std::size_t want = index_slots_for(leases);
  if (want > index_.size()) grow_index(want);
}

void Mirror::clear() {
  chunks_.clear();
  index_.assign(kMinIndex, 0);
  size_ = 0;
  slot_end_ = 0;
  free_entry_ = kNil;
  arena_.clear();
  relay_.clear();
}

void Mirror::set_relay(std::uint32_t i, std::span<const std::uint8_t> value) {
  if (value.empty() && i >= relay_.size()) return;
  if (i >= relay_.size()) relay_.resize(chunks_.size() << kChunkBits, kNil);
  std::uint32_t& ref = relay_[i];
  if (ref != kNil) {
    const std::uint8_t* b = arena_.at(ref);
    if (!value.empty() && size_class(std::size_t{1} + b[0]) == size_class(1 + value.size())) {
      std::uint8_t* w = arena_.at(ref);
      w[0] = static_cast<std::uint8_t>(value.size());
      std::memcpy(w + 1, value.data(), value.size());
      return;
    }
    arena_.free(ref, std::size_t{1} + b[0]);
    ref = kNil;
  }
  if (value.empty()) return;
  ref = arena_.alloc(1 + value.size());
  std::uint8_t* w = arena_.at(ref);
  w[0] = static_cast<std::uint8_t>(value.size());
  std::memcpy(w + 1, value.data(), value.size());
}

std::size_t Mirror::memory_bytes() const noexcept {
  return chunks_.size() * (sizeof(Entry) << kChunkBits) + index_.size() * sizeof(std::uint64_t) +
         arena_.memory_bytes() + relay_.capacity() * sizeof(std::uint32_t) + sizeof(*this);
}

std::span<const std::uint8_t> Mirror::key_of(const Entry& e) const noexcept {
  if (e.key_len <= kInlineKey) return {e.key, e.key_len};
  std::uint32_t ref;
  std::memcpy(&ref, e.key, 4);
  return {arena_.at(ref), e.key_len};
}

std::size_t Mirror::find_slot(std::uint32_t hash, std::span<const std::uint8_t> key,
                              std::uint32_t address) const noexcept {
  const std::size_t mask = index_.size() - 1;
  for (std::size_t s = hash & mask;; s = (s + 1) & mask) {
    const std::uint64_t v = index_[s];
    if (v == 0) return kNpos;
    if (static_cast<std::uint32_t>(v >> 32) != hash) continue;
    const Entry& e = entry(static_cast<std::uint32_t>(v) - 1);
    if (e.key_len != key.size()) continue;
    if (key.empty() ? e.address == address : std::equal(key.begin(), key.end(), key_of(e).begin()))
      return s;
  }
}

std::uint32_t Mirror::new_entry() {
  if (free_entry_ != kNil) {
    const std::uint32_t i = free_entry_;
    free_entry_ = entry(i).hostname;
    return i;
  }
  if ((slot_end_ >> kChunkBits) >= chunks_.size())
    chunks_.push_back(std::make_unique<Entry[]>(std::size_t{1} << kChunkBits));
  return slot_end_++;
}

void Mirror::grow_index(std::size_t slots) {
  engine::HugeVector<std::uint64_t> old(slots, 0);
  old.swap(index_);
  const std::size_t mask = index_.size() - 1;
  for (const std::uint64_t v : old) {
    if (v == 0) continue;
    std::size_t s = static_cast<std::uint32_t>(v >> 32) & mask;
    while (index_[s] != 0) s = (s + 1) & mask;
    index_[s] = v;
  }
}

// Backward-shift deletion keeps every probe chain unbroken without tombstones.
void Mirror::erase_slot(std::size_t slot) {
  const std::size_t mask = index_.size() - 1;
  const std::uint32_t i = static_cast<std::uint32_t>(index_[slot]) - 1;
  Entry& e = entry(i);
  if (e.key_len > kInlineKey) {
    std::uint32_t ref;
    std::memcpy(&ref, e.key, 4);
    arena_.free(ref, e.key_len);
  }
  if (e.hostname_len > 0) arena_.free(e.hostname, e.hostname_len);
  set_relay(i, {});
  e.op = 0;
  e.key_len = 0;
  e.hostname_len = 0;
  e.ddns = 0;
  e.hostname = free_entry_;
  free_entry_ = i;
  --size_;

  std::size_t hole = slot;
  for (std::size_t s = (slot + 1) & mask;; s = (s + 1) & mask) {
    const std::uint64_t v = index_[s];
    if (v == 0) break;
    const std::size_t home = static_cast<std::uint32_t>(v >> 32) & mask;
    // Move v into the hole unless its home lies cyclically in (hole, s].
    const bool stays = hole <= s ? (home > hole && home <= s) : (home > hole || home <= s);
    if (stays) continue;
    index_[hole] = v;
    hole = s;
  }
  index_[hole] = 0;
}

void Mirror::set_hostname(Entry& e, std::span<const std::uint8_t> name, std::uint8_t ddns) {
  e.ddns = name.empty() ? 0u : ddns & engine::kDdnsFlagsMask;
  if (e.hostname_len > 0 && name.size() > 0 && size_class(e.hostname_len) == size_class(name.size())) {
    std::memcpy(arena_.at(e.hostname), name.data(), name.size());
    e.hostname_len = name.size() & 63u;
    return;
  }
  if (e.hostname_len > 0) arena_.free(e.hostname, e.hostname_len);
  e.hostname_len = 0;
  if (name.empty()) return;
  e.hostname = arena_.alloc(name.size());
  std::memcpy(arena_.at(e.hostname), name.data(), name.size());
  e.hostname_len = name.size() & 63u;
}

void Mirror::upsert(const LeaseChange& c, std::span<const std::uint8_t> key, bool keep_hostname) {
  const std::uint32_t hash = key.empty() ? probation_hash(c.address) : key_hash(key);
  std::size_t slot = find_slot(hash, key, c.address);
  std::uint32_t i;
  if (slot != kNpos) {
    i = static_cast<std::uint32_t>(index_[slot]) - 1;
  } else {
    if ((size_ + 1) * 10 > index_.size() * 7) grow_index(index_.size() * 2);
    i = new_entry();
    Entry& e = entry(i);
    e = Entry{};
    e.hash = hash;
    e.key_len = static_cast<std::uint8_t>(key.size());
    if (key.size() <= kInlineKey) {
      if (!key.empty()) std::memcpy(e.key, key.data(), key.size());
    } else {
      const std::uint32_t ref = arena_.alloc(key.size());
      std::memcpy(arena_.at(ref), key.data(), key.size());
      std::memcpy(e.key, &ref, 4);
    }
    const std::size_t mask = index_.size() - 1;
    for (slot = hash & mask; index_[slot] != 0; slot = (slot + 1) & mask) {
    }
    index_[slot] = (std::uint64_t{hash} << 32) | (i + 1);
    ++size_;
  }
  Entry& e = entry(i);
  e.op = static_cast<std::uint8_t>(c.op);
  e.htype = c.htype;
  e.subnet_id = c.subnet_id;
  e.address = c.address;
  e.start = c.start;
  e.expires = c.expires;
  std::memcpy(e.chaddr, c.chaddr.b.data(), 6);
  set_relay(i, key.empty() ? std::span<const std::uint8_t>{} : engine::relay_info_of(c));
  if (key.empty()) {
    set_hostname(e, {}, 0);
  } else if (!(keep_hostname && c.hostname_len == 0)) {
    set_hostname(e, {reinterpret_cast<const std::uint8_t*>(c.hostname.data()), c.hostname_len}, c.ddns);
  }
}

Mirror::Applied Mirror::erase(std::span<const std::uint8_t> key, std::uint32_t address) {
  const std::uint32_t hash = key.empty() ? probation_hash(address) : key_hash(key);
  const std::size_t slot = find_slot(hash, key, address);
  if (slot == kNpos) return Applied::absent;
  erase_slot(slot);
  return Applied::erased;
}

Mirror::Applied Mirror::apply(const LeaseChange& c) {
  const std::span<const std::uint8_t> key{c.key.data(), c.key_len};
  switch (c.op) {
    case LeaseOp::commit:
      if (key.empty()) return Applied::ignored;
      upsert(c, key, false);
      return Applied::upserted;
    case LeaseOp::renew:
    case LeaseOp::release:
      if (key.empty()) return Applied::ignored;
      upsert(c, key, true);
      return Applied::upserted;
    case LeaseOp::expire:
      if (key.empty()) return erase({}, c.address);
      upsert(c, key, true);
      return Applied::upserted;
    case LeaseOp::decline:
      if (!key.empty()) erase(key, c.address);
      upsert(c, {}, false);
      return Applied::upserted;
    case LeaseOp::reclaim:
      return erase(key, c.address);
  }
  return Applied::ignored;
}

void Mirror::prefetch(const LeaseChange& c) const noexcept {
  if (c.key_len > engine::kMaxKeyLen) return;
  // The slot apply() starts at: the client's, or the address's for a
  // record without a key (a probation).
  const std::uint32_t hash =
      c.key_len == 0 ? probation_hash(c.address) : key_hash({c.key.data(), c.key_len});
  __builtin_prefetch(&index_[hash & (index_.size() - 1)]);
}

void MirrorLoader::add(const LeaseChange& c) {
  if (count_ == kDepth) {
    mirror_.apply(ring_[head_]);
    head_ = (head_ + 1) % kDepth;
    --count_;
  }
  LeaseChange& slot = ring_[(head_ + count_) % kDepth];
  slot = c;
  ++count_;
  mirror_.prefetch(slot);
}

void MirrorLoader::flush() {
  for (; count_ > 0; --count_) {
    mirror_.apply(ring_[head_]);
    head_ = (head_ + 1) % kDepth;
  }
}

std::optional<LeaseChange> Mirror::lease_at(std::uint32_t i) const {
  if (i >= slot_end_) return std::nullopt;
  const Entry& e = entry(i);
  if (e.op == 0) return std::nullopt;
  LeaseChange c{};
  c.seq = 0;
  c.op = static_cast<LeaseOp>(e.op);
  c.key_len = e.key_len;
  c.htype = e.htype;
  c.hostname_len = e.hostname_len;
  c.ddns = e.ddns;
  c.subnet_id = e.subnet_id;
  c.address = e.address;
  c.start = e.start;
  c.expires = e.expires;
  std::memcpy(c.chaddr.b.data(), e.chaddr, 6);
  const auto key = key_of(e);
  std::memcpy(c.key.data(), key.data(), key.size());
  if (e.hostname_len > 0) std::memcpy(c.hostname.data(), arena_.at(e.hostname), e.hostname_len);
  if (i < relay_.size() && relay_[i] != kNil) {
    const std::uint8_t* b = arena_.at(relay_[i]);
    engine::set_relay_info(c, {b + 1, b[0]});
  }
  return c;
}

std::optional<LeaseChange> Mirror::find(std::span<const std::uint8_t> key) const {
  if (key.empty() || key.size() > engine::kMaxKeyLen) return std::nullopt;
  const std::size_t slot = find_slot(key_hash(key), key, 0);
  if (slot == kNpos) return std::nullopt;
  return lease_at(static_cast<std::uint32_t>(index_[slot]) - 1);
}

std::optional<LeaseChange> Mirror::find_probation(std::uint32_t address) const {
  const std::size_t slot = find_slot(probation_hash(address), {}, address);
  if (slot == kNpos) return std::nullopt;
  return lease_at(static_cast<std::uint32_t>(index_[slot]) - 1);
}

}  // namespace dorado::store
