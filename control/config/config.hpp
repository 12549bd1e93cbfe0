// dorado's configuration file (TOML) -> validated plain structs.
//
// Who calls it: the control thread on the main lcore, at start-up, on reload
// and for `dorado --check-config`. Never a worker lcore. The functions are
// reentrant and share no state, so any thread may call them; the result is a
// plain value owned by the caller.
//
// What it does: parses the TOML text, checks every key (unknown keys are
// errors, so typos never pass silently), every type and value, and the
// relations between values (overlapping subnets and pools, reservations,
// lease times, ...), collecting ALL errors it can find rather than stopping
// at the first. Only a config without errors is then compiled with
// engine::compile(); its error, if any, is reported the same way. A reload
// that gets errors must change nothing (docs/architecture.md "Config and reload").
//
// Errors: never thrown. Each error names the file, the line and the key
// (see ConfigError). Line 0 means "no particular line" (a missing section,
// an unreadable file, a whole-config error from engine::compile()).
//
// Cost: O(file size) to parse plus O(subnets, pools, reservations, options *
// log of each) to validate, plus engine::compile() (a few ms for millions of
// addresses). It allocates freely; not for the hot path.
//
// The keys, their types, defaults and meaning are the user contract
// documented in docs/configuration.md; tools/dorado.example.toml is the
// commented reference file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"

