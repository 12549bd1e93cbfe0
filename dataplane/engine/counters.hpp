// Drop reasons and event counters of one shard, generated from drops.def and
// events.def (one table each: enum + name + text).
//
// Contract: ShardCounters is plain data owned by the shard's lcore, written
// only by it (dp: rw). The runtime's telemetry reads it from the control
// thread without synchronisation (cp: ro); a torn read of a uint64 cannot
// happen on x86-64 and a slightly stale value is acceptable for counters.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dorado::engine {

enum class DropReason : std::uint8_t {
#define DORADO_ENGINE_DROP(name, text) name,
#include "engine/drops.def"
#undef DORADO_ENGINE_DROP
};

inline constexpr std::size_t kDropCount = 0
#define DORADO_ENGINE_DROP(name, text) + 1
#include "engine/drops.def"
#undef DORADO_ENGINE_DROP
    ;

enum class Event : std::uint8_t {
#define DORADO_ENGINE_EVENT(name, text) name,
#include "engine/events.def"
#undef DORADO_ENGINE_EVENT
};

inline constexpr std::size_t kEventCount = 0
#define DORADO_ENGINE_EVENT(name, text) + 1
#include "engine/events.def"
#undef DORADO_ENGINE_EVENT
    ;

// Stable snake_case identifiers ("pool_exhausted"), for metrics and JSON.
std::string_view drop_name(DropReason r) noexcept;
std::string_view drop_text(DropReason r) noexcept;
std::string_view event_name(Event e) noexcept;
std::string_view event_text(Event e) noexcept;

struct alignas(64) ShardCounters {
  std::array<std::uint64_t, kDropCount> drops{};
  std::array<std::uint64_t, kEventCount> events{};

  std::uint64_t drop(DropReason r) const noexcept { return drops[static_cast<std::size_t>(r)]; }
  std::uint64_t event(Event e) const noexcept { return events[static_cast<std::size_t>(e)]; }
};

}  // namespace dorado::engine
