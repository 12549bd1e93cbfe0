// One shard's DHCP server logic (RFC 2131): DISCOVER, REQUEST in its four
// states, DECLINE, RELEASE, INFORM; sticky allocation, reservations, offer
// hold, decline probation, expiry; and the reply serialisation.
//
// Ownership and threads: a Shard is the per-core state of one worker lcore
// (alignas(64), owned and used by that lcore only, no locks). It reads a
// CompiledConfig that the control thread keeps alive and immutable while the
// shard uses it. Shard::create() allocates every table (start-up, any
// thread); after that nothing allocates.
//
// Per packet: handle() decides (no I/O, no clock, no heap, no exceptions,
// no logging) and appends the lease changes it made to the shard's change
// log; build_reply() writes the reply frame into a caller buffer. The
// runtime drains changes() into its SPSC ring to the control thread (holding
// lease-bearing replies until durable in fsync mode: see last_seq();
// Decision::change_begin/count name the records the request itself made)
// and calls clear_changes(). It also calls sweep() every loop with a small
// budget to expire leases.
//
// Time: Seconds (engine/lease.hpp), passed in; must not go backwards.
//
// Durability (docs/architecture.md "Durability"): at start-up the runtime hands every
// shard the leases the store recovered (owner_shard_of, Shard::restore;
// after a change of shard count, a lease whose address another shard's
// block holds is also held there: block_owner_of, Shard::restore_hold)
// before the shard serves packets. While the store cannot write
// (set_store_writable(false)) the shard grants no new lease and extends
// none: it answers renewals of active leases with their remaining time and
// refuses the rest (DropReason::store_unavailable).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "engine/admin.hpp"
#include "engine/allocator.hpp"
#include "engine/client_key.hpp"
#include "engine/config.hpp"
#include "engine/counters.hpp"
#include "engine/ddns_cache.hpp"
#include "engine/ha.hpp"
#include "engine/lease.hpp"
#include "engine/lease_table.hpp"
#include "engine/limits.hpp"
#include "engine/relay_info.hpp"
#include "wire/build.hpp"
#include "wire/dhcp.hpp"
#include "wire/frame.hpp"

