// What this server has registered in DNS, durably (docs/dns.md "Never
// lost", docs/architecture.md "Dynamic DNS"): one entry per address with the
// FQDN, the DHCID it was registered under and which of the forward (A +
// DHCID) and reverse (PTR) records are in place. The DDNS service
// (control/ddns/service.hpp) compares it with what the leases ask for: the
// difference is the work still to do, after a crash or restart too.
//
// File `ddns-state` in the store directory: an append-only sequence of
// records, each
//
//   off size field
//     0   4  crc32c     over bytes 4 .. end of the record (store/crc32c.hpp)
//     4   2  body_len   bytes after this 8-byte header
//     6   1  type       1 = registered (flags != 0), 2 = erased
//     7   1  version    1
//     8   4  address    IPv4, host order
//    12   1  flags      bit 0: forward registered, bit 1: reverse registered
//    13   1  fqdn_len   0..253
//    14   1  dhcid_len  0..64
//    15   f  fqdn       presentation format, lower case, no trailing dot
//  15+f   d  dhcid      RDATA (message.hpp dhcid_rdata)
//
// little-endian. The last record of an address wins. A torn or corrupt tail
// (a crash mid-write) ends the replay there and is cut off; the entries it
// would have changed are redone (DNS updates are idempotent here: an add
// finds its own DHCID, a removal finds nothing to remove). When the file has
// grown to more than twice what the live entries need (and at least 1 MiB)
// it is rewritten whole (temp file, fdatasync, rename).
//
// Threads: one owner (the control thread). Cost: put/erase O(1) plus the
// bytes appended; sync() one write + fdatasync for everything since the last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "wire/bytes.hpp"

namespace dorado::ddns {

inline constexpr std::uint8_t kRegisteredForward = 1;
inline constexpr std::uint8_t kRegisteredReverse = 2;

struct Registered {
  std::string fqdn;
  std::vector<std::uint8_t> dhcid;
  std::uint8_t flags = 0;   // kRegisteredForward | kRegisteredReverse
  bool operator==(const Registered&) const = default;
};

using RegisteredMap = std::unordered_map<wire::Ipv4, Registered>;

// Record codec (pure; the state_fuzz target drives decode_state_record).
std::size_t encode_state_record(wire::Ipv4 address, const Registered& r, std::vector<std::uint8_t>& out);
enum class StateRecordStatus : std::uint8_t { ok, end, torn, corrupt };
struct DecodedStateRecord {
  StateRecordStatus status = StateRecordStatus::end;
  std::size_t size = 0;
  wire::Ipv4 address = 0;
  Registered registered;   // flags 0: erased
};
DecodedStateRecord decode_state_record(std::span<const std::uint8_t> bytes);

class StateLog {
 public:
  struct Opened {
    std::unique_ptr<StateLog> log;
    RegisteredMap entries;   // what the file says
    std::size_t records = 0;
    bool truncated = false;  // a torn/corrupt tail was cut off
    std::string error;       // non-empty: no log
  };
  // Opens (creates) `dir`/ddns-state and replays it.
  static Opened open(const std::string& dir);
  ~StateLog();

  // Appends a record (flags 0 = erased); written at the next sync().
  void put(wire::Ipv4 address, const Registered& r);
  // Writes and fdatasyncs what was appended; rewrites the file when it is
  // too large for `live` (the caller's current entries). Empty or an error.
  std::string sync(const RegisteredMap& live);
  bool dirty() const noexcept { return !pending_.empty(); }
  std::uint64_t file_bytes() const noexcept { return file_bytes_; }

 private:
  StateLog() = default;
  std::string path_;
  int fd_ = -1;
  std::vector<std::uint8_t> pending_;
  std::uint64_t file_bytes_ = 0;
};

}  // namespace dorado::ddns
