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
}

std::size_t Mirror::memory_bytes() const noexcept {
  return chunks_.size() * (sizeof(Entry) << kChunkBits) + index_.capacity() * sizeof(std::uint32_t) +
         arena_.memory_bytes() + sizeof(*this);
}

std::span<const std::uint8_t> Mirror::key_of(const Entry& e, std::uint8_t (&buf)[8]) const noexcept {
  if (e.key_len == 0) return {};
  if (e.flags & kKeyBuilt) {
    buf[0] = e.key0;
    buf[1] = e.htype;
    std::memcpy(buf + 2, e.chaddr, 6);
    return {buf, 8};
  }
  return {arena_.at(e.side) + kSideHeader, e.key_len};
}

std::uint32_t Mirror::hash_of(const Entry& e) const noexcept {
  std::uint8_t buf[8];
  return e.key_len == 0 ? probation_hash(e.address) : key_hash(key_of(e, buf));
}

Mirror::Rare Mirror::rare_of(const Entry& e) const noexcept {
  Rare r;
  if (e.side == kNil) return r;
  const std::uint8_t* b = arena_.at(e.side);
  std::size_t at = kSideHeader;
  if (e.key_len > 0 && !(e.flags & kKeyBuilt)) {
    r.key = {b + at, e.key_len};
    at += e.key_len;
  }
  r.hostname = {b + at, std::size_t{b[0] & 63u}};
  at += r.hostname.size();
  r.ddns = static_cast<std::uint8_t>(b[0] >> 6);
  r.relay = {b + at, b[1]};
  return r;
}

std::size_t Mirror::side_bytes(const Entry& e) const noexcept {
  const Rare r = rare_of(e);
  return kSideHeader + r.key.size() + r.hostname.size() + r.relay.size();
}

void Mirror::set_rare(Entry& e, const Rare& r) {
  const std::size_t bytes = kSideHeader + r.key.size() + r.hostname.size() + r.relay.size();
  if (bytes == kSideHeader && r.ddns == 0) {   // nothing rare: no block
    if (e.side != kNil) arena_.free(e.side, side_bytes(e));
    e.side = kNil;
    return;
  }
  // r may point into e's block: build the new one aside first.
  std::uint8_t buf[kMaxSide];
  buf[0] = static_cast<std::uint8_t>((r.hostname.size() & 63u) | (r.ddns & 3u) << 6);
  buf[1] = static_cast<std::uint8_t>(r.relay.size());
  std::size_t at = kSideHeader;
  for (const auto part : {r.key, r.hostname, r.relay}) {
    if (!part.empty()) std::memcpy(buf + at, part.data(), part.size());
    at += part.size();
  }
  if (e.side != kNil) {
    const std::size_t old = side_bytes(e);
    if (size_class(old) != size_class(bytes)) {
      arena_.free(e.side, old);
      e.side = kNil;
    }
  }
  if (e.side == kNil) e.side = arena_.alloc(bytes);
  std::memcpy(arena_.at(e.side), buf, bytes);
}

std::size_t Mirror::find_slot(std::uint32_t hash, std::span<const std::uint8_t> key,
                              std::uint32_t address) const noexcept {
  const std::uint32_t m = mask();
  for (std::size_t s = hash & m;; s = (s + 1) & m) {
    const std::uint32_t v = index_[s];
    if (v == 0) return kNpos;
    if ((v & ~m) != (hash & ~m)) continue;
    const Entry& e = entry((v & m) - 1);
    if (e.key_len != key.size()) continue;
    if (key.empty()) {
      if (e.address == address) return s;
      continue;
    }
    std::uint8_t buf[8];
    const auto k = key_of(e, buf);
    if (std::equal(key.begin(), key.end(), k.begin())) return s;
  }
}

std::uint32_t Mirror::new_entry() {
  if (free_entry_ != kNil) {
    const std::uint32_t i = free_entry_;
    free_entry_ = entry(i).side;
    return i;
  }
  if ((slot_end_ >> kChunkBits) >= chunks_.size())
    chunks_.push_back(std::make_unique<Entry[]>(std::size_t{1} << kChunkBits));
  return slot_end_++;
}

// The slots keep no full hash: each entry's is computed again (the entries
// walked in order, the index written at random, as recovery fills it).
void Mirror::grow_index(std::size_t slots) {
  engine::HugeVector<std::uint32_t>(slots, 0).swap(index_);
  const std::uint32_t m = mask();
  for (std::uint32_t i = 0; i < slot_end_; ++i) {
    const Entry& e = entry(i);
    if (e.op == 0) continue;
    const std::uint32_t hash = hash_of(e);
    std::size_t s = hash & m;
    while (index_[s] != 0) s = (s + 1) & m;
    index_[s] = (hash & ~m) | (i + 1);
  }
}

// Backward-shift deletion keeps every probe chain unbroken without tombstones.
void Mirror::erase_slot(std::size_t slot) {
  const std::uint32_t m = mask();
  const std::uint32_t i = (index_[slot] & m) - 1;
  Entry& e = entry(i);
  if (e.side != kNil) arena_.free(e.side, side_bytes(e));
  e.op = 0;
  e.key_len = 0;
  e.flags = 0;
  e.side = free_entry_;
  free_entry_ = i;
  --size_;

  std::size_t hole = slot;
  for (std::size_t s = (slot + 1) & m;; s = (s + 1) & m) {
    const std::uint32_t v = index_[s];
    if (v == 0) break;
    const std::size_t home = hash_of(entry((v & m) - 1)) & m;
    // Move v into the hole unless its home lies cyclically in (hole, s].
    const bool stays = hole <= s ? (home > hole && home <= s) : (home > hole || home <= s);
    if (stays) continue;
    index_[hole] = v;
    hole = s;
  }
  index_[hole] = 0;
}

