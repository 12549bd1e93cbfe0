// BOOTP/DHCP message parsing (RFC 2131, 2132, 3396, 3046, 4702, 3442, 3011).
//
// Contract: parse_dhcp() is a pure function over the UDP payload. It never
// allocates, throws, logs or reads outside `payload`. The returned DhcpMessage
// refers to `payload` (spans) and to its own scratch buffer (options that
// RFC 3396 splits into several instances are concatenated there), so keep
// both alive while using it and do not copy it around on the hot path: hold
// one per lcore and assign the result of parse_dhcp() into it.
//
// Every option with a typed accessor below is validated during parsing; a
// malformed one fails the whole message with option_bad_length or
// option_bad_value and `error_option` naming the code. Accessors are therefore
// infallible: they return std::nullopt / empty only when the option is absent.
// Other options are reachable untyped through option(code). Exception: an
// empty 12, 15, 55 or 60 (RFC 2132 wants >= 1 byte) is accepted and reads as
// an empty value: a sloppy client must not lose its lease over an empty
// hostname.
//
// Cost: one pass over the option areas plus a second one only for the codes
// that occur more than once. ~50-100 ns for a typical 300-byte request.
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "wire/bytes.hpp"
#include "wire/errors.hpp"

namespace dorado::wire {

inline constexpr std::size_t kBootpFixedSize = 236;   // op .. file
inline constexpr std::size_t kBootpMinSize = 300;     // RFC 951 minimum message
inline constexpr std::uint32_t kMagicCookie = 0x63825363;
inline constexpr std::size_t kConcatScratch = 2048;   // RFC 3396 reassembly space
inline constexpr std::uint16_t kFlagBroadcast = 0x8000;

enum class MessageType : std::uint8_t {
  discover = 1, offer = 2, request = 3, decline = 4, ack = 5, nak = 6,
  release = 7, inform = 8, force_renew = 9, lease_query = 10,
  lease_unassigned = 11, lease_unknown = 12, lease_active = 13,
  bulk_lease_query = 14, lease_query_done = 15, active_lease_query = 16,
  lease_query_status = 17, tls = 18,
};
// "DISCOVER", "OFFER", ...; "UNKNOWN" for values outside the enum.
std::string_view message_type_name(std::uint8_t type) noexcept;

namespace opt {  // option codes used by name in dorado
inline constexpr std::uint8_t pad = 0, subnet_mask = 1, time_offset = 2, routers = 3,
    dns_servers = 6, hostname = 12, domain_name = 15, broadcast_address = 28,
    ntp_servers = 42, vendor_specific = 43, requested_ip = 50, lease_time = 51,
    overload = 52, message_type = 53, server_id = 54, parameter_request_list = 55,
    message = 56, max_message_size = 57, renewal_time = 58, rebinding_time = 59,
    vendor_class_id = 60, client_id = 61, user_class = 77, rapid_commit = 80, client_fqdn = 81,
    relay_agent_info = 82, client_system = 93, client_ndi = 94, uuid_guid = 97,
    subnet_selection = 118, domain_search = 119, classless_static_route = 121,
    end = 255;
}
// Registry name for an option code ("Subnet-Mask", ...); "Unknown" if none.
std::string_view option_name(std::uint8_t code) noexcept;

// Option 82 (RFC 3046) with the sub-options dorado uses (RFC 3527 link
// selection, RFC 4243 vendor-specific, RFC 5107 server identifier
// override). `raw` is the whole option value, echoed byte for byte in
// replies. Sub-options 5 and 11 must be 4 bytes (else the message fails
// with option_bad_value on 82).
struct RelayAgentInfo {
  Bytes raw;
  std::optional<Bytes> circuit_id;       // sub-option 1
  std::optional<Bytes> remote_id;        // sub-option 2
  std::optional<Ipv4> link_selection;    // sub-option 5
  std::optional<Bytes> vendor_specific;  // sub-option 9
  std::optional<Ipv4> server_id_override;   // sub-option 11 (RFC 5107)
};

// RFC 5107: the server identifier override of an option 82 value, or 0
// when it has none. One walk over the sub-options; noexcept.
Ipv4 server_id_override(Bytes relay_agent_info) noexcept;

// Option 81 (RFC 4702).
struct ClientFqdn {
  std::uint8_t flags = 0;   // S=0x01 O=0x02 E=0x04 N=0x08
  std::uint8_t rcode1 = 0;
  std::uint8_t rcode2 = 0;
  Bytes name;               // canonical wire format if E set, else ASCII
};

// A list of IPv4 addresses as carried in options 3, 6, ... (validated n*4).
struct Ipv4List {
  Bytes raw;
  std::size_t size() const noexcept { return raw.size() / 4; }
  bool empty() const noexcept { return raw.empty(); }
  Ipv4 operator[](std::size_t i) const noexcept { return load_be32(raw.data() + 4 * i); }
};

// Option 121 (RFC 3442): destination descriptors + routers, validated.
struct ClasslessRoute {
  Ipv4 destination = 0;     // significant bits only, the rest zero
  std::uint8_t prefix_length = 0;
  Ipv4 router = 0;
};
struct ClasslessRoutes {
  Bytes raw;
  // Calls f(ClasslessRoute) for each route in order.
  template <typename F>
  void for_each(F&& f) const noexcept {
    std::size_t i = 0;
    while (i < raw.size()) {
      ClasslessRoute r;
      r.prefix_length = raw[i++];
      const std::size_t n = (r.prefix_length + 7u) / 8u;
      std::uint8_t dst[4] = {0, 0, 0, 0};
      for (std::size_t k = 0; k < n; ++k) dst[k] = raw[i + k];
      i += n;
      // Only the significant bits: senders may leave junk in the last octet.
      r.destination = r.prefix_length == 0
                          ? 0
                          : load_be32(dst) & (0xffffffffu << (32 - r.prefix_length));
      r.router = load_be32(raw.data() + i);
      i += 4;
      f(r);
    }
  }
};

// Where option bytes were found (RFC 2131 4.1 order: options, file, sname).
enum OptionArea : std::uint8_t { area_options = 1, area_file = 2, area_sname = 4 };

class DhcpMessage {
 public:
  // Re-parses this object from `payload` (see parse_dhcp); returns `error`.
  // The hot path keeps one DhcpMessage per lcore and calls this per packet,
  // which avoids both construction and a 3 KiB copy.
  Error parse(Bytes payload) noexcept;

