// Drop reasons and event counters of one shard, generated from drops.def and
// events.def (one table each: enum + name + text).
//
// Contract: ShardCounters is owned by the shard's lcore, written only by it
// (dp: rw) with counter_add(); the runtime's telemetry reads it from the
// control thread (cp: ro) with counter_read() or drop()/event(). Both are
// relaxed atomic accesses through std::atomic_ref: plain moves on x86-64,
// and no data race; a slightly stale value is fine for counters.
#pragma once

#include <array>
#include <atomic>
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

// A word with one writing thread and readers on others.
template <typename T>
inline void counter_store(T& word, T value) noexcept {
  std::atomic_ref<T>(word).store(value, std::memory_order_relaxed);
}
inline void counter_add(std::uint64_t& word, std::uint64_t n = 1) noexcept {
  counter_store(word, word + n);   // the writer's own read of `word` races with nothing
}
template <typename T>
inline T counter_read(const T& word) noexcept {
  return std::atomic_ref<T>(const_cast<T&>(word)).load(std::memory_order_relaxed);
}

struct alignas(64) ShardCounters {
  std::array<std::uint64_t, kDropCount> drops{};
  std::array<std::uint64_t, kEventCount> events{};

  std::uint64_t drop(DropReason r) const noexcept { return counter_read(drops[static_cast<std::size_t>(r)]); }
  std::uint64_t event(Event e) const noexcept { return counter_read(events[static_cast<std::size_t>(e)]); }
};

}  // namespace dorado::engine
