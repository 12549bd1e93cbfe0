// The MADCAP server (RFC 2730; docs/madcap.md): multicast addresses from
// the [[multicast_scope]] ranges, leased per Lease Identifier, on a
// non-blocking kernel UDP socket polled from the daemon's control loop.
//
// Two parts:
//   Leases   the protocol and lease logic, pure (no I/O): a request and the
//            time in, a reply and the lease changes to journal out. Unit
//            tested (tests/madcap_test.cpp).
//   Service  the socket, the store, the replies held until durable, the
//            counters; made and ticked by the daemon (control/daemon/serve.cpp).
//
// Durability: a lease is one store record (control/store/format.hpp) whose
// key is kKeyKindMadcap + the Lease Identifier, address = the multicast
// address, start/expires as for DHCP leases; commit (granted), renew, and
// reclaim (released or expired: the record leaves the store). They are
// journaled with Store::take_replicated (the control thread's own records:
// no worker's durable sequence, no tap) and an ACK that grants, renews or
// releases leaves only once the store's durable_seq() passes its record, so
// a crash never forgets a lease a client was told it has. At start the
// service takes every such record of the store that has not expired. The
// DHCP shards never see them: 224.0.0.0/4 is in no subnet, and the daemon
// hands them no record of this kind (serve.cpp restore_leases).
//
// Threads: the control thread only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/lease.hpp"
#include "madcap/message.hpp"

namespace dorado::store {
class Store;
}

namespace dorado::madcap {

// The store key kind of a MADCAP lease (engine/lease.hpp has the DHCP kinds).
inline constexpr std::uint8_t kKeyKindMadcap = 0x4d;   // 'M'
static_assert(kKeyKindMadcap != engine::kKeyKindHw && kKeyKindMadcap != engine::kKeyKindClientId);

inline constexpr std::uint32_t kOfferHoldSeconds = 60;   // an OFFER's address is kept this long

struct Counters {
#define X(name, help) std::uint64_t name = 0;
#include "madcap/counters.def"
#undef X
};
struct CounterRow {
  const char* name;
  const char* help;
  std::uint64_t value;
};
std::vector<CounterRow> counter_rows(const Counters& c);

struct Scope {
  std::string name, zone;
  std::uint32_t first = 0, last = 0;
  std::uint8_t ttl = 32;
  std::uint32_t min_lease_time = 60, max_lease_time = 86400, default_lease_time = 3600;
};

struct Settings {
  std::uint32_t server_address = 0;   // Server Identifier ([server] address)
  std::uint32_t listen_address = 0;
  std::uint16_t listen_port = kPort;
  std::vector<Scope> scopes;
};
Settings settings_from(const config::DaemonConfig& config);

struct Lease {
  std::uint32_t address = 0;
  std::uint32_t start = 0, expires = 0;   // unix seconds
  bool bound = false;                     // false: offered, not journaled
};

class Leases {
 public:
  explicit Leases(Settings settings);
  void reconfigure(Settings settings);

  struct Outcome {
    std::size_t reply_size = 0;                 // 0: no reply
    std::vector<engine::LeaseChange> changes;   // to journal before the reply leaves
  };
  // One parsed request at unix time `now`; the reply is written to `out`.
  Outcome handle(const Request& r, std::uint32_t now, std::span<std::uint8_t> out, Counters& counters);
  // Offers and leases that ran out by `now`: the changes (reclaim) to journal.
  std::vector<engine::LeaseChange> expire(std::uint32_t now, Counters& counters);
  // A lease from the store at start-up (a commit/renew record of kind
  // kKeyKindMadcap); false if not taken (expired, not in a scope, address taken).
  bool restore(const engine::LeaseChange& c, std::uint32_t now);

  std::size_t bound_count() const noexcept;
  const std::map<std::string, Lease>& leases() const noexcept { return by_id_; }
  const Settings& settings() const noexcept { return s_; }

 private:
  const Scope* scope_by_id(std::uint32_t id) const noexcept;
  const Scope* scope_of(std::uint32_t address) const noexcept;
  std::uint32_t pick(const Scope& sc, const std::string& id, const Request& r);
  std::uint32_t lease_time(const Scope& sc, const Request& r) const noexcept;
  engine::LeaseChange change(engine::LeaseOp op, const std::string& id, const Lease& l) const;
  void forget(const std::string& id);

  Settings s_;
  std::map<std::string, Lease> by_id_;            // lease identifier -> lease or offer
  std::map<std::uint32_t, std::string> by_addr_;  // address -> lease identifier
  std::map<std::uint32_t, std::uint32_t> cursor_; // scope first -> next address to try
};

class Service {
 public:
  struct Created {
    std::unique_ptr<Service> service;
    std::string error;
  };
  // Opens the socket, takes the store's MADCAP leases. `log` gets one line a call.
  static Created create(Settings settings, store::Store& store, std::function<void(const std::string&)> log,
                        std::uint32_t now);
  ~Service();

  // Reads what waits on the socket, answers, sends replies whose records
  // are durable, expires leases (once a second). Never blocks.
  void tick(std::uint32_t now);
  void reconfigure(Settings settings);
  const Counters& counters() const noexcept { return counters_; }
  std::size_t bound_count() const noexcept { return leases_.bound_count(); }
  std::uint16_t port() const noexcept { return port_; }

 private:
  Service(Settings settings, store::Store& store, std::function<void(const std::string&)> log);
  void send_ready();

  Leases leases_;
  store::Store& store_;
  std::function<void(const std::string&)> log_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  Counters counters_;
  std::uint32_t last_expiry_ = 0;
  struct Held {
    std::uint64_t seq = 0;       // durable_seq() at least this: send
    std::uint32_t to_address = 0;
    std::uint16_t to_port = 0;
    std::vector<std::uint8_t> bytes;
  };
  std::vector<Held> held_;
  std::array<std::uint8_t, kMaxMessage + 1> in_{};
  std::array<std::uint8_t, kMaxMessage> out_{};
};

}  // namespace dorado::madcap
