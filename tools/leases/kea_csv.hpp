// Kea memfile lease4 CSV (the file kea-dhcp4 writes with
// "lease-database": {"type": "memfile"}): parsing and formatting of single
// lines, and a reader for a whole file.
//
// The format, as Kea 2.2 writes it (src/lib/dhcpsrv/csv_lease_file4.cc):
//   address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
//   10.0.0.5,02:00:00:00:00:01,01:02:00:00:00:00:01,3600,1795362469,7,0,0,host&#x2cname,0,
// - one header line, then one row per lease change; newer Kea versions add
//   columns (pool_id): columns are found by header name, unknown ones ignored;
// - no quoting: a ',' or '&' inside hostname or user_context is written
//   "&#x2c" / "&#x26" (any "&#xHH" is one escaped byte);
// - hwaddr, client_id: hex bytes separated by ':' (either may be empty);
// - expire = cltt + valid_lifetime (Unix seconds); valid_lifetime 4294967295
//   is an infinite lease;
// - the file is an append log: a later row for an address replaces the
//   earlier one, and a row with valid_lifetime 0 (Kea writes that when it
//   deletes a lease) removes it;
// - state: 0 default (bound until expire), 1 declined (address in probation
//   until expire), 2 expired-reclaimed (kept for lease affinity).
//
// Contract: pure functions over strings; no logging; any thread.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/bytes.hpp"

namespace dorado::leases {

inline constexpr std::string_view kKeaLease4Header =
    "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,"
    "hostname,state,user_context";

inline constexpr std::uint32_t kKeaInfiniteLifetime = 0xffffffffu;

enum class KeaState : std::uint8_t { normal = 0, declined = 1, expired_reclaimed = 2 };

// One row, fields decoded (hostname and user_context unescaped).
struct KeaRow {
  wire::Ipv4 address = 0;
  std::vector<std::uint8_t> hwaddr;
  std::vector<std::uint8_t> client_id;
  std::uint32_t valid_lifetime = 0;
  std::uint64_t expire = 0;
  std::uint32_t subnet_id = 0;
  bool fqdn_fwd = false;
  bool fqdn_rev = false;
  std::string hostname;
  KeaState state = KeaState::normal;
  std::string user_context;   // kept as text, never interpreted

  // Kea's deletion marker (valid_lifetime 0; expire 0 is taken the same way).
  bool deleted() const noexcept { return valid_lifetime == 0 || expire == 0; }
  friend bool operator==(const KeaRow&, const KeaRow&) = default;
};

// Column positions taken from the header line; -1 = column absent.
struct KeaHeader {
  int address = -1, hwaddr = -1, client_id = -1, valid_lifetime = -1, expire = -1,
      subnet_id = -1, fqdn_fwd = -1, fqdn_rev = -1, hostname = -1, state = -1,
      user_context = -1;
  std::size_t columns = 0;
};

struct HeaderResult {
  KeaHeader header;
  std::string error;   // empty when the header is usable
};
// Needs address, hwaddr, client_id, valid_lifetime, expire and subnet_id;
// fqdn_fwd, fqdn_rev, hostname, state and user_context are optional (older
// Kea files lack some); other names are ignored.
HeaderResult parse_kea_header(std::string_view line);

struct RowResult {
  KeaRow row;
  std::string error;   // "bad address 'x'" ...; empty when the row is good
};
// One data line (without its line end) under `header`.
RowResult parse_kea_row(std::string_view line, const KeaHeader& header);

// Kea's field escaping: "&#xHH" <-> byte 0xHH.
std::string kea_unescape(std::string_view field);
// Escapes ',' and '&' (as Kea 2.2 does: "a&b,c" -> "a&#x26b&#x2cc") and CR,
// LF (so that a row stays one line).
std::string kea_escape(std::string_view text);

// "02:00:00:00:00:01"; empty for no bytes.
std::string format_hex_colon(const std::uint8_t* data, std::size_t len);
// Accepts Kea's forms: "0a:1b", single digits "a:1b", and no separators
// ("0a1b"); "" gives no bytes. nullopt on anything else.
std::optional<std::vector<std::uint8_t>> parse_hex_colon(std::string_view text);

// The row as Kea 2.2 writes it (the kKeaLease4Header columns), no line end.
std::string format_kea_row(const KeaRow& row);

// ---- a whole file -------------------------------------------------------------

struct Located {
  std::uint32_t file = 0;   // index into the caller's list of files
  std::uint32_t line = 0;   // 1-based
};

struct LocatedRow {
  KeaRow row;
  Located at;
};

struct LocatedError {
  Located at;
  std::string message;
};

struct KeaFile {
  std::vector<LocatedRow> rows;       // good rows, in file order
  std::vector<LocatedError> errors;   // bad rows (and a bad header: line 1)
  std::uint64_t lines = 0;            // data lines read (blank lines not counted)
};

// Reads every line of `in`; CRLF or LF line ends; blank lines are skipped.
// A bad header makes every row unreadable: one error, no rows.
KeaFile read_kea_csv(std::istream& in, std::uint32_t file_index);

}  // namespace dorado::leases