namespace dorado::engine {

// What the runtime knows about how the request arrived.
struct RxMeta {
  Ipv4 interface_address = 0;   // our address on the receiving interface; last-resort
                                // subnet hint (after 118, 82.5, giaddr (by containment,
                                // then by SubnetConfig::relays), ciaddr); 0 = none
  wire::MacAddr local_mac;      // our MAC on that port: L2 source of the reply
  wire::MacAddr src_mac;        // L2 source of the request (relay or client)
  Ipv4 ip_src = 0;              // IPv4 source of the request
  Ipv4 ip_dst = 0;              // IPv4 destination (255.255.255.255 = broadcast)
  std::uint8_t vlan_count = 0;  // tags copied into the reply, outermost first
  std::array<wire::VlanTag, 2> vlans{};
  // The reply leaves by a port with TX checksum offload: its checksums are
  // left to the NIC (wire::Envelope::checksum_offload). Set by the runtime.
  bool tx_checksum_offload = false;
};

// RxMeta from a parsed frame.
RxMeta rx_meta_of(const wire::Frame& frame, wire::MacAddr local_mac, Ipv4 interface_address) noexcept;

// How a request's subnet is chosen: the first of these the request has
// decides (RFC 3011, RFC 3527, RFC 2131), even when its address is in no
// subnet (then there is none; `relay` is a giaddr outside every subnet found
// in a subnet's `relays`).
enum class SubnetBy : std::uint8_t {
  none,               // no giaddr, no ciaddr and no interface address
  subnet_selection,   // option 118
  link_selection,     // option 82, sub-option 5
  giaddr,             // the relay's giaddr, inside the subnet
  relay,              // giaddr outside every subnet: the subnet that lists it in `relays`
  ciaddr,             // the client's own address (renewing, rebinding, INFORM)
  interface,          // the server's address on the receiving interface (a client on its link)
  vlan,               // an unrelayed request's VLAN tags, named by a subnet's vlan/vlans (before ciaddr)
};
inline constexpr std::size_t kSubnetByCount = 8;
// "none", "option 118", "option 82.5", "giaddr", "relay", "ciaddr", "interface", "vlan".
std::string_view subnet_by_name(SubnetBy by) noexcept;

struct SubnetChoice {
  std::uint32_t index = kNil;   // into CompiledConfig::subnets; kNil: none
  SubnetBy by = SubnetBy::none;
  Ipv4 selector = 0;            // the address it was looked up by
};
// The subnet a request is served from, as the shard chooses it. Pure,
// noexcept, no allocation; O(log subnets).
SubnetChoice select_subnet(const CompiledConfig& config, const wire::DhcpMessage& m, const RxMeta& rx) noexcept;

struct ShardConfig {
  ShardIdentity identity;             // which blocks this shard owns
  LeaseTableSizes table;              // lease records, hostname/key stores, wheel
  std::uint32_t change_log_capacity = 1024;   // >= 4; records between two drains
  // false: the change log keeps only each record's seq and op, for a
  // runtime that only counts changes (durability off: nothing reads the
  // records). Writing a 256-byte record per change for nobody was ~2% of a
  // worker's samples.
  bool change_bodies = true;
  // Keep each lease's option 82 for leasequery (engine/relay_info.hpp): one
  // 128-byte slot per lease record. The runtime sets it when [leasequery]
  // is configured at start-up.
  bool keep_relay_info = false;
  // Per-circuit limits (engine/limits.hpp): the count table shared by every
  // shard of the server, which must outlive them. Null: the shard makes its
  // own (one shard, tests).
  LimitTable* limits = nullptr;
};

// The client key a stored lease record carries, as the shard's packets
// would produce it (client_key.hpp), or len 0 when the bytes cannot be one.
// Pure, noexcept; any thread.
ClientKey stored_key(const LeaseChange& lease) noexcept;

// The shard a stored lease belongs to among `shard_count` shards built from
// `config`: for a client's record (active or history) the shard the runtime
// sends that client's packets to (shard_for_hash of its key, as
// runtime/worker.cpp routes them); for a probation record (op decline, with
// or without a key) the shard owning the address's block (shard_of_block_base,
// allocator.hpp); 0 for an address in no block, a bad key length, or one
// shard. Pure, noexcept; any thread.
std::uint32_t owner_shard_of(const LeaseChange& lease, const CompiledConfig& config,
                             std::uint32_t shard_count) noexcept;

// The shard owning the block of the lease's address (shard_of_block_base), the
// one that may hand the address out: where Shard::restore_hold goes when
// restore() on owner_shard_of() answered `foreign`. 0 for an address in no
// block (outside pools and reservations) or one shard. Pure, noexcept; any
// thread.
std::uint32_t block_owner_of(const LeaseChange& lease, const CompiledConfig& config,
                             std::uint32_t shard_count) noexcept;

// What Shard::restore (or restore_hold) did with one stored lease. Only
// restored, history and foreign installed something; the others are skipped
// records the runtime counts (and may log by restore_status_name, in this
// order).
enum class RestoreStatus : std::uint8_t {
  restored,      // active lease or probation installed (holds its address); for
                 // restore_hold: the hold installed
  history,       // inactive (expired/released) record installed as sticky history, or
                 // nothing left to install (a probation that has ended)
  no_subnet,     // the address is in no subnet of this config, or in no pool block of it
  not_in_pool,   // in a block but not allocatable (outside pools, excluded, server
                 // address) and not the client's own reservation
  wrong_shard,   // a pool address whose block another shard owns and nothing to hold
                 // there: history (restore), or restore_hold on a shard that is not
                 // the block owner
  conflict,      // address held by another record, reserved for another client, or the
                 // client already holds another lease (see Shard::restore)
  table_full,    // no lease record (or long-key slot) left
  invalid,       // not a lease: bad key, op reclaim or unknown, client record without key
  foreign,       // active lease installed on an address whose block another shard owns
                 // (the shard count changed): the caller must now restore_hold() it
                 // on block_owner_of() (see Shard::restore)
};
inline constexpr std::size_t kRestoreStatusCount = 9;
// "restored", "no_subnet", ... for logs and metrics; "invalid_status" if out of range.
std::string_view restore_status_name(RestoreStatus s) noexcept;

// LeaseChange::shard bit on records a shard emitted while applying a change
// its HA partner made (Shard::replicate): journaled, never replicated back.
inline constexpr std::uint8_t kChangeFromPartner = 0x80;   // worker indexes are < 128

// What Shard::replicate did with one record from the HA partner.
enum class ReplicateStatus : std::uint8_t {
  applied,      // the shard's state changed to the record's (records emitted)
  unchanged,    // the shard already had this state (nothing emitted)
  conflict_won,   // another client's active lease held the address and lost by
                  // rule (later client transaction wins; equal: the address's
                  // HA owner's): it was dropped (its client is NAKed at renewal)
  conflict_lost,  // this shard keeps what it has: another client's active lease wins
                  // the address by rule, or the client's own record here is later;
                  // the record is rejected and the shard journals its own state again
                  // (the partner drops its loser when it gets ours)
  no_subnet,    // the address is in no subnet or block of this config
  wrong_shard,  // the address's block belongs to another shard (worker counts differ)
  table_full,
  invalid,      // bad key or op
};
inline constexpr std::size_t kReplicateStatusCount = 8;
std::string_view replicate_status_name(ReplicateStatus s) noexcept;

enum class Verdict : std::uint8_t {
  reply,    // send the reply described by the Decision
  silent,   // handled, nothing to send (RELEASE, DECLINE, REQUEST for another server)
  drop,     // refused; `drop` says why (already counted)
};

// Why a REQUEST is NAKed (Decision::nak; the targeted trace shows it).
enum class NakReason : std::uint8_t {
  none,
  not_in_subnet,        // the address asked for is not in the subnet the request comes from
  withdrawn,            // the client's lease was withdrawn by a config reload
  reserved_elsewhere,   // the client has a reservation for another address
  not_in_pool,          // the address is in no pool block of the subnet
  not_the_clients,      // the address is not the client's: not offered to it, held by another, or not free
  pool_not_allowed,     // the address is in a [[subnet.pool]] the client's classes may not use
};
inline constexpr std::size_t kNakReasonCount = 7;
// "none", "not_in_subnet", ... (snake_case, as the drop reasons).
std::string_view nak_reason_name(NakReason r) noexcept;

// The outcome of one request: small, trivially copyable, no owned memory.
struct Decision {
  Verdict verdict = Verdict::drop;
  DropReason drop = DropReason::none;
  wire::MessageType type = wire::MessageType::nak;   // OFFER, ACK or NAK when verdict == reply
  bool lease_options = false;       // send 51/58/59
  bool subnet_options = false;      // send 1, the requested (55) and always-send options
  NakReason nak = NakReason::none;  // why, when type == nak (fills a padding byte)
  std::uint16_t flags = 0;          // BOOTP flags of the reply
  std::uint16_t dst_port = wire::kPortBootpc;
  wire::MacAddr eth_dst;
  Ipv4 ip_dst = 0;
  Ipv4 yiaddr = 0;
  Ipv4 ciaddr = 0;
  Ipv4 server_id = 0;               // option 54 and the IPv4 source
  std::uint32_t lease_time = 0;     // seconds, when lease_options
  std::uint32_t t1 = 0;
  std::uint32_t t2 = 0;
  // Conflict detection (engine/probe.hpp): verdict silent, nothing sent yet;
  // probe yiaddr (from server_id's subnet) first. Fills a padding byte.
  bool probe = false;
  const CompiledSubnet* subnet = nullptr;   // options source; points into the snapshot
  // Option 81 for the reply (engine/ddns.hpp): set with [ddns] for a lease
  // reply to a client that sent one. Points into the shard that decided,
  // valid until it has decided Shard::kMaxBurst more such replies (the
  // reply is built right after its burst).
  const FqdnReply* fqdn = nullptr;
  std::uint32_t change_begin = 0;   // changes()[change_begin, +change_count) came from this request
  std::uint32_t change_count = 0;
  // An ACK answered from a lease without writing a record (store down:
  // ack_unjournaled): it depends on the lease's last commit/renew record,
  // emitted in second `record_second`. 0 for every other decision.
  Seconds record_second = 0;
  // A BOOTREPLY to a BOOTP client (engine/bootp.cpp): type ack with an
  // infinite lease as far as holding it until durable goes, built by
  // build_bootreply (no 53, RFC 1497 vendor area).
  bool bootp = false;
  // An ACK to a DISCOVER with option 80 (RFC 4039, engine/rapid_commit.cpp):
  // option 80 goes in the reply (built the generic way, not from the cache).
  bool rapid_commit = false;
  // The client's reservation when it gives options or a hostname
  // (engine/reservations.hpp): build_reply sends them over the subnet's.
  const CompiledReservation* reservation = nullptr;
  // Client classes (engine/classes.hpp): the classes whose options apply
  // (the request's classes that have options) and the pool table the
  // address is in (kNoPool: none); both select the options after the
  // reservation's and before the subnet's, and key the reply cache.
  std::uint32_t pool = kNoPool;
  ClassSet classes = 0;
};

class alignas(64) Shard {
 public:
  struct Created {
    std::unique_ptr<Shard> shard;
    std::string error;   // non-empty when shard is null
  };
  // Allocates all tables. `config` must outlive the shard.
  static Created create(const CompiledConfig& config, const ShardConfig& sizes);

  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Decides the answer to one parsed request (m.error must be ok). Counts it.
  // Cost: one key hash, one or two lease-table probes, one bit scan; no
  // allocation.
  Decision handle(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now) noexcept;

