// Bulk leasequery (RFC 6926): the bytes. Pure: no I/O, no clock (the caller
// passes `now`); allocation is fine (control thread). A libFuzzer target
// drives the parser (tests/fuzz/bulk_leasequery_fuzz.cpp).
//
// Transport: TCP; each DHCP message is preceded by its length, 2 bytes in
// network order (RFC 6926 section 6.3). FrameReader cuts a byte stream into
// messages; append_* write framed answers.
//
// A query (DHCPBULKLEASEQUERY, message type 14, op BOOTREQUEST) asks by
// exactly one of (RFC 6926 section 7.2):
//   ciaddr non-zero                  by_address: the lease on that address
//   option 61                        by_client_id: the client with that client-id
//   htype/hlen/chaddr (hlen 1..16)   by_mac: leases with that hardware address
//   option 82 sub-option 12          by_relay_id: leases whose stored option 82
//                                    has that relay-id (RFC 6925)
//   option 82 sub-option 2           by_remote_id: ... that remote-id
//   none of them                     all: every active lease
// optionally filtered by query-start-time (option 154) and query-end-time
// (155): absolute Unix times; a lease matches when its last client
// transaction (cltt) is within [start, end]. Two criteria, a time option
// that is not 4 bytes, or start > end: MalformedQuery.
//
// Answers carry the query's xid: one DHCPLEASEACTIVE (13) per matching
// active lease, then DHCPLEASEQUERYDONE (15); or DHCPLEASEQUERYSTATUS (17)
// with a status-code option (151) on an error. DHCPLEASEACTIVE holds, as the
// UDP answer does (engine/leasequery.hpp): ciaddr = the address, htype/
// hlen/chaddr, options 54 (server identifier), 51 (seconds left), 91
// (seconds since the client's last transaction), 61 (client-id clients),
// 82 (the option 82 the lease was granted with, when kept), plus 152
// (base-time: the server's time of the answer) and 156 (dhcp-state: 2,
// ACTIVE).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/lease.hpp"
#include "wire/bytes.hpp"

namespace dorado::leasequery {

// Option codes (RFC 6926 section 6.2) and option 82 sub-options.
inline constexpr std::uint8_t kOptStatusCode = 151;
inline constexpr std::uint8_t kOptBaseTime = 152;
inline constexpr std::uint8_t kOptQueryStartTime = 154;
inline constexpr std::uint8_t kOptQueryEndTime = 155;
inline constexpr std::uint8_t kOptDhcpState = 156;
inline constexpr std::uint8_t kOptClientLastTransactionTime = 91;
inline constexpr std::uint8_t kSubOptRemoteId = 2;
inline constexpr std::uint8_t kSubOptRelayId = 12;   // RFC 6925
inline constexpr std::uint8_t kDhcpStateActive = 2;

// RFC 6926 section 6.2.2.
enum class StatusCode : std::uint8_t {
  success = 0,
  unspec_fail = 1,
  query_terminated = 2,
  malformed_query = 3,
  not_allowed = 4,
};

// The longest message a requestor may send (a query is one DHCP message;
// anything longer is refused as malformed and the connection closed).
inline constexpr std::size_t kMaxQueryBytes = 4096;

// Cuts a TCP byte stream into messages.
class FrameReader {
 public:
  enum class Status : std::uint8_t { need_more, message, bad_length };
  // Appends received bytes.
  void feed(std::span<const std::uint8_t> bytes);
  // The next whole message into `out` (message), need_more, or bad_length
  // (a length of 0 or over kMaxQueryBytes: the stream cannot be resynced).
  Status next(std::vector<std::uint8_t>& out);
  std::size_t buffered() const noexcept { return buf_.size() - pos_; }

 private:
  std::vector<std::uint8_t> buf_;
  std::size_t pos_ = 0;
};

enum class QueryKind : std::uint8_t { all, by_address, by_mac, by_client_id, by_relay_id, by_remote_id };
const char* query_kind_name(QueryKind k) noexcept;   // "all", "address", "mac", "client-id", "relay-id", "remote-id"

struct BulkQuery {
  std::uint32_t xid = 0;
  QueryKind kind = QueryKind::all;
  wire::Ipv4 address = 0;                 // by_address
  std::uint8_t htype = 0;                 // by_mac
  std::vector<std::uint8_t> id;           // by_mac: chaddr[0..hlen); client-id; relay-id; remote-id
  std::optional<std::uint32_t> start_time, end_time;
};

struct ParsedQuery {
  StatusCode status = StatusCode::success;   // success: `query` is valid
  std::string message;                       // why not (the status-code option's text)
  bool have_xid = false;                     // the message was long enough to hold one
  BulkQuery query;                           // xid set whenever have_xid
};
ParsedQuery parse_bulk_query(std::span<const std::uint8_t> message);

// Whether an active lease (as a shard describes it: engine::AdminReply) is
// one the query asks for.
bool matches(const BulkQuery& q, const engine::LeaseChange& lease) noexcept;

// The value of sub-option `code` in an option 82 value; nullopt when absent
// or the value is not a well-formed sub-option list.
std::optional<wire::Bytes> relay_sub_option(wire::Bytes relay_info, std::uint8_t code) noexcept;

// Framed answers appended to `out`.
void append_lease_active(std::vector<std::uint8_t>& out, std::uint32_t xid, const engine::LeaseChange& lease,
                         engine::Seconds now, wire::Ipv4 server_id);
void append_done(std::vector<std::uint8_t>& out, std::uint32_t xid, engine::Seconds now, wire::Ipv4 server_id);
void append_status(std::vector<std::uint8_t>& out, std::uint32_t xid, StatusCode code, std::string_view text,
                   engine::Seconds now, wire::Ipv4 server_id);

}  // namespace dorado::leasequery
