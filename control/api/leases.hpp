// The lease commands of the control API (lease4-get*, lease4-add/update/
// del/wipe, leases-reclaim), executed by the shards that own the leases
// through engine::AdminRequest/AdminReply messages: the control thread never
// reads worker memory.
//
// Routing: a lookup by client-id goes to the client's shard
// (shard_for_hash of its key, as packets are routed); lookups and deletes by
// address go to every shard (a reserved address, or a lease restored after
// a change of worker count, lives on its client's shard, not on the address
// block's owner; each shard answers for what it holds); lookups by
// hw-address, pages and wipes walk every shard's address slots in bounded
// steps. lease4-add/update go to the client's shard, which must own the
// address's pool block (always true with one worker); they emit commit
// records, deletes emit reclaim records: journaled like packet changes.
//
// Threads: the control thread only. Handlers send messages and return; the
// answer is given from on_reply() once every shard asked has answered, or
// from tick() at the deadline (an error). Nothing blocks.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/commands.hpp"
#include "engine/admin.hpp"
#include "engine/config.hpp"

namespace dorado::api {

// Where lease requests go: the runtime's per-worker rings in the daemon, the
// shards themselves in tests.
class ShardPort {
 public:
  virtual ~ShardPort() = default;
  virtual unsigned shards() const = 0;
  // Queues a request for `shard`; false when its ring is full (retried later).
  virtual bool submit(unsigned shard, const engine::AdminRequest& request) = 0;
};

struct LeaseServiceOptions {
  std::uint64_t timeout_ms = 5000;   // a command without every answer by then fails
  std::uint32_t max_leases = 10000;  // leases in one answer (lease4-get-by-*, page limit)
};

// What DNS holds for a lease's address (control/ddns/service.hpp LeaseDns).
struct LeaseDnsView {
  std::string fqdn;
  bool forward = false;
  bool reverse = false;
};

class LeaseService {
 public:
  // `config` must outlive the service or the next set_config() (the
  // daemon's compiled config); `now` is the workers' clock (Unix seconds).
  LeaseService(ShardPort& port, const engine::CompiledConfig& config,
               std::function<engine::Seconds()> now, LeaseServiceOptions options = {});
  ~LeaseService();
  void register_commands(CommandTable& table);
  // After a reload: the config the shards now use (addresses <-> slots,
  // subnet ids). Commands under way go on with it; a lease4-get-page walk
  // that spans a reload may skip or repeat leases whose blocks moved.
  void set_config(const engine::CompiledConfig& config) noexcept { config_ = &config; }
  // fsync durability: a command that changed leases answers only once the
  // store has made its records durable (durable(shard) is the store's
  // durable per-shard seq); past the deadline it answers an error saying the
  // change is applied but not yet durable. Unset: answers at once.
  void set_durable(std::function<std::uint32_t(unsigned shard)> durable) { durable_ = std::move(durable); }
  // DDNS (docs/dns.md): what DNS holds for an address, so that lease answers'
  // hostname, fqdn-fwd and fqdn-rev say what is registered. Unset: the
  // stored name, both false.
  void set_dns(std::function<std::optional<LeaseDnsView>(wire::Ipv4)> dns) { dns_ = std::move(dns); }
  // A reply from a shard (runtime poll_admin).
  void on_reply(unsigned shard, const engine::AdminReply& reply);
  // Sends what the rings refused before, answers commands past their deadline.
  void tick(std::uint64_t now_ms);
  std::size_t pending() const noexcept;

 private:
  struct Op;
  void start(std::unique_ptr<Op> op, std::uint64_t now_ms);
  void send(Op& op, unsigned shard, engine::AdminRequest r);
  void finish(std::uint64_t id);
  void on_last(Op& op, unsigned shard, const engine::AdminReply& r);
  void page_round_done(Op& op);
  bool put_next(Op& op, const engine::AdminReply& r);

  ShardPort& port_;
  const engine::CompiledConfig* config_;
  bool is_durable(const Op& op) const;
  std::function<engine::Seconds()> now_;
  std::function<std::uint32_t(unsigned)> durable_;
  std::function<std::optional<LeaseDnsView>(wire::Ipv4)> dns_;
  Json lease_answer(const engine::LeaseChange& lease, engine::LeaseState state) const;
  LeaseServiceOptions options_;
  std::map<std::uint64_t, std::unique_ptr<Op>> ops_;
  std::deque<std::pair<unsigned, engine::AdminRequest>> backlog_;
  std::uint64_t next_id_ = 1;
  std::uint64_t now_ms_ = 0;
};

// A lease as Kea's lease4 commands show it: ip-address, hw-address,
// client-id (when the client sent one), subnet-id, cltt, valid-lft, expire,
// state (0 assigned, 1 declined, 2 expired-reclaimed), hostname, fqdn-fwd,
// fqdn-rev; plus dorado's own "dorado-state" (active, expired, released,
// declined) and "shard".
// With `dns`, hostname is the registered FQDN and fqdn-fwd / fqdn-rev say
// which records are in DNS.
Json lease_json(const engine::LeaseChange& lease, engine::LeaseState state, const LeaseDnsView* dns = nullptr);

}  // namespace dorado::api