  // The same for up to kMaxBurst requests, in order (decisions identical to
  // calling handle() on each), but it first loads every request's index slot
  // and lease record so the burst's cache misses overlap: with 1 M leases,
  // ~170-200 ns/packet at bursts of 8-32 against ~280 one by one
  // (bench/engine_bench.cpp). The runtime should prefer it.
  static constexpr std::size_t kMaxBurst = 32;
  struct Request {
    const wire::DhcpMessage* msg;
    const RxMeta* rx;
    // client_key_of(*msg) if the caller already has it (the runtime hashes
    // the key to pick the shard), else null and it is computed here.
    const KeyResult* key = nullptr;
  };
  struct Burst {
    std::array<Decision, kMaxBurst> decisions;
    std::uint32_t count = 0;   // min(burst.size(), kMaxBurst) decided
  };
  Burst handle_burst(std::span<const Request> burst, Seconds now) noexcept;

  // Expires due leases, ends offer holds and probations. Visits at most
  // `budget` wheel buckets+entries and never more due entries than the change
  // log has room for; call again to continue. Returns what it did.
  SweepResult sweep(Seconds now, std::uint32_t budget) noexcept;
  // A bounded piece of a lease index rehash (LeaseTable::maintain); the
  // worker calls it when idle. O(1), no allocation.
  void maintain() noexcept { table_.maintain(); }
  // Start-up, before restore(): room in the lease index for `leases`
  // without rehashing (LeaseTable::reserve).
  void reserve(std::uint32_t leases) noexcept { table_.reserve(leases); }
  // Start-up, before restore(lease): asks for the index slot restore()
  // will look at (the client key's), without waiting for it, so that the
  // hand-over keeps several index misses in flight (serve.cpp). A hint:
  // nothing else changes.
  void prefetch_restore(const LeaseChange& lease) const noexcept {
    if (lease.key_len == 0 || lease.key_len > kMaxKeyLen) return;
    table_.prefetch_slot(stored_key(lease).hash);
  }

  // ---- durability ----------------------------------------------------------------
  // Installs one lease the store recovered. Start-up only: call it on the
  // shard owner_shard_of() names, before the shard serves packets (before
  // the first handle()/sweep()), with `now` the clock the shard will start
  // at; records may come in any order. Emits no change record (the store
  // already has them) and keeps table, bitmaps and slots consistent.
  //   op commit/renew, expires > now: active until `expires` (in the wheel),
  //     kLeasePersisted set: the next REQUEST is a renew, a reclaim is emitted.
  //   op commit/renew, expires <= now: expired history; op release: released
  //     history; op expire with a key: expired history. History is what
  //     expiry leaves: the address free but sticky for the client.
  //   op decline (key or not), expires > now: keyless probation on the
  //     address until `expires` (not persisted, as after a live DECLINE);
  //     expires <= now, or op expire without a key: nothing to hold, history.
  //   op reclaim: invalid.
  // The subnet is the one containing the address (subnet_id is ignored:
  // configs change). start, expires, htype, chaddr, hostname and key are
  // kept. An address outside this shard's pool blocks is refused unless it
  // is the client's own reservation (no_subnet, not_in_pool, wrong_shard),
  // except an active lease in a pool block another shard owns (the shard
  // count changed since it was written): status `foreign`. That lease is
  // installed with kLeaseForeign and the caller must then install a hold on
  // the block owner, shard[block_owner_of(lease)].restore_hold(lease, now),
  // so that shard does not hand the address out; if that does not answer
  // `restored`, it must undo this one with forget_foreign(lease) (else two
  // shards could lease the address). A foreign lease is served for what is
  // left of it, never extended (the block owner's hold ends at the original
  // expiry): REQUEST for its address (any state) -> ACK with lease time
  // expires - now, no change record, Decision::record_second = start (as
  // when the store is down; Event::renew_foreign); DISCOVER -> OFFER of it
  // with the remaining time. At expiry it emits expire (with the key) and
  // is dropped, not kept as sticky history; a RELEASE or DECLINE emits its
  // record (a decline's probation ends with the hold, at the lease's
  // expiry) and drops it too; moving the client to another address
  // (REQUEST for another address, DISCOVER in another subnet) detaches it
  // as usual (reclaim). Its address never enters this shard's free bits.
  // Foreign history (expired/released) is wrong_shard: nobody holds it.
  // Two records for one address or one client: an active lease or a
  // probation beats history, between histories the later `expires` wins
  // (the loser is dropped silently), between two holding records the first
  // restored stays and the second is a conflict. When the table is full an
  // active lease or probation evicts the oldest restored history.
  // noexcept, no allocation; O(1) except for an address outside the pools
  // (O(reservations)).
  RestoreStatus restore(const LeaseChange& lease, Seconds now) noexcept;

