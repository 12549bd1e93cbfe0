// libFuzzer target for the config loader (control/config): arbitrary text as
// a TOML file. It must never crash or throw; a config it accepts must have
// compiled, and its [split_scope] parts must cover each pool's usable
// addresses exactly once, in order. Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/config.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return 0;   // keep inputs to config-file sizes
  const auto r = dorado::config::load_config_string(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  FUZZ_CHECK(r.ok() == (r.config.has_value() && r.compiled.has_value()));
  FUZZ_CHECK(r.ok() || !r.errors.empty());
  if (!r.ok()) return 0;
  for (const auto& p : r.config->split_pools) {
    std::uint64_t sum = 0;
    std::uint64_t next = p.pool.first;
    for (const auto& part : p.parts) {
      sum += part.count;
      if (part.count == 0) continue;
      FUZZ_CHECK(part.range.first >= next && part.range.first <= part.range.last);
      FUZZ_CHECK(part.range.last <= p.pool.last);
      next = std::uint64_t{part.range.last} + 1;
    }
    FUZZ_CHECK(sum == p.usable);
  }
  return 0;
}
