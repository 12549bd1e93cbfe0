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
// ACKs until durable in fsync mode: Decision::change_begin/count name the
// records a reply depends on) and calls clear_changes(). It also calls
// sweep() every loop with a small budget to expire leases.
//
// Time: Seconds (engine/lease.hpp), passed in; must not go backwards.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "engine/allocator.hpp"
#include "engine/client_key.hpp"
#include "engine/config.hpp"
#include "engine/counters.hpp"
#include "engine/lease.hpp"
#include "engine/lease_table.hpp"
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
};

// RxMeta from a parsed frame.
RxMeta rx_meta_of(const wire::Frame& frame, wire::MacAddr local_mac, Ipv4 interface_address) noexcept;

struct ShardConfig {
  ShardIdentity identity;             // which blocks this shard owns
  LeaseTableSizes table;              // lease records, hostname/key stores, wheel
  std::uint32_t change_log_capacity = 1024;   // >= 4; records between two drains
};

enum class Verdict : std::uint8_t {
  reply,    // send the reply described by the Decision
  silent,   // handled, nothing to send (RELEASE, DECLINE, REQUEST for another server)
  drop,     // refused; `drop` says why (already counted)
};

// The outcome of one request: small, trivially copyable, no owned memory.
struct Decision {
  Verdict verdict = Verdict::drop;
  DropReason drop = DropReason::none;
  wire::MessageType type = wire::MessageType::nak;   // OFFER, ACK or NAK when verdict == reply
  bool lease_options = false;       // send 51/58/59
  bool subnet_options = false;      // send 1, the requested (55) and always-send options
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
  const CompiledSubnet* subnet = nullptr;   // options source; points into the snapshot
  std::uint32_t change_begin = 0;   // changes()[change_begin, +change_count) came from this request
  std::uint32_t change_count = 0;
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

  // Lease changes since the last clear_changes(), oldest first.
  std::span<const LeaseChange> changes() const noexcept { return {changes_.data(), change_count_}; }
  void clear_changes() noexcept { change_count_ = 0; }

  // For the runtime's own refusals (e.g. build_reply failing).
  void count(DropReason r) noexcept { ++counters_.drops[static_cast<std::size_t>(r)]; }
  const ShardCounters& counters() const noexcept { return counters_; }
  const CompiledConfig& config() const noexcept { return *config_; }
  ShardIdentity identity() const noexcept { return id_; }

  // ---- inspection (control API, tests); not for the packet path -------------
  const Lease* find_lease(const ClientKey& key) const noexcept;
  const Lease* lease_at_address(Ipv4 ip) const noexcept;
  const LeaseTable& leases() const noexcept { return table_; }
  const Allocator& addresses() const noexcept { return alloc_; }
  std::size_t memory_bytes() const noexcept;
  // Lease table, bitmaps and slots agree; empty if sound. O(capacity + addresses).
  std::string audit() const;

 private:
  struct Ctx;
  struct Times {
    std::uint32_t lease, t1, t2;
  };

  Shard(const CompiledConfig& config, const ShardConfig& sizes);

  Decision decide(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
                  const KeyResult& key) noexcept;
  Decision dispatch(const wire::DhcpMessage& m, const RxMeta& rx, Seconds now,
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
  Decision confirm(const Ctx& c, const ClientKey& key, std::uint32_t idx, std::uint32_t subnet,
                   Ipv4 addr, bool allow_free) noexcept;

  Decision reply(const Ctx& c, wire::MessageType type, std::uint32_t subnet, Ipv4 yiaddr,
                 const Times* times, Ipv4 client_ip) noexcept;
  Decision nak(const Ctx& c, std::uint32_t subnet) noexcept;
  Decision silent(const Ctx& c) noexcept;
  Decision refuse(DropReason r) noexcept;

  std::uint32_t select_subnet(const wire::DhcpMessage& m, const RxMeta& rx) const noexcept;
  const ReservationEntry* reservation_for(const ClientKey& key, const wire::DhcpMessage& m,
                                          std::uint32_t subnet) const noexcept;
  bool our_server_id(Ipv4 sid, std::uint32_t subnet) const noexcept;
  Times times_for(const CompiledSubnet& s, const wire::DhcpMessage& m) const noexcept;
  SlotId slot_of_lease(const Lease& l) const noexcept { return alloc_.slot_of(l.subnet, l.address); }

  // State transitions; each keeps table, bitmaps and slots consistent.
  std::uint32_t refresh(std::uint32_t idx, Seconds now) noexcept;
  Inserted create_record(const ClientKey& key, Seconds now) noexcept;
  void bind(std::uint32_t idx, std::uint32_t subnet, Ipv4 addr, SlotId slot, LeaseState state,
            Seconds expires, Seconds now) noexcept;
  void detach(std::uint32_t idx, Seconds now) noexcept;
  void drop_record(std::uint32_t idx, Seconds now) noexcept;
  void commit(std::uint32_t idx, std::uint32_t subnet, Ipv4 addr, SlotId slot, const Times& t,
              const Ctx& c) noexcept;
  void expire_active(std::uint32_t idx) noexcept;
  std::uint32_t end_offer(std::uint32_t idx, Seconds now) noexcept;
  void decline(std::uint32_t idx, Seconds now) noexcept;
  void release(std::uint32_t idx, Seconds now) noexcept;
  void end_probation(std::uint32_t idx, Seconds now) noexcept;
  void on_due(std::uint32_t idx, Seconds now) noexcept;
  void emit(LeaseOp op, std::uint32_t idx) noexcept;
  void bump(Event e) noexcept { ++counters_.events[static_cast<std::size_t>(e)]; }

  const CompiledConfig* config_;
  ShardIdentity id_;
  LeaseTable table_;
  Allocator alloc_;
  std::vector<LeaseChange> changes_;
  std::uint32_t change_count_ = 0;
  std::uint32_t next_seq_ = 1;
  ShardCounters counters_;
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

}  // namespace dorado::engine
