// The shards of one test server (api_test, bulk_leasequery_test,
// ha/ha_service_test): `n` real engine::Shard over one compiled config,
// shard i of n as the daemon numbers them, each with room for 4,096 leases.
#pragma once

#include <memory>
#include <vector>

#include "engine/engine.hpp"

namespace dorado::test_support {

inline std::vector<std::unique_ptr<engine::Shard>> make_shards(const engine::CompiledConfig& c, unsigned n,
                                                               bool keep_relay_info = false) {
  std::vector<std::unique_ptr<engine::Shard>> shards;
  for (unsigned i = 0; i < n; ++i) {
    engine::ShardConfig sc;
    sc.identity = {i, n};
    sc.table.capacity = 4096;
    sc.keep_relay_info = keep_relay_info;
    shards.push_back(std::move(engine::Shard::create(c, sc).shard));
  }
  return shards;
}

}  // namespace dorado::test_support
