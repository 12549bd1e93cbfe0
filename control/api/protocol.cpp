#include "api/protocol.hpp"

#include <algorithm>
#include <cstdio>

namespace dorado::api {

std::string Answer::to_string() const {
  Json j = Json::object();
  j["result"] = result;
  j["text"] = text;
  if (arguments) j["arguments"] = *arguments;
  // Replace invalid UTF-8 (a hostname, a request's own bytes echoed) rather than throw.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Answer error_answer(std::string text) { return Answer{kError, std::move(text), std::nullopt}; }

Answer success(std::string text, std::optional<Json> arguments) {
  return Answer{kSuccess, std::move(text), std::move(arguments)};
}

namespace {

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

const char* type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "a map";
    case Json::value_t::array: return "a list";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_float: return "a real number";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    default: return "something else";
  }
}

// Deepest {/[ nesting outside strings. nlohmann's parser is iterative, but
// copying and destroying a parsed value recurse: a request of 500,000 '['
// would overflow the stack. Requests never need more than a few levels.
std::size_t nesting_depth(std::string_view t) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : t) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') deepest = std::max(deepest, ++depth);
    else if ((c == '}' || c == ']') && depth > 0) --depth;
    if (deepest > kMaxRequestDepth) break;
  }
  return deepest;
}

}  // namespace

bool incomplete_json(std::string_view text) {
  const std::string_view t = trim_right(text);
  if (t.empty()) return true;
  if (nesting_depth(t) > kMaxRequestDepth) return false;   // refused whole: answer now
  try {
    const Json j = Json::parse(t.begin(), t.end());
    (void)j;
    return false;
  } catch (const Json::parse_error& e) {
    // The parser stopped at the end of the input: more bytes could fix it.
    return e.byte >= t.size() + 1;
  } catch (const std::exception&) {
    return false;
  }
}

Parsed parse_request(std::string_view text) {
  Parsed p;
  if (text.size() > kMaxRequestBytes) {
    p.error = error_answer("request too large: " + std::to_string(text.size()) + " bytes (at most " +
                           std::to_string(kMaxRequestBytes) + ")");
    return p;
  }
  if (nesting_depth(text) > kMaxRequestDepth) {
    p.error = error_answer("invalid request: JSON nested deeper than " + std::to_string(kMaxRequestDepth) +
                           " levels");
    return p;
  }
  Json j;
  try {
    j = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    p.error = error_answer(std::string("invalid JSON: ") + e.what());
    return p;
  } catch (const std::exception& e) {
    p.error = error_answer(std::string("invalid JSON: ") + e.what());
    return p;
  }
  if (!j.is_object()) {
    p.error = error_answer(std::string("invalid request: must be a map, got ") + type_name(j));
    return p;
  }
  Request r;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k == "command") {
      if (!it->is_string()) {
        p.error = error_answer(std::string("invalid request: 'command' must be a string, got ") +
                               type_name(*it));
        return p;
      }
      r.command = it->get<std::string>();
    } else if (k == "arguments") {
      if (it->is_null()) continue;
      if (!it->is_object()) {
        p.error = error_answer(std::string("invalid request: 'arguments' must be a map, got ") +
                               type_name(*it));
        return p;
      }
      r.arguments = *it;
    } else if (k == "service") {
      const bool strings = it->is_array() && std::all_of(it->begin(), it->end(),
                                                         [](const Json& s) { return s.is_string(); });
      if (!strings) {
        p.error = error_answer("invalid request: 'service' must be a list of strings");
        return p;
      }
    } else {
      p.error = error_answer("invalid request: unknown member '" + k +
                             "' (expected command, arguments, service)");
      return p;
    }
  }
  if (!j.contains("command")) {
    p.error = error_answer("invalid request: 'command' is missing");
    return p;
  }
  if (r.command.empty()) {
    p.error = error_answer("invalid request: 'command' is empty");
    return p;
  }
  p.request = std::move(r);
  return p;
}

// ---- Args ---------------------------------------------------------------------

Args::Args(const Json& arguments) : args_(arguments) {}

void Args::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