  // The other half of a `foreign` restore, on the shard owning the address's
  // block (block_owner_of): a keyless hold on the address until
  // lease.expires (state declined, kLeaseHold, not persisted): the address
  // is not free, is offered to nobody, and goes back to the pool (clean) at
  // that time, emitting a keyless expire record as a probation's end does
  // (Event::hold_ended). Same start-up rules as restore(). Takes op
  // commit/renew/decline; expires <= now or op release/expire: history
  // (nothing to hold, nothing installed); op reclaim or unknown, bad
  // lengths: invalid. An address outside this shard's pool blocks:
  // no_subnet, not_in_pool, wrong_shard. A record holding the address
  // (active, probation, another hold): conflict; history on it is dropped.
  // Table full: evicts the oldest restored history, else table_full.
  // Returns restored when the hold is in place. noexcept, O(1).
  RestoreStatus restore_hold(const LeaseChange& lease, Seconds now) noexcept;

  // ---- config reload ------------------------------------------------------------------
  // Switches the shard to `next` (a new CompiledConfig, which must outlive
  // the shard or the next reconfigure) at a quiescent point of its lcore: no
  // Decision of the old config in use, change log drained or not (records
  // already emitted stay valid: they carry addresses and subnet ids, not
  // indices). `fresh` must be Allocator(next, identity()), built by the
  // caller beforehand (it allocates; the control thread does it); on return
  // it holds the old allocator, for the caller to free off the lcore. Emits
  // no change record. Every record of the lease table is re-placed in the
  // new address space by its address:
  //  - active lease, offer, probation or hold whose address the new config
  //    lets this shard hand out (pool, not excluded, block ours): keeps it;
  //    an active lease on the client's own reservation likewise. Lease::subnet
  //    follows the address to its subnet in `next`.
  //  - active lease on any other address: kept until it expires, withdrawn
  //    (kLeaseWithdrawn, see lease.hpp): never renewed (REQUEST -> NAK), the
  //    address handed to nobody while it lasts (it is in no pool, or the
  //    client it is now reserved for is given a dynamic address until then;
  //    with several shards that client's shard may not know it: see
  //    docs/operations.md "Reload"). Counted in `withdrawn`.
  //  - an active lease restored on another shard's block (kLeaseForeign)
  //    stays foreign while the address is still in a pool.
  //  - offers, probations and holds on an address no longer in a pool of
  //    ours end silently (an offer's client gets a NAK on its REQUEST and
  //    starts over); inactive (expired/released) history on such an address
  //    is dropped silently (the store may still list it; a restart drops it).
  // Cost: O(lease records used), no allocation: 28 ms of CPU for 1 M
  // leases (bench/engine_bench.cpp BM_EngineReconfigure, docs/operations.md "Reload").
  // The shard answers nothing meanwhile.
  struct ReconfigureStats {
    std::uint32_t kept = 0;          // active leases, offers, probations, holds in place
    std::uint32_t withdrawn = 0;     // active leases now outside the pools (all withdrawn ones)
    std::uint32_t history_kept = 0;  // inactive records still sticky
    std::uint32_t dropped = 0;       // offers, probations, holds, history dropped
  };
  ReconfigureStats reconfigure(const CompiledConfig& next, Allocator& fresh) noexcept;
  // Withdrawn leases currently in the table (kLeaseWithdrawn). O(1).
  // Any thread (relaxed; the runtime's telemetry reads it).
  std::uint32_t withdrawn_leases() const noexcept { return counter_read(withdrawn_); }

  // Undoes a `foreign` restore (when restore_hold failed on the block
  // owner): drops the client's foreign record on lease.address, if it is
  // there, without a change record. Start-up only. True if one was dropped.
  bool forget_foreign(const LeaseChange& lease) noexcept;

  // Whether the store can take new records. The runtime's worker sets it from
  // the control thread's flag (Store::writable()) once per loop. While false:
  //  - DISCOVER: a client with an active lease in the selected subnet is
  //    offered that address with its remaining time; others are refused
  //    (store_unavailable: silence, the client retries).
  //  - REQUEST for the client's active lease on its address (any state):
  //    ACK with lease time = expires - now and T1/T2 in the subnet's ratios,
  //    no change record, expiry unchanged (Event::renew_unjournaled).
  //    A REQUEST that would commit (new binding, other address, an expired
  //    or released lease taken back) is refused (store_unavailable, not
  //    NAK); one the shard would NAK anyway is still NAKed.
  //  - RELEASE, DECLINE, INFORM and expiry work as usual (the store buffers
  //    their records).
  void set_store_writable(bool writable) noexcept { store_writable_ = writable; }
  bool store_writable() const noexcept { return store_writable_; }

  // Seq of the last change record emitted (0 before the first; wraps with
  // LeaseChange::seq, compare serially). A reply that carries a lease can
  // depend on records other than its own (change_count may be 0: an OFFER,
  // an unjournaled renewal whose `expires` came from an earlier record still
  // being written), so the runtime holds such an ACK until the store's
  // durable seq for this shard reaches last_seq() read right after the
  // decision: sufficient, if conservative.
  std::uint32_t last_seq() const noexcept { return next_seq_ - 1; }

  // Lease changes since the last clear_changes(), oldest first (only seq and
  // op set without ShardConfig::change_bodies).
  std::span<const LeaseChange> changes() const noexcept { return {changes_.data(), change_count_}; }
  void clear_changes() noexcept { change_count_ = 0; }

  // For the runtime's own refusals (e.g. build_reply failing).
  void count(DropReason r) noexcept { counter_add(counters_.drops[static_cast<std::size_t>(r)]); }
  const ShardCounters& counters() const noexcept { return counters_; }
  // Lease records by state, indexed by LeaseState (unused is always 0):
  // kept exact at every transition, O(1). Owning lcore only (the runtime
  // publishes copies for the control thread).
  using StateCounts = std::array<std::uint32_t, kLeaseStateCount>;
  const StateCounts& lease_state_counts() const noexcept { return state_counts_; }
  const CompiledConfig& config() const noexcept { return *config_; }
  ShardIdentity identity() const noexcept { return id_; }

