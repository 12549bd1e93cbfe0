#include "runtime/counters.hpp"

namespace dorado::runtime {
namespace {

constexpr std::string_view kNames[] = {
#define DORADO_RUNTIME_DROP(name, text) #name,
#include "runtime/drops.def"
#undef DORADO_RUNTIME_DROP
};
constexpr std::string_view kTexts[] = {
#define DORADO_RUNTIME_DROP(name, text) text,
#include "runtime/drops.def"
#undef DORADO_RUNTIME_DROP
};

}  // namespace

std::string_view drop_name(Drop d) noexcept { return kNames[static_cast<std::size_t>(d)]; }
std::string_view drop_text(Drop d) noexcept { return kTexts[static_cast<std::size_t>(d)]; }

}  // namespace dorado::runtime
