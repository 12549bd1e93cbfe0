// Bulk leasequery (RFC 6926) service: a TCP listener on the control thread
// (kernel stack, non-blocking sockets polled from the daemon's control loop,
// control/daemon/serve.cpp), the leases paged from the shards with the
// control API's admin messages (engine/admin.hpp AdminOp::scan with
// kAdminActiveOnly, as lease4-get-page walks them): the workers never stop,
// each answers one page of at most kMaxAdminLeases leases between two
// packet bursts. The bytes are leasequery/bulk.hpp's.
//
// Per connection: queries are answered one after the other, in the order
// they arrive. For the running one each shard walks its address slots from
// 0; every lease a page brings that the query matches (bulk.hpp matches())
// is written as a DHCPLEASEACTIVE, and when every shard has finished,
// DHCPLEASEQUERYDONE. Backpressure: a shard's next page is asked only while
// the connection has less than kHighWater bytes unsent, so a slow requestor
// holds at most that much memory. A requestor not in [leasequery] allowed
// (the TCP peer address; engine::CompiledConfig::leasequery_allows,
// reloadable) gets DHCPLEASEQUERYSTATUS NotAllowed for its first query and
// the connection is closed; a malformed query gets MalformedQuery (the
// connection stays; a framing error closes it). At most kMaxConnections at
// once (more are closed at accept, counted).
//
// Order: leases come shard after shard interleaved, not in address order
// (RFC 6926 asks no order). A lease that changes while the walk runs may be
// sent as it was or as it is, once (the walk visits each slot once); a
// lease moved to another address during the walk may be missed or sent twice.
//
// Threads: the control thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/leases.hpp"
#include "engine/admin.hpp"
#include "engine/config.hpp"
#include "leasequery/bulk.hpp"

namespace dorado::leasequery {

// AdminRequest::id bit of the bulk leasequery's requests (the daemon routes
// replies by it; control/ha/service.hpp kHaAdminId is bit 63).
inline constexpr std::uint64_t kBulkAdminId = std::uint64_t{1} << 62;

struct BulkOptions {
  wire::Ipv4 listen_address = 0;   // 0.0.0.0: every interface
  std::uint16_t listen_port = 67;  // 0: any (tests)
  wire::Ipv4 server_id = 0;        // option 54 of the answers ([server] address)
};

struct BulkCounters {
  std::uint64_t connections = 0;        // accepted
  std::uint64_t connections_refused = 0;// over kMaxConnections
  std::uint64_t queries = 0;            // DHCPBULKLEASEQUERY received
  std::uint64_t leases_sent = 0;        // DHCPLEASEACTIVE written
  std::uint64_t done_sent = 0;          // DHCPLEASEQUERYDONE written
  std::uint64_t malformed = 0;          // DHCPLEASEQUERYSTATUS MalformedQuery (and framing errors)
  std::uint64_t not_allowed = 0;        // DHCPLEASEQUERYSTATUS NotAllowed
};

// One finished query, for the log: "bulk leasequery by relay-id from
// 10.0.0.1: 1000 lease(s) in 0.020 s".
struct QueryLog {
  std::string text;
};

class BulkService {
 public:
  static constexpr std::size_t kMaxConnections = 16;
  static constexpr std::size_t kHighWater = 256 * 1024;   // unsent bytes that pause the walk

  struct Opened {
    std::unique_ptr<BulkService> service;
    std::string error;   // "bulk leasequery: bind 0.0.0.0:67: Address already in use"
  };
  // `config` must outlive the service or the next set_config().
  static Opened open(const BulkOptions& options, api::ShardPort& port, const engine::CompiledConfig& config);
  ~BulkService();
  BulkService(const BulkService&) = delete;
  BulkService& operator=(const BulkService&) = delete;

  void set_config(const engine::CompiledConfig& config) noexcept { config_ = &config; }
  // Accepts, reads, starts and advances queries, writes. `now` is the
  // workers' clock (Unix seconds), now_ms a monotonic one. Returns log lines
  // (one per finished query or refused requestor).
  std::vector<std::string> tick(engine::Seconds now, std::uint64_t now_ms);
  // A reply to one of this service's admin requests (id & kBulkAdminId).
  void on_admin_reply(unsigned shard, const engine::AdminReply& reply);

  std::uint16_t port() const noexcept { return port_number_; }
  std::size_t open_connections() const noexcept { return conns_.size(); }
  const BulkCounters& counters() const noexcept { return counters_; }

 private:
  struct Conn;
  BulkService(const BulkOptions& options, api::ShardPort& port, const engine::CompiledConfig& config);
  void accept_new();
  void read_from(Conn& c, engine::Seconds now);
  void advance(Conn& c, engine::Seconds now, std::uint64_t now_ms, std::vector<std::string>& log);
  bool write_to(Conn& c);

  BulkOptions options_;
  api::ShardPort& shards_;
  const engine::CompiledConfig* config_;
  int listen_fd_ = -1;
  std::uint16_t port_number_ = 0;
  std::map<std::uint64_t, std::unique_ptr<Conn>> conns_;   // by connection number
  std::uint64_t next_conn_ = 1;
  engine::Seconds now_ = 0;
  BulkCounters counters_;
};

}  // namespace dorado::leasequery
