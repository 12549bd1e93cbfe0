// One shard's view of the address space: per 64-address block a free bitmap,
// a "sticky" bitmap (free addresses still remembered by an inactive lease of
// some client, handed out only when no clean address is left) and the slot
// array address -> lease record; per subnet two summary bitmaps (blocks with
// a free / a clean address) so allocation is a couple of bit scans.
//
// Block ownership: the block of 64 addresses at `base` belongs to shard
// ((base >> 6) % shard_count): a function of the address alone, not of the
// block's index, so that a config reload that adds or removes pools (and so
// renumbers the blocks) moves no address to another shard. A shard only
// ever sets free bits in the blocks it owns, so several shards built from the
// same CompiledConfig never hand out the same address. Addresses outside
// pools, excluded or reserved are never free (CompiledConfig's allocatable
// masks). The single-shard case (index 0 of 1) owns everything.
//
// Ownership and threads: owned by one shard, used only by its lcore. The
// constructor allocates (start-up only); every other function is noexcept,
// allocation-free and O(1), except pick() which scans summary words
// (O(blocks/64) worst case, O(1) typically thanks to a rotating cursor).
//
// Like LeaseTable it has no DHCP policy: the shard keeps bits and slots
// consistent with its lease records (Shard::audit() checks that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/huge_alloc.hpp"
#include "engine/lease.hpp"
#include "engine/reserved.hpp"

namespace dorado::engine {

// block * 64 + (address & 63): a dense id for every address that has a block.
using SlotId = std::uint32_t;

struct ShardIdentity {
  std::uint32_t index = 0;   // this shard, 0 .. count-1
  std::uint32_t count = 1;   // shards sharing the address space
};

// With HA (engine/ha.hpp) blocks go to shards in pairs, one of each HA
// side, so that every shard has addresses of its own server's side.
inline constexpr std::uint32_t shard_of_block_base(Ipv4 base, std::uint32_t shard_count,
                                                   bool ha_pairs = false) noexcept {
  return (base >> (ha_pairs ? 7 : 6)) % shard_count;
}
inline bool shard_owns_block(const CompiledConfig& config, std::uint32_t block,
                             ShardIdentity id) noexcept {
  return shard_of_block_base(config.blocks[block].base, id.count, config.ha.enabled) == id.index;
}
// Addresses this shard hands out in `block`: allocatable, in a block it
// owns, and on its server's HA side (or both sides: HaConfig::all_blocks).
inline std::uint64_t shard_allocatable(const CompiledConfig& config, std::uint32_t block,
                                       ShardIdentity id) noexcept {
  const BlockInfo& b = config.blocks[block];
  return shard_owns_block(config, block, id) && ha_allocates(config.ha, b.base) ? b.allocatable : 0;
}

class Allocator {
 public:
  // `config` must outlive the allocator. Allocates: start-up, or on the
  // control thread for Shard::reconfigure.
  Allocator(const CompiledConfig& config, ShardIdentity id);
  Allocator(Allocator&&) noexcept = default;
  Allocator& operator=(Allocator&&) noexcept = default;

  // Slot of `ip` in subnet index `subnet` (which must contain ip), or kNil
  // when no block covers it (outside every pool and reservation).
  // Slot functions below take kNil (an address in no block: a lease kept
  // after a reload removed its pool) and then do nothing / answer kNil.
  SlotId slot_of(std::uint32_t subnet, Ipv4 ip) const noexcept {
    const std::uint32_t b = config_->block_of(config_->subnets[subnet], ip);
    return b == kNil ? kNil : (b << 6) | (ip & 63u);
  }
  Ipv4 address_of(SlotId s) const noexcept { return config_->blocks[s >> 6].base | (s & 63u); }
  std::uint16_t subnet_of(SlotId s) const noexcept { return config_->blocks[s >> 6].subnet; }

  // Slots hold ~lease (0, the value of a fresh page: none).
  std::uint32_t lease_at(SlotId s) const noexcept { return s == kNil ? kNil : ~slots_[s]; }
  void set_lease(SlotId s, std::uint32_t lease) noexcept {
    if (s != kNil) slots_[s] = ~lease;
  }

  bool is_free(SlotId s) const noexcept { return (bits_[s >> 6].free >> (s & 63u)) & 1u; }
  bool is_sticky(SlotId s) const noexcept { return (bits_[s >> 6].sticky >> (s & 63u)) & 1u; }
  // In a pool, not excluded/reserved, in a block this shard owns, on this
  // server's HA side.
  bool is_allocatable(SlotId s) const noexcept { return (bits_[s >> 6].owned >> (s & 63u)) & 1u; }

  // Marks a free address used (clears sticky). No-op if it is not free.
  void take(SlotId s) noexcept;
  // Marks an allocatable address free, sticky or clean. No-op for addresses
  // that are not allocatable (reserved ones stay "used" forever).
  void give_back(SlotId s, bool sticky) noexcept;
  // Clears the sticky bit of a free address.
  void unstick(SlotId s) noexcept;
  // Sets the sticky bit of a free address (reconfigure: inactive history).
  void stick(SlotId s) noexcept;

  // A free address of the subnet: a clean one if any, else (allow_sticky) a
  // sticky one. kNil when none. Does not take it.
  SlotId pick(std::uint32_t subnet, bool allow_sticky) noexcept;
  // The same in a subnet with pool tables (engine/classes.cpp), for a
  // client of classes `cls`: clean addresses of the pools its classes name,
  // then of open pools (plain `pools`, tables without `classes`), then
  // sticky ones in the same order; never a pool that does not allow it.
  // O(blocks of those ranges / 64) summary words.
  SlotId pick_pooled(std::uint32_t subnet, ClassSet cls) noexcept;

  std::uint32_t free_count(std::uint32_t subnet) const noexcept { return subnets_[subnet].free; }
  // The free bits of block `block` (0 for blocks other shards own).
  std::uint64_t free_bits(std::uint32_t block) const noexcept { return bits_[block].free; }
  std::uint32_t sticky_count(std::uint32_t subnet) const noexcept { return subnets_[subnet].sticky; }
  std::size_t memory_bytes() const noexcept;
  // Bits, counts and summaries agree with each other and with ownership;
  // empty if sound. O(blocks); for tests.
  std::string audit() const;

 private:
  struct Bits {
    std::uint64_t free = 0;
    std::uint64_t sticky = 0;   // subset of free
    std::uint64_t owned = 0;    // allocatable & owned by this shard
  };
  struct SubnetState {
    std::uint32_t summary_offset = 0;   // into has_free_/has_clean_
    std::uint32_t summary_words = 0;
    std::uint32_t cursor = 0;           // summary word where the last pick succeeded
    std::uint32_t free = 0;
    std::uint32_t sticky = 0;
  };

  void update_summary(std::uint32_t block) noexcept;
  SlotId pick_range(std::uint32_t subnet, Ipv4 first, Ipv4 last, bool clean) noexcept;
  SlotId scan(const CompiledSubnet& cs, SubnetState& st, const std::vector<std::uint64_t>& summary,
              bool clean) noexcept;

  const CompiledConfig* config_;
  ShardIdentity id_;
  HugeVector<Bits> bits_;
  ReservedArray<std::uint32_t> slots_;   // ~lease index per address (memory follows leases)
  std::vector<SubnetState> subnets_;
  std::vector<std::uint64_t> has_free_;
  std::vector<std::uint64_t> has_clean_;
};

}  // namespace dorado::engine
