// Kea's JSON dialect -> nlohmann::ordered_json (key order kept, so that what
// is reported comes out in the order of the file).
//
// Kea reads its config files as JSON plus: comments (`#` and `//` to the end
// of the line, `/* ... */` over several lines) and numbers that start or end
// with the decimal point (`.5`, `5.`). Both are accepted here; Kea's
// `<?include "file"?>` is refused with a clear message (expand it first).
// Pure; any thread; no exceptions escape.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dorado::migrate {

using Json = nlohmann::ordered_json;

struct KeaJson {
  std::optional<Json> doc;   // set iff error is empty
  std::string error;         // "line L, column C: what is wrong"
};

KeaJson parse_kea_json(std::string_view text);

// The text with Kea's comments blanked out (newlines kept, so line numbers
// stay) and `.5` / `5.` written as `0.5` / `5.0`: plain JSON. Exposed for
// tests. Sets `error` for an unterminated comment or string, or an include.
std::string kea_json_to_plain(std::string_view text, std::string& error);

}  // namespace dorado::migrate
