// IPv4 text <-> host-order integer for dorado-migrate: inet_pton's dotted
// quad (four decimal octets, no leading zeros, nothing else), as dorado's
// config takes addresses, and inet_ntop's form back.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <optional>
#include <string>

namespace dorado::migrate {

inline std::optional<std::uint32_t> parse_ipv4(const std::string& text) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

inline std::string format_ipv4(std::uint32_t ip) {
  in_addr a{};
  a.s_addr = htonl(ip);
  char b[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &a, b, sizeof b) ? std::string(b) : std::string();
}

}  // namespace dorado::migrate
