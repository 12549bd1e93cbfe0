#include "wire/errors.hpp"

#include <array>

namespace dorado::wire {

namespace {

struct ErrorEntry {
  std::string_view name;
  std::string_view text;
};

constexpr std::array<ErrorEntry, kErrorCount> kErrors{{
#define DORADO_WIRE_ERROR(name, text) {#name, text},
#include "wire/errors.def"
#undef DORADO_WIRE_ERROR
}};

// An out-of-range value can only come from a cast of a corrupt byte; name it
// rather than index past the table.
constexpr ErrorEntry kInvalid{"invalid", "invalid error code"};

constexpr const ErrorEntry& entry(Error e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < kErrors.size() ? kErrors[i] : kInvalid;
}

static_assert(kErrors[0].name == "ok", "errors.def must start with ok");

}  // namespace

std::string_view error_name(Error e) noexcept { return entry(e).name; }
std::string_view error_text(Error e) noexcept { return entry(e).text; }

}  // namespace dorado::wire
