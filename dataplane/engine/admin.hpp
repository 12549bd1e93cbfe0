// Control-API messages to and from one shard: lease lookups, pages, adds,
// updates, deletes, wipes and forced expiry sweeps, executed by the shard's
// own lcore (Shard::admin), never by reading its memory from another thread.
//
// Contract: plain, fixed-size, trivially copyable messages with a type tag
// (docs/architecture.md "Cross-core traffic"): the runtime carries AdminRequest in
// an SPSC ring control -> worker and AdminReply in one worker -> control.
// One request yields 1..kMaxAdminReplies replies, the last with `last` set.
// Work per request is bounded (kAdminScanSlots slots walked, kAdminChanges
// records emitted at most) so a worker answers it between two packet bursts; a walk
// that has more to do says where to continue (`cursor`), and the control
// thread sends the next request.
//
// Addresses are walked in slot order: slot = block * 64 + bit over
// CompiledConfig::blocks, which compile() lays out in address order (subnets
// sorted by network, blocks in address order within each), so slot order is
// address order and Allocator::address_of(slot) maps back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "engine/lease.hpp"

namespace dorado::engine {

enum class AdminOp : std::uint8_t {
  find_key = 1,   // the record of the client whose key is in `lease` -> 0 or 1 lease
  find_address,   // the client record (or probation) on `address` -> 0 or 1 lease
  scan,           // walk slots from `cursor`: up to `limit` leases matching `filter`
  add,            // install `lease` (key, address, start, expires, htype, chaddr,
                  // hostname) as an active lease of its client; emits commit
  update,         // same, but a record must exist on the address; replaces it
  del_address,    // delete the record on `address` (emits reclaim, or expire for
                  // a probation)
  del_key,        // delete the record of the client whose key is in `lease`
  wipe,           // walk from `cursor` deleting records matching `filter`
  reclaim,        // run the expiry sweep for `now` (bounded); count = entries due
  replicate,      // apply `lease` (a change the HA partner made, op as journaled)
                  // by Shard::replicate; count = its ReplicateStatus
  hold,           // on the shard owning the block of `lease.address`: keep the
                  // address for a lease another shard serves (lease4-add of an
                  // address outside the client's shard's blocks) until
                  // `lease.expires`: a hold record (kLeaseHold, not journaled),
                  // as a restart installs for such a lease (Shard::restore_hold).
                  // A client's expired/released history on the address is
                  // reclaimed first; anything else there: `exists`
  unhold,         // drop the hold on `address` (the add it was made for failed;
                  // HA: the client moved to another address, or released it)
  replicate_batch,  // replicate (filter 0) each of the `limit` records at `records`,
                  // in order (1..kMaxAdminBatch; HA resync and replication):
                  // status[i] = its ReplicateStatus; count = records done. The
                  // two arrays are the control thread's, kept until the reply
                  // (the reply ring orders the writes before it)
};

// Records one replicate_batch request carries, at most: 3 records emitted
// each (Shard::replicate) stay within kAdminChanges.
inline constexpr std::uint32_t kMaxAdminBatch = 64;

// AdminRequest::filter bits (scan, wipe, find_*).
inline constexpr std::uint8_t kAdminBySubnet = 1;      // subnet_id must match
inline constexpr std::uint8_t kAdminByChaddr = 2;      // lease.chaddr must match (htype 1)
inline constexpr std::uint8_t kAdminAfter = 4;         // address must be > `address`
inline constexpr std::uint8_t kAdminInactiveOnly = 8;  // expired/released records only
inline constexpr std::uint8_t kAdminActiveOnly = 16;   // active leases only (bulk leasequery)
// add: the address may be in a pool block another shard owns; that shard
// holds it already (AdminOp::hold) and the lease is kept as a foreign one
// (kLeaseForeign), as after a restart with another worker count.
// hold with kAdminForeign: the lease is the HA partner's record
// (control/ha/service.cpp): what is on the address goes by the conflict
// rule (Shard::admin_hold): another client's active lease loses to a later
// transaction (dropped, count 3), an offer, a probation or history is
// dropped, a hold no later than the record is taken over (with
// kAdminExtend; count 2); else `exists`. Records emitted: the partner's.
// del_address with kAdminForeign: only another client's foreign active
// lease on `address` (lease.key: the winner) no later than lease.start
// (the rule's loser on a third shard); else not_found.
inline constexpr std::uint8_t kAdminForeign = 32;
// hold: a hold already on the address is extended to `lease.expires` (count
// 2) instead of refused (lease4-update of a lease kept that way).
inline constexpr std::uint8_t kAdminExtend = 64;
// replicate (HA, control/ha/service.cpp) with kAdminForeign: a commit or
// renewal of an address in another shard's block (the partner runs another
// worker count); the block's owner holds it already (AdminOp::hold) and the
// lease is kept as a foreign one. With kAdminHoldRefused as well: the owner
// would not hold it (another record there wins): the record is rejected
// (conflict_lost) and this shard journals its own state of the client.
inline constexpr std::uint8_t kAdminHoldRefused = 128;

inline constexpr std::uint32_t kMaxAdminLeases = 64;     // lease replies per request
inline constexpr std::uint32_t kMaxAdminReplies = kMaxAdminLeases + 1;
inline constexpr std::uint32_t kAdminScanSlots = 16384;  // slots walked per request
// Records one request emits, at most (wipe: kMaxAdminLeases deletions;
// reclaim: a sweep with this budget).
inline constexpr std::uint32_t kAdminChanges = 256;
static_assert(3 * kMaxAdminBatch <= kAdminChanges, "a replicate_batch emits at most 3 records a record");

struct AdminRequest {
  std::uint64_t id = 0;          // chosen by the control thread, echoed in every reply
  AdminOp op = AdminOp::find_key;
  std::uint8_t filter = 0;
  std::uint16_t reserved = 0;
  std::uint32_t cursor = 0;      // scan, wipe: first slot
  std::uint32_t limit = 0;       // scan: leases wanted, 1..kMaxAdminLeases
  std::uint32_t subnet_id = 0;   // with kAdminBySubnet
  wire::Ipv4 address = 0;        // find_address, del_address; scan with kAdminAfter
  LeaseChange lease;             // key (find_key, del_key, add, update), chaddr (filter)
  const LeaseChange* records = nullptr;   // replicate_batch
  std::uint8_t* status = nullptr;         // replicate_batch
};
static_assert(std::is_trivially_copyable_v<AdminRequest>);
static_assert(sizeof(AdminRequest) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

enum class AdminStatus : std::uint8_t {
  ok = 0,
  not_found,     // no such lease
  exists,        // add: the address or the client already has an active lease
  bad_address,   // the address is in no subnet, or no pool or reservation of it
  wrong_shard,   // the address is in a pool block another shard owns (several workers)
  table_full,    // no lease record left
  invalid,       // bad key, expiry not in the future, unknown op
};

struct AdminReply {
  std::uint64_t id = 0;
  AdminStatus status = AdminStatus::ok;
  bool last = false;                    // the final reply of this request
  bool has_lease = false;               // `lease` and `state` describe one lease
  LeaseState state = LeaseState::unused;
  std::uint32_t cursor = kNil;          // last reply of scan/wipe/reclaim: where to go on; kNil: done
  std::uint32_t count = 0;              // last reply: records deleted (del/wipe), due (reclaim)
  std::uint32_t shard = 0;
  // Last reply: the shard's last_seq() after the request when it emitted
  // records (0 when it emitted none): in fsync mode the change is durable
  // once the store's durable seq for this shard reaches it.
  std::uint32_t seq = 0;
  LeaseChange lease;                    // op field unused; hostname filled when known
};
static_assert(std::is_trivially_copyable_v<AdminReply>);
static_assert(sizeof(AdminReply) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

}  // namespace dorado::engine