const Json* Args::find(const char* key, bool required) {
  seen_.emplace_back(key);
  if (!error_.empty()) return nullptr;
  if (!args_.is_object()) {
    fail("arguments must be a map");
    return nullptr;
  }
  const auto it = args_.find(key);
  if (it == args_.end()) {
    if (required) fail(std::string("missing parameter '") + key + "'");
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> Args::string(const char* key, bool required) {
  const Json* j = find(key, required);
  if (j == nullptr) return std::nullopt;
  if (!j->is_string()) {
    fail(std::string("'") + key + "' must be a string, got " + type_name(*j));
    return std::nullopt;
  }
  return j->get<std::string>();
}

std::optional<std::uint64_t> Args::integer(const char* key, bool required, std::uint64_t min,
                                           std::uint64_t max) {
  const Json* j = find(key, required);
  if (j == nullptr) return std::nullopt;
  std::uint64_t v = 0;
  if (j->is_number_unsigned()) {
    v = j->get<std::uint64_t>();
  } else if (j->is_number_integer() && j->get<std::int64_t>() >= 0) {
    v = static_cast<std::uint64_t>(j->get<std::int64_t>());
  } else {
    fail(std::string("'") + key + "' must be a non-negative integer, got " +
         (j->is_number_integer() ? std::string("a negative integer") : type_name(*j)));
    return std::nullopt;
  }
  if (v < min || v > max) {
    fail(std::string("'") + key + "' must be " + std::to_string(min) + ".." + std::to_string(max) +
         " (got " + std::to_string(v) + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Args::boolean(const char* key, bool required) {
  const Json* j = find(key, required);
  if (j == nullptr) return std::nullopt;
  if (!j->is_boolean()) {
    fail(std::string("'") + key + "' must be a boolean, got " + type_name(*j));
    return std::nullopt;
  }
  return j->get<bool>();
}

std::optional<wire::Ipv4> Args::address(const char* key, bool required) {
  const auto s = string(key, required);
  if (!s) return std::nullopt;
  const auto ip = parse_ipv4(*s);
  if (!ip) fail(std::string("'") + key + "' must be an IPv4 address (a.b.c.d), got \"" + *s + "\"");
  return ip;
}

std::optional<wire::MacAddr> Args::mac(const char* key, bool required) {
  const auto s = string(key, required);
  if (!s) return std::nullopt;
  const auto m = parse_mac(*s);
  if (!m) fail(std::string("'") + key + "' must be a MAC address (02:00:00:00:00:01), got \"" + *s + "\"");
  return m;
}

std::optional<std::vector<std::uint8_t>> Args::hex(const char* key, bool required,
                                                   std::size_t min_len, std::size_t max_len) {
  const auto s = string(key, required);
  if (!s) return std::nullopt;
  auto bytes = parse_hex(*s);
  if (!bytes || bytes->size() < min_len || bytes->size() > max_len) {
    fail(std::string("'") + key + "' must be " + std::to_string(min_len) + ".." +
         std::to_string(max_len) + " hex bytes (01:02:ff), got \"" + *s + "\"");
    return std::nullopt;
  }
  return bytes;
}

bool Args::finish() {
  if (!error_.empty()) return false;
  if (!args_.is_object()) {
    fail("arguments must be a map");
    return false;
  }
  for (auto it = args_.begin(); it != args_.end(); ++it) {
    if (std::find(seen_.begin(), seen_.end(), it.key()) == seen_.end()) {
      std::string expected;
      for (const auto& s : seen_) expected += (expected.empty() ? "" : ", ") + s;
      fail("unknown parameter '" + it.key() + "'" +
           (expected.empty() ? std::string(" (this command takes none)") : " (expected " + expected + ")"));
      return false;
    }
  }
  return true;
}

// ---- text forms ---------------------------------------------------------------------

std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view s) {
  std::vector<std::uint8_t> out;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.empty()) return std::nullopt;
  const bool separated = s.find_first_of(":-") != std::string_view::npos;
  std::size_t i = 0;
  while (i < s.size()) {
    if (separated) {
      // one or two digits, then a separator or the end
      int v = nibble(s[i]);
      if (v < 0) return std::nullopt;
      ++i;
      if (i < s.size() && nibble(s[i]) >= 0) v = v * 16 + nibble(s[i++]);
      out.push_back(static_cast<std::uint8_t>(v));
      if (i < s.size()) {
        if (s[i] != ':' && s[i] != '-') return std::nullopt;
        if (++i == s.size()) return std::nullopt;
      }
    } else {
      if (i + 1 >= s.size()) return std::nullopt;
      const int hi = nibble(s[i]), lo = nibble(s[i + 1]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

std::string format_hex(const std::uint8_t* p, std::size_t n) {
  std::string s;
  char buf[4];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, i == 0 ? "%02x" : ":%02x", p[i]);
    s += buf;
  }
  return s;
}

}  // namespace dorado::api