namespace dorado::config {

// [server]
struct ServerSection {
  engine::Ipv4 address = 0;   // server identifier; answers ARP and ping. Required.
                              // Also copied to engine.server_address.
};

// [dpdk]: how the runtime sets up DPDK. Read at start-up only (a reload
// that changes it reports nothing here; the daemon decides what to do).
struct DpdkSection {
  std::vector<std::string> eal_args;   // passed to rte_eal_init after argv[0]
  unsigned workers = 1;                // worker lcores (1..128); the main lcore is control
  unsigned idle_sleep_us = 0;          // >0: a worker sleeps this long when RX is empty
  std::vector<std::uint16_t> ports;    // DPDK port ids to use; empty = all probed
  unsigned mbufs = 0;                  // mbufs per port; the loader fills in the default
                                       // (default_mbufs()) when the key is absent
  unsigned rx_desc = 1024;             // RX descriptors per queue
  unsigned tx_desc = 1024;             // TX descriptors per queue
  unsigned burst = 32;                 // rx/tx burst size (1..512)
  // Most lease records one worker may hold (clients, history, offers,
  // probations); 0: twice the pool addresses a worker can hand out
  // (runtime::shard_table_for). Address space only: resident memory
  // follows the records held (engine/lease_table.hpp, docs/operations.md).
  std::uint32_t max_leases = 0;
};

// Default mbufs per port when [dpdk] mbufs is absent: every worker's RX and TX
// rings full, plus 4096 per worker for handoff rings, the per-lcore mempool
// cache and ACKs held until durable; rounded up to 2^n - 1 (the mempool's
// best size) and at least 8191.
unsigned default_mbufs(unsigned workers, unsigned rx_desc, unsigned tx_desc) noexcept;

enum class Durability : std::uint8_t {
  fsync,   // ACK only after the lease record is on disk (default)
  async,   // ACK at once; the journal follows behind
  off,     // no journal: leases are forgotten at restart (benchmarks only)
};

// [store] (control/store/store.hpp StoreOptions has the same meaning)
struct StoreSection {
  std::string dir = "/var/lib/dorado";   // journal segments and snapshots
  Durability durability = Durability::fsync;
  unsigned commit_interval_us = 1000;    // group commit: at most this long between fsyncs
  unsigned commit_records = 16384;       // ... or as soon as this many records wait
  unsigned segment_mb = 64;              // journal segment size before a new one
  std::uint64_t snapshot_records = 4'000'000;   // journal records that trigger a snapshot
  bool snapshot_on_exit = true;          // write a snapshot at a clean stop
};

// [control]
struct ControlSection {
  std::string socket = "/run/dorado/dorado.sock";   // control API (AF_UNIX, < 108 bytes)
  // Prometheus endpoint (GET /metrics): `metrics = "ADDRESS:PORT"`, IPv4;
  // "" or "off" disables it (metrics_enabled false).
  bool metrics_enabled = true;
  engine::Ipv4 metrics_address = 0x7f000001;   // 127.0.0.1
  std::uint16_t metrics_port = 9167;
  // Log a (rate-limited) warning when a pool's used addresses reach this
  // percentage of its size; 0 disables the warning.
  unsigned pool_warn_percent = 90;
};

// [split_scope]: several servers share the same pools; each serves its own
// contiguous part of every pool (see split_scope.hpp for the arithmetic).
struct SplitServer {
  std::string name;
  unsigned share = 0;   // >= 1; parts are in proportion to the shares
};
struct SplitScopeSection {
  bool enabled = false;             // the section is present
  std::string this_server;          // one of servers[].name
  std::vector<SplitServer> servers; // >= 2, names unique, in file order
};

// One pool's split among the split-scope servers. The pool's usable
// addresses (the pool minus the subnet's exclusions, reservations, routers,
// server addresses and, up to /30, network and broadcast) are numbered in
// address order and cut into contiguous chunks in proportion to the shares;
// the remainder of the division goes one address each to the first servers
// in file order. A server's part is the range from the first to the last
// usable address of its chunk (addresses between them that are not usable
// stay unusable), so the parts are disjoint ranges in server order and
// together cover every usable address exactly once.
struct SplitPart {
  std::string server;
  std::uint64_t count = 0;     // usable addresses in the part (may be 0)
  engine::AddressRange range;  // meaningful only when count > 0
};
struct SplitPool {
  std::uint32_t subnet_id = 0;
  std::size_t subnet_index = 0;   // in DaemonConfig::engine.subnets (file order)
  std::size_t pool_index = 0;     // in that subnet's pools
  engine::AddressRange pool;
  std::uint64_t usable = 0;       // usable addresses of the pool (sum of the parts' counts)
  std::vector<SplitPart> parts;   // one per server, in [split_scope] servers order
  std::size_t this_part = 0;      // index of this_server in parts
  // The other servers' parts with count > 0: what this server excludes.
  std::vector<engine::AddressRange> excluded() const;
};

// The split of every pool of `engine` among `split.servers` (see SplitPool).
// Deterministic: the same inputs give the same parts on every server. `split`
// must be valid (>= 1 server, shares >= 1, this_server among them). Pure;
// any thread; O(pools + exclusions * log exclusions) per subnet, independent
// of pool sizes.
std::vector<SplitPool> compute_split_scope(const engine::EngineConfig& engine,
                                           const SplitScopeSection& split);

// Human-readable report of a split, one block per pool, for
// `dorado --show-split-scope` (and the control API).
std::string split_scope_text(const SplitScopeSection& split, const std::vector<SplitPool>& pools);

// [ha]: this server is one of a failover pair (docs/ha.md, "Configuration").
// The loader accepts the section only whole: exactly two peers, unique names
// and addresses, roles that fit the mode (hot-standby: one primary and one
// standby; load-balancing: one primary and one secondary), this_server one of
// them, TLS files readable (or insecure = true), no [split_scope].
enum class HaMode : std::uint8_t {
  hot_standby,      // "hot-standby": the primary answers, the standby follows
  load_balancing,   // "load-balancing": each answers its RFC 3074 buckets
};
enum class HaRole : std::uint8_t { primary, secondary, standby };
enum class HaAck : std::uint8_t {
  partner,   // "partner": an ACK leaves once the lease is durable on both servers
  local,     // "local": lazy updates; a new lease is capped at mclt beyond what
             // the partner has acknowledged
};

struct HaPeer {
  std::string name;      // [A-Za-z0-9._-], 1..64 characters
  std::string address;   // "a.b.c.d:port" as written
  std::uint32_t ip = 0;  // address's IPv4, host byte order (unicast)
  std::uint16_t port = 0;   // 1..65535
  HaRole role = HaRole::primary;
  unsigned line = 0;     // of the peer's [[ha.peer]] header, for messages
};

struct HaSection {
  bool enabled = false;              // [ha] is present (and valid)
  std::string this_server;           // one of peers[].name
  HaMode mode = HaMode::hot_standby;
  // Where this server accepts its partner's connection. Defaults to this
  // server's own peer address; may differ from it (NAT, 0.0.0.0 = every
  // interface) but always has a port.
  std::string listen;                // "a.b.c.d:port"
  std::uint32_t listen_ip = 0;       // host byte order; 0 = every interface
  std::uint16_t listen_port = 0;
  HaAck ack = HaAck::partner;
  std::uint32_t heartbeat_ms = 1000;            // 100..60000, < max_response_delay_ms
  std::uint32_t max_response_delay_ms = 5000;   // partner unresponsive after; ..3600000
  std::uint32_t max_ack_delay_ms = 10000;       // a client retrying this long (secs) counts; 0..3600000
  std::uint32_t max_unacked_clients = 10;       // partner-down after this many; 0 = at once; ..1000000
  std::uint32_t mclt = 3600;                    // maximum client lead time, s; 1..604800
  std::uint32_t max_answer_secs = 0;            // load-balancing: either answers above; 0 = off; ..65535
  std::uint32_t split = 128;                    // load-balancing: buckets < split are the primary's; 0..256
  std::uint32_t backlog_mb = 64;                // communication-recovery backlog bound, MiB; 1..65536
  bool insecure = false;                        // true: plain TCP, no TLS (labs only)
  std::string ca, cert, key;                    // PEM files (readable at load); empty iff insecure
  std::vector<HaPeer> peers;                    // exactly 2 when enabled, file order

