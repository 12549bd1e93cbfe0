// The DDNS service (docs/dns.md, docs/architecture.md "Dynamic DNS"): keeps
// DNS in step with the leases, from the control thread, without ever
// touching a worker.
//
// What it does. Every lease change the store journals reaches it through
// the store's tap (store/store.hpp, TapSlot::ddns), and is acted on once
// durable (a lease that a crash would lose is never put in DNS). For each
// address it keeps what the lease asks for ("want": the FQDN, from the
// record's name and the subnet's qualifying suffix with engine::qualify(),
// its DHCID, and the kDdnsForward / kDdnsReverse flags the engine decided)
// and what is registered ("have", durable in the StateLog, state_log.hpp).
// Where they differ there is work: removals of what is registered but no
// longer wanted, then additions, one RFC 4703 update at a time per address
// (message.hpp: add_forward, replace_forward on YXDOMAIN when the DHCID is
// this client's, remove_forward, add_reverse, remove_reverse).
//
// Never lost. The work is derived, not queued: at start-up `want` is
// rebuilt from the store's leases (active ones with flags) and `have` from
// the StateLog, so every add or removal that was pending at a crash or a
// stop is done after it. `have` is written (fdatasync) after the DNS server
// answered; an update whose record did not reach the disk is simply sent
// again (idempotent: the add finds its own DHCID, the removal finds nothing).
//
// DNS server down or slow: each try waits timeout_ms, then the zone's next
// server; after every server of the zone, the address waits (1 s doubling
// up to max_retry_interval_s) and tries again, forever; DHCP is unaffected.
// A refusal (REFUSED, NOTAUTH, BADSIG, BADKEY, BADTIME, ...) is counted by
// its name, logged with the name (at most one line a second), and retried
// only after max_retry_interval_s. A name held by another client (DHCID
// mismatch) is a conflict: counted, logged, never taken over, and that
// lease gets no PTR either (it would name the other client's host).
//
// Transport: one non-blocking UDP socket for all updates (random message
// ids, answers matched by id and server address), TCP for an answer with
// TC set; TSIG on every update to a zone with a key, and a NOERROR answer
// counts only when its TSIG verifies.
//
// With [ha], each server updates DNS for the lease changes its own workers
// make (the tap does not see the partner's records); a lease the partner
// registered is removed here when it ends here (the name comes from the
// store's copy of the lease).
//
// Threads: the control thread only. Cost: per lease change O(1) plus one
// SHA-256; start-up O(leases); memory about 200 bytes per named lease.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "store/store.hpp"
#include "wire/bytes.hpp"

namespace dorado::ddns {

// The service's counters, one table (statistics names "ddns.<name>", metrics
// dorado_ddns_*): X(name, help).
#define DORADO_DDNS_COUNTERS(X)                                                              \
  X(update_sent, "DNS UPDATE messages sent (first tries and retries)")                      \
  X(update_ok, "updates the DNS server applied (NOERROR, TSIG verified)")                   \
  X(update_conflict, "names held by another client (DHCID mismatch): left alone")           \
  X(update_timeout, "tries without an answer within timeout_ms")                            \
  X(update_retried, "updates sent again after a timeout, a failure or a refusal")           \
  X(update_refused, "updates the DNS server refused (all reasons; by reason: refused.<rcode>)") \
  X(answer_unverified, "answers dropped: their TSIG did not verify or they did not parse")  \
  X(no_zone, "names or addresses with no configured zone: not updated")                     \
  X(send_errors, "updates that could not be sent (socket errors)")

struct Counters {
#define DORADO_DDNS_FIELD(name, help) std::uint64_t name = 0;
  DORADO_DDNS_COUNTERS(DORADO_DDNS_FIELD)
#undef DORADO_DDNS_FIELD
  std::unordered_map<std::string, std::uint64_t> refused_by_rcode;   // "REFUSED", "BADSIG", ...
};

// The counters in the table's order, with their names and help (statistics
// "ddns.<name>", metrics dorado_ddns_<name>_total).
struct CounterRow {
  const char* name;
  const char* help;
  std::uint64_t value;
};
std::vector<CounterRow> counter_rows(const Counters& c);

struct Status {
  Counters counters;
  std::uint64_t queue_depth = 0;     // addresses with work waiting or in flight
  double oldest_wait_s = 0;          // how long the oldest of them has waited
  std::uint64_t registered = 0;      // addresses with records in DNS
  std::uint64_t in_flight = 0;
};

// What is registered for an address (lease answers: hostname, fqdn-fwd, fqdn-rev).
struct LeaseDns {
  std::string fqdn;
  bool forward = false;
  bool reverse = false;
};

struct Settings {
  config::DdnsSection ddns;
  bool update_on_renew = false;
  // SubnetConfig::id -> its qualifying suffix (the subnet's, else [ddns]'s).
  std::unordered_map<std::uint32_t, std::string> suffixes;
  std::string state_dir;   // the store directory (file ddns-state)
  unsigned max_in_flight = 64;
};

// Settings from a loaded config (enabled [ddns]). Pure.
Settings settings_from(const config::DaemonConfig& config);

class Service {
 public:
  using Log = std::function<void(const std::string&)>;
  struct Created {
    std::unique_ptr<Service> service;
    std::string error;
  };
  // Opens the StateLog, rebuilds the work from the store's leases (now_unix:
  // wall-clock seconds, to tell active leases from ended ones), installs the
  // tap.
  static Created create(const Settings& settings, store::Store& store, Log log, std::uint64_t now_ms,
                        std::uint32_t now_unix);
  ~Service();   // removes the tap, syncs the StateLog

  // Sends, receives, times out, retries, writes the StateLog. Call every
  // control loop (monotonic ms).
  void tick(std::uint64_t now_ms);
  // Reload: new zones, keys, timers, suffixes (work in flight finishes with
  // the old ones).
  void reconfigure(const Settings& settings);
  // lease4-resend-ddns: the address's records are sent again (added, or
  // removed when its lease has ended). False (with `why`) when dorado knows
  // no name for it.
  bool resend(wire::Ipv4 address, std::string& why, std::string& fqdn);

  std::optional<LeaseDns> registered(wire::Ipv4 address) const;
  Status status(std::uint64_t now_ms) const;

 private:
  struct Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dorado::ddns
