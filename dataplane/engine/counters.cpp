#include "engine/counters.hpp"

namespace dorado::engine {

namespace {

struct Entry {
  std::string_view name;
  std::string_view text;
};

constexpr std::array<Entry, kDropCount> kDrops{{
#define DORADO_ENGINE_DROP(name, text) {#name, text},
#include "engine/drops.def"
#undef DORADO_ENGINE_DROP
}};

constexpr std::array<Entry, kEventCount> kEvents{{
#define DORADO_ENGINE_EVENT(name, text) {#name, text},
#include "engine/events.def"
#undef DORADO_ENGINE_EVENT
}};

static_assert(kDrops[0].name == "none", "drops.def must start with none");

constexpr Entry kInvalid{"invalid", "invalid code"};

template <typename Table, typename E>
constexpr const Entry& entry(const Table& t, E e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < t.size() ? t[i] : kInvalid;
}

}  // namespace

std::string_view drop_name(DropReason r) noexcept { return entry(kDrops, r).name; }
std::string_view drop_text(DropReason r) noexcept { return entry(kDrops, r).text; }
std::string_view event_name(Event e) noexcept { return entry(kEvents, e).name; }
std::string_view event_text(Event e) noexcept { return entry(kEvents, e).text; }

}  // namespace dorado::engine