  // ---- control API (engine/admin.hpp; admin.cpp) ----------------------------
  // Executes one control-API request on this shard, on its own lcore between
  // bursts; writes 1..out.size() replies (the last with `last`), returns how
  // many. out.size() must be >= kMaxAdminReplies. Changes emit the same
  // records as packets do (commit, reclaim, expire), into changes(): the
  // caller must have room for kAdminChanges + the sweep's records in its
  // change ring and drain changes() afterwards. Bounded work (admin.hpp).
  std::uint32_t admin(const AdminRequest& request, Seconds now, std::span<AdminReply> out) noexcept;

  // ---- conflict detection (engine/probe.hpp; probe.cpp) ----------------------
  // A DISCOVER whose Decision said `probe`, decided again once its probe
  // ended (not counted as received again): the client's record loses its
  // probing mark, so an unanswered probe gets the OFFER of that address;
  // after probe_conflict() the client has no record and gets the next
  // address (which may again be a `probe`, unless !may_probe). Same cost as
  // handle().
  Decision redecide_discover(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                             const KeyResult& key, bool may_probe) noexcept;
  // Something answered the probe of `addr`: if an offer is probing it, that
  // record becomes a keyless probation record as after a DECLINE (decline
  // record emitted, Event::probe_conflict). False when nothing probes it
  // (the offer ended, a reload) or the change log is full. O(log subnets).
  bool probe_conflict(Ipv4 addr, Seconds now) noexcept;
  // ---- leasequery (engine/leasequery.hpp; leasequery.cpp) ---------------------
  // The answer to the DHCPLEASEQUERY `m` that handle() decided as a reply of
  // type MessageType::lease_query: looks the lease up now and writes
  // DHCPLEASEACTIVE, DHCPLEASEUNASSIGNED or DHCPLEASEUNKNOWN as a frame into
  // `frame` (built in `scratch`, then copied, so `frame` may hold the
  // request `m` points into). Counts tx_lease_*. noexcept, no allocation.
  wire::BuildResult answer_leasequery(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                                      wire::MutableBytes frame, wire::MutableBytes scratch) noexcept;

  // ---- high availability (engine/ha.hpp; ha.cpp) -----------------------------
  // What this server answers now (the control thread's HA state). The
  // runtime's worker sets it between bursts. Without [ha] it is not read.
  void set_ha_serve(HaServe s) noexcept { ha_serve_ = s; }
  HaServe ha_serve() const noexcept { return ha_serve_; }
  // Clients of the partner's buckets seen retrying (secs above
  // HaConfig::unacked_secs), as the low 32 bits of their key hash: a ring
  // of kHaUnackedRing written by the owning lcore. ha_unacked_written():
  // how many were ever written (any thread, acquire); ha_unacked_at(n % ring):
  // the n-th (relaxed; may already be overwritten by a newer one).
  std::uint32_t ha_unacked_written() const noexcept {
    return std::atomic_ref<const std::uint32_t>(ha_unacked_written_).load(std::memory_order_acquire);
  }
  std::uint32_t ha_unacked_at(std::uint32_t i) const noexcept {
    return counter_read(ha_unacked_[i % kHaUnackedRing]);
  }
  // Applies one lease change the HA partner made (control/ha/ through
  // AdminOp::replicate): the record's full state replaces what this shard
  // knows of the client and the address, by ReplicateStatus's rules. The
  // record stating the partner's change itself is not emitted (the HA
  // service journaled the partner's record on arrival: journaled once);
  // the others it emits (a loser dropped, its own state after a lost
  // conflict) carry kChangeFromPartner in LeaseChange::shard, so they are
  // journaled here but not sent back. Bounded: at most 3 records emitted.
  // `filter`: AdminRequest::filter (kAdminForeign, kAdminHoldRefused).
  ReplicateStatus replicate(const LeaseChange& in, Seconds now, std::uint8_t filter = 0) noexcept;

  // ---- per-circuit limits (engine/limits.hpp; limits.cpp) ---------------------
  // Counts this shard's active leases again in the shared limit table under
  // the current config: what it counted goes back first. reconfigure() calls
  // it; restore() counts each lease it installs. O(lease records).
  void recount_limits() noexcept;
  // Leases counted now for a circuit (tests, inspection).
  std::uint32_t limit_count(LimitBy by, wire::Bytes option82, const wire::MacAddr& chaddr,
                            std::uint64_t scope) const noexcept;
  // This shard's leases counted in the limit table.
  std::uint32_t limit_charged() const noexcept { return charged_; }

  // ---- inspection (control API, tests); not for the packet path -------------
  const Lease* find_lease(const ClientKey& key) const noexcept;
  const Lease* lease_at_address(Ipv4 ip) const noexcept;
  const LeaseTable& leases() const noexcept { return table_; }
  // A request with this key hash comes in the next handle_burst().
  void prefetch_lease(std::uint64_t hash) const noexcept { table_.prefetch_slot(hash); }
  const Allocator& addresses() const noexcept { return alloc_; }
  std::size_t memory_bytes() const noexcept;
  // Lease table, bitmaps and slots agree (a pool address of another shard's
  // block is never free here and only a foreign lease may hold it; holds sit
  // in our own blocks); empty if sound. O(capacity + addresses).
  std::string audit() const;

 private:
  // One request being decided (dispatch() makes it; the handlers read it).
  struct Ctx {
    const wire::DhcpMessage& m;
    const RxMeta& rx;
    Seconds now;
    std::uint32_t change_begin;
    const KeyResult& key;
    // With [ddns]: the lease this request committed or renewed
    // (commit_ddns()), for the reply's option 81 (ddns_reply()).
    mutable std::uint32_t ddns_lease = kNil;
    // With [ddns]: the name a new binding's commit decided (the reply's
    // option 81 is encoded from it, no second look at the lease).
    mutable const DdnsName* ddns_name = nullptr;
    // The client's reservation, once looked up (reply options, hostname).
    mutable const ReservationEntry* reservation = nullptr;
    // Client classes (engine/classes.hpp; 0 without [[class]]). A hook for
    // reservations that give classes: OR their bits in before the handlers
    // read it.
    ClassSet classes = 0;
  };
  struct Times {
    std::uint32_t lease, t1, t2;
  };