  // ---- result of parsing ----------------------------------------------------
  Error error = Error::ok;
  std::uint8_t error_option = 0;   // the offending code for option_* errors

  // ---- BOOTP fixed header (RFC 2131 figure 1) ------------------------------
  std::uint8_t op = 0;
  std::uint8_t htype = 0;
  std::uint8_t hlen = 0;
  std::uint8_t hops = 0;
  std::uint32_t xid = 0;
  std::uint16_t secs = 0;
  std::uint16_t flags = 0;
  Ipv4 ciaddr = 0;
  Ipv4 yiaddr = 0;
  Ipv4 siaddr = 0;
  Ipv4 giaddr = 0;
  Bytes chaddr_field;              // all 16 bytes of the field
  Bytes sname_field;               // 64 bytes (raw; may carry options)
  Bytes file_field;                // 128 bytes (raw; may carry options)
  std::uint8_t overload = 0;       // option 52 value, 0 if absent
  std::uint8_t areas = 0;          // OptionArea bits that held options
  bool has_cookie = false;         // false: plain BOOTP, no options parsed

  // A BOOTREQUEST whose vendor area holds no DHCP magic cookie (RFC 951:
  // plain BOOTP, or another vendor's magic): error dhcp_no_cookie, its fixed
  // fields read, no options. The server answers it as a BOOTP client
  // (engine/bootp.cpp); any other error is a refusal.
  bool plain_bootp_request() const noexcept { return error == Error::dhcp_no_cookie && op == 1; }
  // The bytes after the fixed fields (the vendor area: cookie and options
  // for DHCP). Empty when the payload ends at the fixed fields.
  Bytes vendor_area() const noexcept {
    return payload_.size() > kBootpFixedSize ? payload_.subspan(kBootpFixedSize) : Bytes{};
  }

  // Client hardware address: the first hlen bytes of chaddr.
  Bytes chaddr() const noexcept { return chaddr_field.first(hlen); }
  // chaddr as an Ethernet MAC (meaningful when htype == 1 && hlen == 6).
  MacAddr chaddr_mac() const noexcept { return load_mac(chaddr_field.data()); }
  bool broadcast_flag() const noexcept { return (flags & kFlagBroadcast) != 0; }

  // ---- options ---------------------------------------------------------------
  bool has(std::uint8_t code) const noexcept { return present_.test(code); }
  // The (concatenated) value of an option; nullopt when absent.
  std::optional<Bytes> option(std::uint8_t code) const noexcept {
    if (!present_.test(code)) return std::nullopt;
    return Bytes{at(code), slots_[code].len};
  }
  // How many instances of the code were concatenated (0 when absent).
  std::uint8_t instances(std::uint8_t code) const noexcept {
    return present_.test(code) ? slots_[code].count : 0;
  }
  // Codes present, in order of first appearance (PAD and END excluded).
  std::span<const std::uint8_t> codes() const noexcept { return {order_.data(), order_count_}; }

