#include "wire/errors.hpp"

#include <array>

#include "wire/bytes.hpp"

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

char* put_decimal(char* p, unsigned v) noexcept {
  if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
  if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
  *p++ = static_cast<char>('0' + v % 10);
  return p;
}

}  // namespace

std::string_view error_name(Error e) noexcept { return entry(e).name; }
std::string_view error_text(Error e) noexcept { return entry(e).text; }

std::size_t format_ipv4(Ipv4 ip, char* buf) noexcept {
  char* p = buf;
  for (int shift = 24; shift >= 0; shift -= 8) {
    p = put_decimal(p, (ip >> shift) & 0xffu);
    if (shift != 0) *p++ = '.';
  }
  *p = '\0';
  return static_cast<std::size_t>(p - buf);
}

std::size_t format_mac(const MacAddr& mac, char* buf) noexcept {
  constexpr char kHex[] = "0123456789abcdef";
  char* p = buf;
  for (std::size_t i = 0; i < mac.b.size(); ++i) {
    if (i != 0) *p++ = ':';
    *p++ = kHex[mac.b[i] >> 4];
    *p++ = kHex[mac.b[i] & 0x0f];
  }
  *p = '\0';
  return static_cast<std::size_t>(p - buf);
}

}  // namespace dorado::wire