  Shard(const CompiledConfig& config, const ShardConfig& sizes);

  Decision decide(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                  const KeyResult& key) noexcept;
  Decision dispatch(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                    wire::MessageType type, const KeyResult& key) noexcept;
  Decision dispatch_type(const Ctx& c, wire::MessageType type) noexcept;
  // dispatch() without the limits check (engine.cpp; inlined in both callers).
  inline Decision dispatch_policy(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                                  wire::MessageType type, const KeyResult& key) noexcept;
  // dispatch() with per-circuit limits (engine.cpp): limit_admit(), then
  // dispatch_policy(), then limit_settle().
  [[gnu::noinline]] Decision dispatch_limited(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                                              wire::MessageType type, const KeyResult& key) noexcept;
  // limits.cpp: the limits of subnet index `subnet` (null: none); the
  // refusal of a request by them (DropReason::none: admitted; a REQUEST
  // that may commit leaves its reserved count in pending_limit_);
  // limit_settle (after a DISCOVER, a REQUEST or a BOOTP request,
  // bootp.cpp): that count bound to the client's now active lease, else
  // given back; a bound client's lease that moved to another address
  // (uncounted by set_state on the way) counted again; limit_charge: an
  // existing active lease counted (restore, replicate, admin, recount);
  // limit_uncharge: set_state's hook.
  const CompiledLimits* limits_of(std::uint32_t subnet) const noexcept;
  DropReason limit_admit(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now, wire::MessageType type,
                         const KeyResult& key) noexcept;
  void limit_settle(const wire::DhcpMessage& m, const KeyResult& key) noexcept;
  void limit_charge(std::uint32_t idx, wire::Bytes option82) noexcept;
  void limit_uncharge(const Lease& l) noexcept;
  // dispatch() with [[class]] (engine.cpp, so dispatch_type() inlines into
  // it): the request's classes into Ctx; drop classes refused (class_drop).
  [[gnu::noinline]] Decision dispatch_classes(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                                              wire::MessageType type, const KeyResult& key) noexcept;
  // A free address of `subnet` for a client of classes `cls`: the plain
  // pick without pool tables, else pools its classes name first, then open
  // ones (classes.cpp).
  SlotId pick_for(ClassSet cls, std::uint32_t subnet) noexcept {
    if (config_->subnet_pools.empty() || config_->subnet_pools[subnet].count == 0) return alloc_.pick(subnet, true);
    return alloc_.pick_pooled(subnet, cls);
  }
  // dispatch() with [ddns] (engine.cpp): Decision::fqdn for
  // lease replies to clients that sent option 81.
  [[gnu::noinline]] Decision dispatch_ddns(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                                           wire::MessageType type, const KeyResult& key) noexcept;
  Decision on_discover(const Ctx& c) noexcept;
  Decision on_request(const Ctx& c) noexcept;
  Decision on_decline(const Ctx& c) noexcept;
  Decision on_release(const Ctx& c) noexcept;
  // The record a DECLINE or RELEASE speaks about: the client's own, found
  // and refreshed, addressed to us. Otherwise index kNil and the refusal:
  // `not_found`, or other_server_id.
  struct ClientRecord {
    std::uint32_t index;
    DropReason refusal;
  };
  ClientRecord client_record(const Ctx& c, DropReason not_found) noexcept;
  Decision on_inform(const Ctx& c) noexcept;
  // bootp.cpp: a request without option 53 (RFC 951/1542 BOOTP client).
  Decision decide_bootp(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                        const KeyResult& key) noexcept;
  Decision bootreply_unjournaled(const Ctx& c, std::uint32_t idx, std::uint32_t subnet, Event e) noexcept;
  // probe.cpp
  enum class ProbeCheck : std::uint8_t { no, probe, pending };
  ProbeCheck probe_check(std::uint32_t idx, std::uint32_t subnet, Ipv4 addr, bool reserved,
                         Seconds last_held, Seconds now) const noexcept;
  Decision probe_decision(std::uint32_t idx, std::uint32_t subnet, Ipv4 addr,
                          std::uint32_t change_begin) noexcept;
  Decision discover_again(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                          const KeyResult& key) noexcept;
  // leasequery.cpp: the requester check; the answer is answer_leasequery().
  Decision on_leasequery(const wire::DhcpMessage& m, const RxMeta& rx) noexcept;
  // commit()'s hook with keep_relay_info: the request's option 82, if any,
  // kept for record idx (bound to its address). leasequery.cpp.
  void keep_relay_info(std::uint32_t idx, const wire::DhcpMessage& m) noexcept;
  Decision confirm(const Ctx& c, const ClientKey& key, std::uint32_t idx, std::uint32_t subnet,
                   Ipv4 addr, bool allow_free) noexcept;

  Decision reply(const Ctx& c, wire::MessageType type, std::uint32_t subnet, Ipv4 yiaddr,
                 const Times* times, Ipv4 client_ip) noexcept;
  Decision nak(const Ctx& c, std::uint32_t subnet, NakReason why) noexcept;
  Decision silent(const Ctx& c) noexcept;
  Decision refuse(DropReason r) noexcept;

