// The control API's wire protocol, as Kea's control socket speaks it:
// request {"command": "NAME", "arguments": {...}} (arguments optional),
// answer {"result": 0|1|2|3, "text": "...", "arguments": {...}}.
//
// Pure: parsing and validation are functions of their input (no runtime, no
// I/O, no globals), so tests and the fuzz target (tests/fuzz/api_fuzz.cpp)
// call them directly. Never throws: bad input becomes an error Answer.
// Any thread; allocates (not for the packet path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "wire/bytes.hpp"
#include "wire/text.hpp"

namespace dorado::api {

using Json = nlohmann::json;

// Kea's result codes.
enum Result : int {
  kSuccess = 0,
  kError = 1,
  kUnsupported = 2,   // unknown command
  kEmpty = 3,         // nothing found
};

// Requests above this are refused whole (the server stops reading).
inline constexpr std::size_t kMaxRequestBytes = 1 << 20;
// ... and so are requests nested deeper than this ({ and [ levels).
inline constexpr std::size_t kMaxRequestDepth = 32;

struct Answer {
  int result = kSuccess;
  std::string text;
  std::optional<Json> arguments;   // absent: no "arguments" member
  // {"result": R, "text": "...", "arguments": {...}}, one line, no newline.
  std::string to_string() const;
};

Answer error_answer(std::string text);
Answer success(std::string text, std::optional<Json> arguments = std::nullopt);

struct Request {
  std::string command;
  Json arguments = Json::object();   // always an object ({} when absent)
};

struct Parsed {
  std::optional<Request> request;   // set when `error` is not
  Answer error;                     // result kError: what is wrong
};

// Parses one request: at most kMaxRequestBytes and kMaxRequestDepth, a JSON object with a string
// "command", an optional object "arguments" (null counts as absent), and
// optionally "service" (Kea's agent routing; an array of strings, ignored);
// nothing else.
Parsed parse_request(std::string_view text);

// Whether `text` could still become a valid JSON document with more bytes:
// true while it is a prefix of one (an incomplete request); false when it is
// complete or can never parse. The server reads until this is false or EOF.
bool incomplete_json(std::string_view text);

// Typed access to a request's arguments with Kea-style messages
// ("'ip-address' must be a string"). The first error sticks; check ok()
// (or finish(), which also refuses keys nobody asked for) before using the
// values.
class Args {
 public:
  explicit Args(const Json& arguments);
  std::optional<std::string> string(const char* key, bool required);
  std::optional<std::uint64_t> integer(const char* key, bool required, std::uint64_t min,
                                       std::uint64_t max);
  std::optional<bool> boolean(const char* key, bool required);
  std::optional<wire::Ipv4> address(const char* key, bool required);
  std::optional<wire::MacAddr> mac(const char* key, bool required);
  std::optional<std::vector<std::uint8_t>> hex(const char* key, bool required, std::size_t min_len,
                                               std::size_t max_len);
  void fail(std::string message);
  bool ok() const noexcept { return error_.empty(); }
  // False (and an error) if any argument was not asked for.
  bool finish();
  const std::string& error() const noexcept { return error_; }

 private:
  const Json* find(const char* key, bool required);
  const Json& args_;
  std::vector<std::string> seen_;
  std::string error_;
};

// Text forms. Addresses and MACs are wire/text.hpp's (the API's
// "ip-address" and "hw-address" take exactly what the config file takes).
using wire::format_ipv4;
using wire::format_mac;
using wire::parse_ipv4;
using wire::parse_mac;
// Hex bytes (client-id): "01:02:ff" or "01-02-ff" (one or two digits per
// byte) or "0102ff".
std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view s);
std::string format_hex(const std::uint8_t* p, std::size_t n);   // "01:02:ff"

}  // namespace dorado::api
