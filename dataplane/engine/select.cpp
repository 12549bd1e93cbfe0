// Shared networks (issue 16; docs/architecture.md "Shared networks"): the
// subnets of one link, tried in config order when the selected one cannot
// give the client an address; a client's address keeps its own subnet.
#include "engine/engine.hpp"

#include <algorithm>

namespace dorado::engine {

std::uint32_t Shard::subnet_in_network(std::uint32_t selected, Ipv4 addr) const noexcept {
  if (selected == kNil || config_->subnets[selected].contains(addr) || config_->networks.empty())
    return selected;
  const std::uint16_t n = config_->network_of[selected];
  if (n == kNoNetwork) return selected;
  const CompiledNetwork& net = config_->networks[n];
  for (std::uint32_t i = 0; i < net.count; ++i) {
    const std::uint32_t s = config_->network_members[net.begin + i];
    if (config_->subnets[s].contains(addr)) return s;
  }
  return selected;
}

SlotId Shard::pick_in_network(std::uint32_t& subnet, ClassSet cls) noexcept {
  SlotId t = pick_for(cls, subnet);   // pool tables: only pools the client's classes allow
  if (t != kNil || config_->networks.empty()) return t;
  const std::uint16_t n = config_->network_of[subnet];
  if (n == kNoNetwork) return kNil;
  const CompiledNetwork& net = config_->networks[n];
  for (std::uint32_t i = 0; i < net.count; ++i) {
    const std::uint32_t s = config_->network_members[net.begin + i];
    if (s == subnet) continue;
    if ((t = pick_for(cls, s)) != kNil) {
      subnet = s;
      bump(Event::shared_network_fallback);
      return t;
    }
  }
  return kNil;
}

std::uint32_t CompiledConfig::subnet_of_vlans(std::uint8_t count,
                                              const std::array<wire::VlanTag, 2>& tags) const noexcept {
  const std::uint32_t key = count == 1   ? vlan_key(1, tags[0].vid(), 0)
                            : count == 2 ? vlan_key(2, tags[0].vid(), tags[1].vid())
                                         : 0;
  const auto it = std::lower_bound(vlan_subnets.begin(), vlan_subnets.end(), std::pair{key, std::uint32_t{0}});
  return it != vlan_subnets.end() && it->first == key ? it->second : kNil;
}

}  // namespace dorado::engine