  std::uint32_t select_subnet(const wire::DhcpMessage& m, const RxMeta& rx) const noexcept;
  const ReservationEntry* reservation_for(const ClientKey& key, const wire::DhcpMessage& m,
                                          std::uint32_t subnet) const noexcept;
  // reservations.cpp: one device, two identities (MAC reservation held by
  // the same chaddr under its other key): the holder gives way.
  std::uint32_t yield_same_device(std::uint32_t holder, std::uint32_t idx, const wire::DhcpMessage& m,
                                  const ReservationEntry& r, Seconds now) noexcept;
  // Option 54 `sid` names this server for a request of `subnet`: the
  // server's address, the subnet's server id, or (RFC 5107) the server-id
  // override its relay put in option 82 (engine/rapid_commit.cpp).
  bool our_server_id(Ipv4 sid, std::uint32_t subnet, const wire::DhcpMessage& m) const noexcept {
    return sid == config_->server_address ||
           (subnet < config_->subnets.size() && sid == config_->subnets[subnet].server_id) ||
           relay_server_id(sid, m);
  }
  static bool relay_server_id(Ipv4 sid, const wire::DhcpMessage& m) noexcept;
  // select.cpp: shared networks. The subnet of `selected`'s network that
  // holds addr (selected if none does); a free address in `subnet`, else in
  // the next subnet of its network that has one (subnet updated).
  std::uint32_t subnet_in_network(std::uint32_t selected, Ipv4 addr) const noexcept;
  SlotId pick_in_network(std::uint32_t& subnet, ClassSet cls = 0) noexcept;
  // Defined (inline) in engine.cpp, the only file that uses them.
  inline Times times_for(const CompiledSubnet& s, const wire::DhcpMessage& m) const noexcept;
  // The same with client classes and pool tables: a class's lease_time, else
  // the pool table's of `addr`, else the subnet's (engine/classes.hpp).
  inline Times times_for(const CompiledSubnet& s, const Ctx& c, std::uint32_t subnet, Ipv4 addr) const noexcept;
  static inline Times scaled_times(const CompiledSubnet& s, std::uint32_t lease) noexcept;
  Decision offer_unjournaled(const Ctx& c, std::uint32_t idx, std::uint32_t subnet) noexcept;
  // rapid_commit.cpp: a DISCOVER with option 80 in a subnet that allows it:
  // the chosen address committed (as confirm() does) and ACKed with 80.
  Decision rapid_ack(const Ctx& c, std::uint32_t idx, std::uint32_t subnet, Ipv4 addr, SlotId target,
                     const Times& t) noexcept;
  Decision ack_unjournaled(const Ctx& c, std::uint32_t idx, std::uint32_t subnet, Event e) noexcept;
  Ipv4 reserved_address(const ClientKey& key, std::uint8_t htype, const wire::MacAddr& chaddr,
                        std::uint32_t subnet) const noexcept;
  void forget(std::uint32_t idx) noexcept;
  // Split scope: a REQUEST for `addr` in another server's part that the
  // client's record (idx, kNil if none) does not hold.
  bool peer_request(std::uint32_t idx, Ipv4 addr) const noexcept {
    return !config_->peer_ranges.empty() && (idx == kNil || table_.at(idx).address != addr) &&
           config_->in_peer_part(addr);
  }
  bool is_foreign(std::uint32_t idx) const noexcept { return (table_.at(idx).flags & kLeaseForeign) != 0; }
  RestoreStatus install(const LeaseChange& in, const ClientKey& key, LeaseState state,
                        std::uint32_t subnet, SlotId slot, std::uint8_t flags) noexcept;
  SlotId slot_of_lease(const Lease& l) const noexcept {
    return l.subnet == kNoSubnet ? kNil : alloc_.slot_of(l.subnet, l.address);
  }
  bool is_withdrawn(std::uint32_t idx) const noexcept {
    return (table_.at(idx).flags & kLeaseWithdrawn) != 0;
  }

  // State transitions; each keeps table, bitmaps and slots consistent.
  std::uint32_t refresh(std::uint32_t idx, Seconds now) noexcept;
  Inserted create_record(const ClientKey& key, Seconds now) noexcept;
  void bind(std::uint32_t idx, std::uint32_t subnet, Ipv4 addr, SlotId slot, LeaseState state,
            Seconds expires, Seconds now) noexcept;
  void detach(std::uint32_t idx, Seconds now) noexcept;
  void drop_record(std::uint32_t idx, Seconds now) noexcept;
  void commit(std::uint32_t idx, std::uint32_t subnet, Ipv4 addr, SlotId slot, const Times& t,
              const Ctx& c) noexcept;
  // commit()'s end with [ddns] (engine.cpp, where emit() inlines into it);
  // [ddns] off never calls it.
  [[gnu::noinline]] void commit_ddns(std::uint32_t idx, const Ctx& c, Ipv4 addr, bool renewal) noexcept;
  // Decision::fqdn for a lease reply of `yiaddr` in `subnet` to a client
  // that sent option 81 (engine/shard_ddns.cpp).
  const FqdnReply* ddns_reply(const Ctx& c, const CompiledSubnet& subnet, Ipv4 yiaddr) noexcept;
  // The name decision for lease `idx` at `addr` (commit_ddns, the OFFER's
  // option 81): the OFFER's, kept in the lease's cache entry, when the
  // option 81 is the same (engine/ddns_cache.hpp), else decided now. Valid
  // until the next request.
  const DdnsName& ddns_decide(std::uint32_t idx, const wire::DhcpMessage& m, Ipv4 addr) noexcept {
    return decide_cached(ddns_cache_[idx & (kDdnsCacheEntries - 1)], ddns_epoch_, config_->ddns, decided_, idx, m,
                         addr);
  }
  void expire_active(std::uint32_t idx) noexcept;
  void expire_foreign(std::uint32_t idx) noexcept;
  std::uint32_t end_offer(std::uint32_t idx, Seconds now) noexcept;
  void decline(std::uint32_t idx, Seconds now) noexcept;
  void release(std::uint32_t idx, Seconds now) noexcept;
  void end_probation(std::uint32_t idx, Seconds now) noexcept;
  void on_due(std::uint32_t idx, Seconds now) noexcept;
  void emit(LeaseOp op, std::uint32_t idx) noexcept;
  // Record idx as a LeaseChange (key, address, times, subnet id, shard; the
  // hostname only when asked), seq and op unset: what emit() journals and
  // what the control API shows.
  LeaseChange change_of(std::uint32_t idx, bool with_hostname) const noexcept;
  void write_change(LeaseChange& ch, std::uint32_t idx, bool with_hostname) const noexcept;
  void bump(Event e) noexcept { counter_add(counters_.events[static_cast<std::size_t>(e)]); }
  // Every change of Lease::state goes through here (state_counts_).
  void set_state(Lease& l, LeaseState s) noexcept {
    // Per-circuit limits: an active lease that ends gives its count back.
    if (charged_ != 0 && l.state == LeaseState::active && s != LeaseState::active) [[unlikely]]
      limit_uncharge(l);   // limits.cpp
    if (l.state != LeaseState::unused) --state_counts_[static_cast<std::size_t>(l.state)];
    if (s != LeaseState::unused) ++state_counts_[static_cast<std::size_t>(s)];
    l.state = s;
  }
  // ha.cpp: why a request is not this server's to answer (DropReason::none:
  // it is).
  DropReason ha_refusal(const wire::DhcpMessage& m, const KeyResult& key) noexcept;
  // decide()'s path with [ha]: the refusal, else dispatch().
  Decision decide_ha(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now, wire::MessageType type,
                     const KeyResult& key) noexcept;
  ReplicateStatus replicate_binding(const LeaseChange& in, const ClientKey& key, Seconds now,
                                    std::uint8_t filter) noexcept;
  // After a record it did not take: journals what the shard holds for the
  // client and the address (its records, or a reclaim of the client).
  void rejournal(const ClientKey& key, const LeaseChange& in) noexcept;
  // admin.cpp
  AdminStatus admin_put(const LeaseChange& in, bool update, bool foreign_ok, Seconds now) noexcept;
  AdminStatus admin_hold(const LeaseChange& in, bool extend, bool replica, Seconds now,
                         std::uint32_t& count) noexcept;
  AdminStatus admin_drop_foreign(const LeaseChange& in, Seconds now, AdminReply* described) noexcept;
  // Marks the records emitted since change_count_ was `from` as the HA
  // partner's change: journaled here, never sent back (engine/ha.cpp).
  void mark_from_partner(std::uint32_t from) noexcept;
  std::uint32_t admin_delete(std::uint32_t idx, Seconds now) noexcept;
  bool admin_reportable(std::uint32_t idx, const AdminRequest& r) const noexcept;
  void admin_describe(std::uint32_t idx, AdminReply& out) const noexcept;

