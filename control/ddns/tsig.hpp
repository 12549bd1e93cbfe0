// TSIG algorithms (RFC 8945 section 6, and hmac-md5 for old servers): the
// one table of their names, shared by the config loader (which refuses
// others) and the message layer (control/ddns/message.hpp).
//
// Contract: header-only, constexpr, no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dorado::ddns {

enum class TsigAlgorithm : std::uint8_t { hmac_md5, hmac_sha1, hmac_sha224, hmac_sha256, hmac_sha384, hmac_sha512 };

inline constexpr std::array<std::string_view, 6> kTsigAlgorithmNames = {
    "hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"};

constexpr std::string_view tsig_algorithm_name(TsigAlgorithm a) noexcept {
  return kTsigAlgorithmNames[static_cast<std::size_t>(a)];
}

// "hmac-sha256" (as the config writes it) -> the algorithm; nullopt if unknown.
constexpr std::optional<TsigAlgorithm> tsig_algorithm_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kTsigAlgorithmNames.size(); ++i)
    if (kTsigAlgorithmNames[i] == name) return static_cast<TsigAlgorithm>(i);
  return std::nullopt;
}

}  // namespace dorado::ddns
