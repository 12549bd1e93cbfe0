#include "engine/allocator.hpp"

#include <bit>
#include <string>

namespace dorado::engine {

Allocator::Allocator(const CompiledConfig& config, ShardIdentity id) : config_(&config), id_(id) {
  bits_.resize(config.blocks.size());
  // Zero (no lease) until written: pages of blocks without leases stay
  // unresident (engine/reserved.hpp).
  slots_ = ReservedArray<std::uint32_t>(config.blocks.size() * kBlockBits);
  subnets_.resize(config.subnets.size());
  std::uint32_t words = 0;
  for (std::size_t s = 0; s < config.subnets.size(); ++s) {
    subnets_[s].summary_offset = words;
    subnets_[s].summary_words = (config.subnets[s].block_count + 63) / 64;
    words += subnets_[s].summary_words;
  }
  has_free_.assign(words, 0);
  has_clean_.assign(words, 0);
  for (std::uint32_t b = 0; b < config.blocks.size(); ++b) {
    const std::uint64_t mine = shard_allocatable(config, b, id_);
    if (mine == 0) continue;
    Bits& x = bits_[b];
    x.owned = x.free = mine;
    subnets_[config.blocks[b].subnet].free += static_cast<std::uint32_t>(std::popcount(x.free));
    update_summary(b);
  }
}

void Allocator::update_summary(std::uint32_t block) noexcept {
  const BlockInfo& bi = config_->blocks[block];
  const CompiledSubnet& cs = config_->subnets[bi.subnet];
  const std::uint32_t local = block - cs.first_block;
  const std::uint32_t w = subnets_[bi.subnet].summary_offset + local / 64;
  const std::uint64_t m = 1ull << (local % 64);
  const Bits& x = bits_[block];
  has_free_[w] = x.free != 0 ? has_free_[w] | m : has_free_[w] & ~m;
  has_clean_[w] = (x.free & ~x.sticky) != 0 ? has_clean_[w] | m : has_clean_[w] & ~m;
}

void Allocator::take(SlotId s) noexcept {
  if (s == kNil) return;
  Bits& x = bits_[s >> 6];
  const std::uint64_t m = 1ull << (s & 63u);
  if (!(x.free & m)) return;
  SubnetState& st = subnets_[config_->blocks[s >> 6].subnet];
  --st.free;
  if (x.sticky & m) --st.sticky;
  x.free &= ~m;
  x.sticky &= ~m;
  update_summary(s >> 6);
}

void Allocator::give_back(SlotId s, bool sticky) noexcept {
  if (s == kNil) return;
  Bits& x = bits_[s >> 6];
  const std::uint64_t m = 1ull << (s & 63u);
  if (!(x.owned & m) || (x.free & m)) return;
  SubnetState& st = subnets_[config_->blocks[s >> 6].subnet];
  ++st.free;
  x.free |= m;
  if (sticky) {
    x.sticky |= m;
    ++st.sticky;
  }
  update_summary(s >> 6);
}

void Allocator::stick(SlotId s) noexcept {
  if (s == kNil) return;
  Bits& x = bits_[s >> 6];
  const std::uint64_t m = 1ull << (s & 63u);
  if (!(x.free & m) || (x.sticky & m)) return;
  x.sticky |= m;
  ++subnets_[config_->blocks[s >> 6].subnet].sticky;
  update_summary(s >> 6);
}

void Allocator::unstick(SlotId s) noexcept {
  if (s == kNil) return;
  Bits& x = bits_[s >> 6];
  const std::uint64_t m = 1ull << (s & 63u);
  if (!(x.sticky & m)) return;
  x.sticky &= ~m;
  --subnets_[config_->blocks[s >> 6].subnet].sticky;
  update_summary(s >> 6);
}

SlotId Allocator::scan(const CompiledSubnet& cs, SubnetState& st,
                       const std::vector<std::uint64_t>& summary, bool clean) noexcept {
  const std::uint32_t n = st.summary_words;
  std::uint32_t w = st.cursor < n ? st.cursor : 0;
  for (std::uint32_t k = 0; k < n; ++k, w = w + 1 == n ? 0 : w + 1) {
    const std::uint64_t word = summary[st.summary_offset + w];
    if (word == 0) continue;
    st.cursor = w;
    const std::uint32_t block = cs.first_block + w * 64 + static_cast<std::uint32_t>(std::countr_zero(word));
    const Bits& x = bits_[block];
    const std::uint64_t candidates = clean ? x.free & ~x.sticky : x.free;
    return (block << 6) | static_cast<std::uint32_t>(std::countr_zero(candidates));
  }
  return kNil;
}

SlotId Allocator::pick(std::uint32_t subnet, bool allow_sticky) noexcept {
  SubnetState& st = subnets_[subnet];
  const CompiledSubnet& cs = config_->subnets[subnet];
  if (st.free > st.sticky) return scan(cs, st, has_clean_, true);
  if (allow_sticky && st.free != 0) return scan(cs, st, has_free_, false);
  return kNil;
}

std::size_t Allocator::memory_bytes() const noexcept {
  return bits_.capacity() * sizeof(Bits) + slots_.size() * 4 +
         subnets_.capacity() * sizeof(SubnetState) + (has_free_.capacity() + has_clean_.capacity()) * 8;
}

std::string Allocator::audit() const {
  std::vector<std::uint32_t> free(subnets_.size(), 0), sticky(subnets_.size(), 0);
  for (std::uint32_t b = 0; b < bits_.size(); ++b) {
    const Bits& x = bits_[b];
    const std::uint64_t expect_owned = shard_allocatable(*config_, b, id_);
    if (x.owned != expect_owned) return "block " + std::to_string(b) + ": ownership mask";
    if (x.free & ~x.owned) return "block " + std::to_string(b) + ": free bit on a non-allocatable address";
    if (x.sticky & ~x.free) return "block " + std::to_string(b) + ": sticky bit on a used address";
    const std::uint16_t s = config_->blocks[b].subnet;
    free[s] += static_cast<std::uint32_t>(std::popcount(x.free));
    sticky[s] += static_cast<std::uint32_t>(std::popcount(x.sticky));
    const CompiledSubnet& cs = config_->subnets[s];
    const std::uint32_t local = b - cs.first_block;
    const std::uint32_t w = subnets_[s].summary_offset + local / 64;
    const bool f = (has_free_[w] >> (local % 64)) & 1u, c = (has_clean_[w] >> (local % 64)) & 1u;
    if (f != (x.free != 0) || c != ((x.free & ~x.sticky) != 0))
      return "block " + std::to_string(b) + ": summary bits disagree";
  }
  for (std::size_t s = 0; s < subnets_.size(); ++s)
    if (free[s] != subnets_[s].free || sticky[s] != subnets_[s].sticky)
      return "subnet " + std::to_string(s) + ": free/sticky counts disagree with bitmaps";
  return {};
}

}  // namespace dorado::engine