  // This server's peer entry and its partner's; nullptr when !enabled.
  const HaPeer* self() const noexcept;
  const HaPeer* partner() const noexcept;
};

// "hot-standby", "primary", "partner", ...: the words the config uses.
std::string_view ha_mode_name(HaMode m) noexcept;
std::string_view ha_role_name(HaRole r) noexcept;
std::string_view ha_ack_name(HaAck a) noexcept;

// [ddns] (docs/dns.md; keys in docs/configuration.md): dynamic DNS updates.
// The policy keys go to the engine (EngineConfig::ddns, per-subnet
// qualifying_suffix in engine::SubnetConfig); the rest is the control
// thread's (control/ddns/). The section is present when the file has a
// `ddns` table: [ddns], or only [[ddns.*]] tables (TOML makes those one
// too; the policy then has its defaults). The loader accepts it only whole:
// every zone's key names a [[ddns.tsig_key]], every secret is base64 (or
// read from secret_file, a path as written, at load), every zone has at
// least one unicast server, reverse zones end in in-addr.arpa, no key or
// zone name twice. Every name (keys, zones, suffixes, generated_prefix) is
// stored lower case without a final dot. Every key may change on reload.
struct DdnsServer {
  std::uint32_t ip = 0;       // host byte order
  std::uint16_t port = 53;    // "address" or "address:port"
};
struct DdnsTsigKey {
  std::string name;                   // the key's DNS name, e.g. "dorado-key"
  std::string algorithm = "hmac-sha256";   // ddns/tsig.hpp names
  std::vector<std::uint8_t> secret;   // decoded
  unsigned line = 0;                  // of its [[ddns.tsig_key]] header
};
struct DdnsZone {
  std::string name;                   // lower case, no trailing dot
  std::vector<DdnsServer> servers;    // tried in order
  std::string key;                    // a DdnsTsigKey::name; empty: unsigned updates
  unsigned line = 0;                  // of its [[ddns.*_zone]] header
};
struct DdnsSection {
  bool enabled = false;               // [ddns] is present (and valid); also EngineConfig::ddns.enabled
  std::uint32_t ttl = 0;              // 0: a third of the lease time (RFC 4702 section 5)
  std::uint32_t timeout_ms = 2000;    // one try at one server
  std::uint32_t max_retry_interval_s = 60;   // retries back off up to this
  std::vector<DdnsTsigKey> tsig_keys;
  std::vector<DdnsZone> forward_zones;
  std::vector<DdnsZone> reverse_zones;
};

// [madcap]: the MADCAP server (RFC 2730, docs/madcap.md) on the control
// thread's kernel UDP socket. Present = enabled; it needs at least one
// [[multicast_scope]] and a lease store.
struct MadcapSection {
  bool enabled = false;
  std::string listen = "0.0.0.0:2535";
  engine::Ipv4 listen_address = 0;      // 0.0.0.0: every interface
  std::uint16_t listen_port = 2535;
};

// [leasequery]'s bulk leasequery (RFC 6926, control/leasequery/service.hpp):
// the TCP listener on the control thread's kernel stack. The requesters
// allowed are engine::EngineConfig::leasequery_allowed, as for UDP.
struct LeasequerySection {
  bool bulk = false;                    // [leasequery] present and bulk_listen not ""
  std::string bulk_listen = "0.0.0.0:67";
  engine::Ipv4 bulk_address = 0;        // 0.0.0.0: every interface
  std::uint16_t bulk_port = 67;
};

// [[multicast_scope]]: one range of multicast addresses MADCAP hands out.
struct MulticastScope {
  std::string name;                     // unique; the scope's name in GETINFO answers
  engine::Ipv4 first = 0, last = 0;     // inside 224.0.0.0/4, first <= last
  std::string zone;                     // scope zone name ("" = none)
  std::uint8_t ttl = 32;                // the scope's TTL (scope list)
  std::uint32_t min_lease_time = 60;    // seconds; min <= default <= max
  std::uint32_t max_lease_time = 86400;
  std::uint32_t default_lease_time = 3600;
  unsigned line = 0;                    // of its [[multicast_scope]] header
};

struct DaemonConfig {
  ServerSection server;
  DpdkSection dpdk;
  StoreSection store;
  ControlSection control;
  SplitScopeSection split_scope;
  HaSection ha;
  DdnsSection ddns;
  MadcapSection madcap;
  LeasequerySection leasequery;
  std::vector<MulticastScope> multicast_scopes;   // file order
  // Subnets in file order (each with its `relay` list in
  // engine::SubnetConfig::relays), options encoded, lease defaults from [lease].
  // With [split_scope], each subnet's `exclusions` end with the ranges of the
  // other servers' parts (after the ones from the file), so that compile()
  // never hands them out; split_pools says which they are.
  engine::EngineConfig engine;
  // With [split_scope]: the split of every pool (compute_split_scope() on the
  // config as written); empty otherwise.
  std::vector<SplitPool> split_pools;
};

struct ConfigError {
  std::string file;      // the path as given to load_config_file, or the name
  unsigned line = 0;     // 1-based; 0 = no particular line
  std::string key;       // e.g. "subnet[1].pools[0]", "dpdk.workers"; empty
                         // for syntax errors and unreadable files
  std::string message;   // may name a second place: "... (a.toml:5)"
  // "FILE:LINE: key: message" ("FILE:LINE: message" when key is empty).
  std::string to_string() const;
};

struct LoadResult {
  std::optional<DaemonConfig> config;               // set iff errors is empty
  std::optional<engine::CompiledConfig> compiled;   // compile(config->engine); set iff errors is empty
  std::vector<ConfigError> errors;                  // in file order (by line)
  bool ok() const noexcept { return errors.empty(); }
};

// What the two servers of an [ha] pair must agree on, as canonical text (one
// fact a line, "dorado-ha-shared 1" first): the subnets in file order with
// their pools, exclusions, reservations, routers, DNS, domain, lease times
// (as the engine gets them: with ack = "local", capped at mclt), renewal
// ratios, relays and options; the global options; [lease]; and from [ha]:
// mode, ack, split, mclt, max_answer_secs and the peers (name, address,
// role; sorted by name). Not in it, because each server has its own:
// [server], [store], [dpdk], [control], a subnet's server_id, and from [ha]
// this_server, listen, the timers, max_unacked_clients, backlog_mb,
// insecure and the TLS files. Pure; any thread.
std::string ha_shared_text(const DaemonConfig& config);

// FNV-1a (64-bit) of ha_shared_text(): equal on both servers of a correctly
// configured pair, so each can refuse a partner whose config differs.
// Stable across runs, builds and hosts (no pointers, no std::hash).
std::uint64_t ha_config_digest(const DaemonConfig& config);

// Reload: the keys of `next` that differ from `running` and take effect
// only at start-up ([dpdk], [store], [control] socket and metrics,
// server.address, every key of [ha] and [ha] added or removed), one
// error each ("FILE:0: dpdk.workers: changed from 1 to 2: needs a restart;
// ..."). Empty: `next` may replace `running` while serving (subnets, pools,
// exclusions, reservations, options, lease times, relays, [lease],
// [split_scope], every key of [ddns] and [ddns] added or removed: the
// daemon hands the new DdnsSection to the DDNS service). Pure; any thread.
std::vector<ConfigError> restart_only_changes(const DaemonConfig& running, const DaemonConfig& next,
                                              const std::string& file);

// Reads, validates and compiles the file at `path`. Never throws.
LoadResult load_config_file(const std::string& path);

// Same for text already in memory; `name` stands for the file in errors.
LoadResult load_config_string(std::string_view toml, const std::string& name);

}  // namespace dorado::config