  std::optional<MessageType> message_type() const noexcept {          // 53
    if (!has(opt::message_type)) return std::nullopt;
    return static_cast<MessageType>(at(opt::message_type)[0]);
  }
  std::optional<Ipv4> subnet_mask() const noexcept { return ip_opt(opt::subnet_mask); }  // 1
  Ipv4List routers() const noexcept { return list_opt(opt::routers); }                   // 3
  Ipv4List dns_servers() const noexcept { return list_opt(opt::dns_servers); }           // 6
  std::optional<std::string_view> hostname() const noexcept { return str_opt(opt::hostname); }        // 12
  std::optional<std::string_view> domain_name() const noexcept { return str_opt(opt::domain_name); }  // 15
  std::optional<Ipv4> broadcast_address() const noexcept { return ip_opt(opt::broadcast_address); }   // 28
  std::optional<Ipv4> requested_ip() const noexcept { return ip_opt(opt::requested_ip); }  // 50
  std::optional<std::uint32_t> lease_time() const noexcept { return u32_opt(opt::lease_time); }  // 51
  std::optional<Ipv4> server_id() const noexcept { return ip_opt(opt::server_id); }     // 54
  Bytes parameter_request_list() const noexcept {                      // 55
    return has(opt::parameter_request_list) ? *option(opt::parameter_request_list) : Bytes{};
  }
  std::optional<std::uint16_t> max_message_size() const noexcept {    // 57
    if (!has(opt::max_message_size)) return std::nullopt;
    return load_be16(at(opt::max_message_size));
  }
  std::optional<std::uint32_t> renewal_time() const noexcept { return u32_opt(opt::renewal_time); }     // 58
  std::optional<std::uint32_t> rebinding_time() const noexcept { return u32_opt(opt::rebinding_time); } // 59
  std::optional<Bytes> vendor_class_id() const noexcept { return option(opt::vendor_class_id); }  // 60
  std::optional<Bytes> client_id() const noexcept { return option(opt::client_id); }              // 61
  std::optional<ClientFqdn> client_fqdn() const noexcept;                                           // 81
  std::optional<RelayAgentInfo> relay_agent_info() const noexcept;                                  // 82
  std::optional<Ipv4> subnet_selection() const noexcept { return ip_opt(opt::subnet_selection); } // 118
  std::optional<ClasslessRoutes> classless_routes() const noexcept {                               // 121
    if (!has(opt::classless_static_route)) return std::nullopt;
    return ClasslessRoutes{*option(opt::classless_static_route)};
  }

 private:
  friend class DhcpParser;  // dhcp.cpp

  std::optional<Ipv4> ip_opt(std::uint8_t c) const noexcept {
    if (!has(c)) return std::nullopt;
    return load_be32(at(c));
  }
  std::optional<std::uint32_t> u32_opt(std::uint8_t c) const noexcept { return ip_opt(c); }
  Ipv4List list_opt(std::uint8_t c) const noexcept {
    return has(c) ? Ipv4List{*option(c)} : Ipv4List{};
  }
  std::optional<std::string_view> str_opt(std::uint8_t c) const noexcept {
    if (!has(c)) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(at(c)), slots_[c].len);
  }

  // Option values are offsets, into payload_ or (for concatenated codes,
  // in_scratch_ set) into scratch_, so a DhcpMessage may be copied freely.
  const std::uint8_t* at(std::uint8_t c) const noexcept {
    return (in_scratch_.test(c) ? scratch_.data() : payload_.data()) + slots_[c].off;
  }

  // Only entries whose bit is set in present_ are initialised: parsing a
  // message touches 64 bytes of bitmaps plus the options it finds, not 3 KiB.
  Bytes payload_;
  std::bitset<256> present_;
  std::bitset<256> in_scratch_;
  // Where each present code's value is, how long, how many instances: one
  // 6-byte slot per code, so the codes a request usually carries (12, 50-61,
  // 82) take 4 cache lines of a message, not the 8 of three parallel arrays
  // (a worker parses 32 messages per chunk into a working set near L1's
  // size).
  struct Slot {
    std::uint16_t off;
    std::uint16_t len;
    std::uint8_t count;
  };
  std::array<Slot, 256> slots_;
  std::array<std::uint8_t, 256> order_;
  std::size_t order_count_ = 0;
  std::array<std::uint8_t, kConcatScratch> scratch_;
};

// Parses a BOOTP/DHCP message (the UDP payload). Checks: fixed header length,
// op in {1,2}, hlen <= 16; the magic cookie (absent -> has_cookie=false and
// error dhcp_no_cookie, since dorado serves DHCP only); option framing in
// every area (options, then file/sname when option 52 says so), PAD/END,
// concatenation of repeated codes (RFC 3396), and the typed options' shapes.
// A missing END option is tolerated (common in the wild): the area simply ends.
inline DhcpMessage parse_dhcp(Bytes payload) noexcept {
  DhcpMessage m;
  m.parse(payload);
  return m;
}

}  // namespace dorado::wire