void Mirror::upsert(const LeaseChange& c, std::span<const std::uint8_t> key, bool keep_hostname) {
  const std::uint32_t hash = key.empty() ? probation_hash(c.address) : key_hash(key);
  std::size_t slot = find_slot(hash, key, c.address);
  std::uint32_t i;
  if (slot != kNpos) {
    i = (index_[slot] & mask()) - 1;
  } else {
    if ((size_ + 1) * 10 > index_.size() * 7) grow_index(index_.size() * 2);
    i = new_entry();
    Entry& e = entry(i);
    e = Entry{};
    e.side = kNil;
    e.key_len = static_cast<std::uint8_t>(key.size());
    const std::uint32_t m = mask();
    for (slot = hash & m; index_[slot] != 0; slot = (slot + 1) & m) {
    }
    index_[slot] = (hash & ~m) | (i + 1);
    ++size_;
  }
  Entry& e = entry(i);
  // The rare fields: the key unless it is built from the record's htype
  // and chaddr; the hostname (kept, replaced or cleared); option 82.
  Rare r;
  const Rare old = rare_of(e);
  const bool built = key.size() == 8 && key[1] == c.htype && std::memcmp(key.data() + 2, c.chaddr.b.data(), 6) == 0;
  if (!key.empty() && !built) r.key = key;
  if (!key.empty()) {
    if (keep_hostname && c.hostname_len == 0) {
      r.hostname = old.hostname;
      r.ddns = old.ddns;
    } else {
      r.hostname = {reinterpret_cast<const std::uint8_t*>(c.hostname.data()), c.hostname_len};
      r.ddns = r.hostname.empty() ? 0u : c.ddns & engine::kDdnsFlagsMask;
    }
    r.relay = engine::relay_info_of(c);
  }
  // The old block's key is needed to build the new one (it may be that
  // block): copied out before the entry changes how it reads its block.
  std::uint8_t old_key[engine::kMaxKeyLen];
  if (!r.key.empty()) {
    std::memcpy(old_key, r.key.data(), r.key.size());
    r.key = {old_key, r.key.size()};
  }
  std::uint8_t name[engine::kMaxHostnameLen];
  if (!r.hostname.empty()) {
    std::memcpy(name, r.hostname.data(), r.hostname.size());
    r.hostname = {name, r.hostname.size()};
  }
  if (e.side != kNil) arena_.free(e.side, side_bytes(e));
  e.side = kNil;
  e.op = static_cast<std::uint8_t>(c.op);
  e.htype = c.htype;
  e.subnet_id = c.subnet_id;
  e.address = c.address;
  e.start = c.start;
  e.expires = c.expires;
  std::memcpy(e.chaddr, c.chaddr.b.data(), 6);
  e.key0 = built ? key[0] : 0;
  e.flags = built ? kKeyBuilt : 0;
  set_rare(e, r);
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
  __builtin_prefetch(&index_[hash & mask()]);
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

bool Mirror::read(std::uint32_t i, LeaseChange& c) const noexcept {
  if (i >= slot_end_) return false;
  const Entry& e = entry(i);
  if (e.op == 0) return false;
  c.seq = 0;
  c.op = static_cast<LeaseOp>(e.op);
  c.key_len = e.key_len;
  c.htype = e.htype;
  c.hostname_len = 0;
  c.subnet_id = e.subnet_id;
  c.address = e.address;
  c.start = e.start;
  c.expires = e.expires;
  std::memcpy(c.chaddr.b.data(), e.chaddr, 6);
  c.shard = 0;
  c.relay_len = 0;
  c.ddns = 0;
  if (e.flags & kKeyBuilt) {
    // The common 8-byte key, built in place: kind byte, htype, chaddr.
    c.key[0] = e.key0;
    c.key[1] = e.htype;
    std::memcpy(c.key.data() + 2, e.chaddr, 6);
  } else if (e.key_len != 0) {
    std::uint8_t buf[8];
    const auto key = key_of(e, buf);
    std::memcpy(c.key.data(), key.data(), key.size());
  }
  if (e.side != kNil) {
    const Rare r = rare_of(e);
    c.hostname_len = static_cast<std::uint8_t>(r.hostname.size());
    if (!r.hostname.empty()) std::memcpy(c.hostname.data(), r.hostname.data(), r.hostname.size());
    c.ddns = r.ddns;
    engine::set_relay_info(c, r.relay);
  }
  return true;
}

std::optional<LeaseChange> Mirror::lease_at(std::uint32_t i) const {
  LeaseChange c{};
  if (!read(i, c)) return std::nullopt;
  return c;
}

std::optional<LeaseChange> Mirror::find(std::span<const std::uint8_t> key) const {
  if (key.empty() || key.size() > engine::kMaxKeyLen) return std::nullopt;
  const std::size_t slot = find_slot(key_hash(key), key, 0);
  if (slot == kNpos) return std::nullopt;
  return lease_at((index_[slot] & mask()) - 1);
}

std::optional<LeaseChange> Mirror::find_probation(std::uint32_t address) const {
  const std::size_t slot = find_slot(probation_hash(address), {}, address);
  if (slot == kNpos) return std::nullopt;
  return lease_at((index_[slot] & mask()) - 1);
}

}  // namespace dorado::store
