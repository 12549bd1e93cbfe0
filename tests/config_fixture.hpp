// What the config tests (tests/config_*_test.cpp) share: the smallest config
// the loader accepts, and the loader's errors as text for assertions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace dorado::config::test_support {

// [server] and one [[subnet]] 10.99.0.0/16 with the pool 10.99.1.0/24 (lines
// 1-5), for tests that append the one section they are about.
inline constexpr std::string_view kMinimalConfig =
    "[server]\n"
    "address = \"10.99.0.1\"\n"
    "[[subnet]]\n"
    "prefix = \"10.99.0.0/16\"\n"
    "pools = \"10.99.1.0/24\"\n";

// kMinimalConfig followed by `text` (which starts on line 6), loaded as `name`.
inline LoadResult load_after_minimal(std::string_view text, const std::string& name) {
  return load_config_string(std::string(kMinimalConfig) + std::string(text), name);
}

// Every error as the loader prints it: "file:line: key: message".
inline std::vector<std::string> error_lines(const LoadResult& r) {
  std::vector<std::string> out;
  for (const ConfigError& e : r.errors) out.push_back(e.to_string());
  return out;
}

// The errors one per line, for the message of a failed assertion.
inline std::string all_errors(const LoadResult& r) {
  std::string s;
  for (const ConfigError& e : r.errors) s += "\n  " + e.to_string();
  return s.empty() ? "\n  (no errors)" : s;
}

// Whether some error's text contains `text`.
inline bool has_error(const LoadResult& r, std::string_view text) {
  for (const ConfigError& e : r.errors)
    if (e.to_string().find(text) != std::string::npos) return true;
  return false;
}

}  // namespace dorado::config::test_support