  const CompiledConfig* config_;
  ShardIdentity id_;
  LeaseTable table_;
  Allocator alloc_;
  std::vector<LeaseChange> changes_;
  bool change_bodies_ = true;   // ShardConfig::change_bodies
  // Set while Shard::replicate makes the change the HA partner's record
  // states (MutedEmit, engine/ha.cpp): emit() makes no record of it, the
  // HA service journaled the partner's record on arrival.
  bool emit_muted_ = false;
  std::uint32_t change_count_ = 0;
  std::uint32_t next_seq_ = 1;
  bool store_writable_ = true;   // set by the owning lcore (set_store_writable)
  std::uint32_t withdrawn_ = 0;  // records with kLeaseWithdrawn
  HaServe ha_serve_ = HaServe::all;   // set by the owning lcore (set_ha_serve)
  bool probe_allowed_ = true;         // false inside redecide_discover(.., false)
  RelayInfoTable relay_info_;         // ShardConfig::keep_relay_info (leasequery)
  std::uint32_t ha_unacked_written_ = 0;                 // dp: rw, cp: ro (atomic_ref)
  std::array<std::uint32_t, kHaUnackedRing> ha_unacked_{};   // dp: rw, cp: ro (relaxed)
  ShardCounters counters_;
  StateCounts state_counts_{};
  // Decision::fqdn's storage (ddns_reply), used round robin; last so the
  // members above keep their cache lines.
  std::array<FqdnReply, kMaxBurst> fqdn_replies_;
  DdnsName decided_;   // ddns_decide() without a cache entry -> ddns_reply() (Ctx::ddns_name)
  std::uint32_t fqdn_next_ = 0;
  // engine/ddns_cache.hpp: the OFFER's name decision per lease record
  // (direct-mapped; pages touched only with [ddns]); entries of another
  // epoch are not used (reconfigure() bumps it).
  std::uint32_t ddns_epoch_ = 1;
  ReservedArray<DdnsCacheEntry> ddns_cache_{kDdnsCacheEntries};
  // Last, as fqdn_replies_, so that the members above keep their lines.
  // Per-circuit limits (engine/limits.hpp): the shared table (ShardConfig::limits,
  // else own_limits_), per lease record the slot it is counted in + 1 (0: not
  // counted), how many records are counted, the count a REQUEST reserved.
  std::unique_ptr<LimitTable> own_limits_;
  LimitTable* limits_ = nullptr;
  ReservedArray<std::uint32_t> limit_slots_;
  std::uint32_t charged_ = 0;
  std::uint32_t pending_limit_ = kNil;
};

// Serialises `d` (verdict reply) as a frame into `out`: RFC 2131 4.1
// addressing from the Decision, VLAN tags and our MAC from `rx`, BOOTP fields
// from the request, options: 53, 54, then 51/58/59 and 1 (mandatory), the
// subnet's options the client asked for in 55 (in its order) and always-send
// ones, 61 echoed (RFC 6842), 82 echoed byte for byte (RFC 3046); the size
// honours the client's option 57. `request` (and the bytes it refers to)
// must be the one given to handle() and must not overlap `out`.
// Pure, noexcept; ~100-200 ns for a 342-byte reply.
wire::BuildResult build_reply(const CompiledConfig& config, const Decision& d,
                              const wire::DhcpMessage& request, const RxMeta& rx,
                              wire::MutableBytes out) noexcept;

// The BOOTREPLY of a Decision with `bootp` set (bootp.cpp; build_reply
// calls it for those): addressing and BOOTP fields as build_reply's, no
// option 53 or 54; the vendor area holds the magic cookie, 1 (mask) and the
// subnet's options in code order, each one that fits, and 82 echoed. The
// message is at most 300 bytes (a 64-byte vendor area) for a client that
// sent no cookie, else max(576, its option 57) - 28; at least 300.
wire::BuildResult build_bootreply(const CompiledConfig& config, const Decision& d,
                                  const wire::DhcpMessage& request, const RxMeta& rx,
                                  wire::MutableBytes out) noexcept;
// The L2-L4 envelope and the BOOTP fields of `d`'s reply (reply.cpp), for
// both builders.
wire::Envelope reply_envelope(const Decision& d, const RxMeta& rx) noexcept;
wire::BootpFields reply_bootp_fields(const Decision& d, const wire::DhcpMessage& request) noexcept;

}  // namespace dorado::engine
