// Codec error reasons, generated from errors.def (one table: enum + text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dorado::wire {

enum class Error : std::uint8_t {
#define DORADO_WIRE_ERROR(name, text) name,
#include "wire/errors.def"
#undef DORADO_WIRE_ERROR
};

inline constexpr std::size_t kErrorCount = 0
#define DORADO_WIRE_ERROR(name, text) + 1
#include "wire/errors.def"
#undef DORADO_WIRE_ERROR
    ;

// Stable snake_case identifier ("ipv4_bad_checksum"), for counters and JSON.
std::string_view error_name(Error e) noexcept;
// Human sentence, for logs and the decoder.
std::string_view error_text(Error e) noexcept;

}  // namespace dorado::wire
