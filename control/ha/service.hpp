// One server's side of an HA pair (docs/ha.md): the link to the partner,
// lease replication both ways, resync, and the state machine, run from the
// daemon's control loop (control/daemon/serve.cpp).
//
// Outgoing. Every record the store stamps (Store::set_tap) that this
// server's shards made (not one applied from the partner: LeaseChange::shard
// has kChangeFromPartner) goes into the backlog: encoded journal records in
// seq order, bounded by backlog_bytes (the oldest dropped first: they are
// still in the journal on disk). The sender streams to the partner, in
// `updates` messages of up to 256 KiB, everything after the partner's
// applied position: from the backlog when it covers that position, else
// from the journal segments (Store::read_journal), else (the segments are
// gone) as a full transfer of every lease of the store's mirror.
//
// Incoming. The records of each updates message are journaled here as they
// arrive (Store::take_replicated: the durability of this server's own
// records); that is their one copy in this journal (the shard applying one
// does not emit the record of that change again, engine/ha.cpp: only what
// else it changed). Then each goes to its owning shard as an
// AdminOp::replicate request (engine/ha.cpp decides, by rule, what it
// changes); a commit or renewal of an address whose pool block another
// shard owns (the two servers' worker counts differ) is held by the block's
// owner first (AdminOp::hold, as lease4-add does), then kept as a foreign
// lease by the client's shard (kAdminForeign), the hold dropped again
// (AdminOp::unhold) when that fails. A record counts as applied once its
// journaled copy is durable here (Store::durable_seq). The partner is
// acknowledged with the highest seq whose records, and all before it, are
// applied; that position and the partner's journal id are kept in the
// file ha-state in the store directory (written only with durable values,
// so it may lag, never lead: a restart replays a little, idempotently).
//
// ACKs. With ack = "partner", Service::durable_limit() holds each worker's
// ACKs until the partner has acknowledged the records they depend on, in
// the states where the partner answers (StateMachine::partner_ack_possible);
// otherwise only local durability counts.
//
// Threads: the control thread only; nothing here blocks (non-blocking
// sockets, bounded work per tick).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/admin.hpp"
#include "engine/ha.hpp"
#include "engine/lease.hpp"
#include "ha/link.hpp"
#include "ha/protocol.hpp"
#include "ha/state.hpp"
#include "store/store.hpp"

namespace dorado::ha {

struct ServiceSettings {
  std::string this_name;
  std::string partner_name;
  Mode mode = Mode::hot_standby;
  Role role = Role::primary;
  Endpoint listen;
  Endpoint partner;
  TlsSettings tls;
  bool ack_partner = true;
  std::uint32_t heartbeat_ms = 1000;
  std::uint32_t max_response_delay_ms = 5000;
  std::uint32_t max_unacked_clients = 10;
  std::uint32_t mclt_s = 3600;
  std::uint64_t backlog_bytes = std::uint64_t{64} << 20;
  std::uint64_t config_digest = 0;
  std::string state_dir;   // the store directory (file ha-state)
};

// What the service needs from the daemon (a fake in tests).
class Host {
 public:
  virtual ~Host() = default;
  virtual unsigned shards() const = 0;
  // The shard a replicated record goes to (engine::owner_shard_of).
  virtual unsigned shard_of(const engine::LeaseChange& change) const = 0;
  // The shard owning the pool block of the record's address
  // (engine::block_owner_of). Where it is not shard_of() (the partner runs
  // another worker count), a commit or renewal is held there first
  // (AdminOp::hold) and kept as a foreign lease on shard_of().
  virtual unsigned block_shard_of(const engine::LeaseChange& change) const { return shard_of(change); }
  virtual bool submit(unsigned shard, const engine::AdminRequest& request) = 0;
  virtual void set_serve(engine::HaServe serve) = 0;
  // Partner-down past the MCLT (true) or not: allocate in both sides'
  // blocks (a reconfigure of every shard).
  virtual void set_partner_blocks(bool on) = 0;
  // Every client hash the shards saw retrying for the partner since the last call.
  virtual void unacked(const std::function<void(std::uint32_t)>& fn) = 0;
  virtual void log(const std::string& line) = 0;
};

// Admin request ids with this bit are the HA service's (the control API's
// never have it): the daemon routes their replies to on_admin_reply().
inline constexpr std::uint64_t kHaAdminId = std::uint64_t{1} << 63;

struct ServiceCounters {
  std::uint64_t records_sent = 0;
  std::uint64_t records_received = 0;
  std::uint64_t records_applied = 0;      // shard state changed
  std::uint64_t records_unchanged = 0;
  std::uint64_t records_rejected = 0;     // conflicts lost, no subnet, wrong shard, table full, invalid
  std::uint64_t conflicts_won = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t connections = 0;          // links opened (hello exchanged)
  std::uint64_t connection_failures = 0;  // connect/handshake/protocol failures
  std::uint64_t auth_failures = 0;        // peers refused by TLS authentication or name
  std::uint64_t resyncs = 0;              // syncs completed (this server catching up)
  std::uint64_t full_transfers_sent = 0;
  double last_resync_seconds = 0;
  std::uint64_t backlog_dropped = 0;      // records dropped from memory (re-read from disk if needed)
};

struct ServiceStatus {
  HaState state = HaState::waiting;
  HaState partner_state = HaState::waiting;
  bool partner_known = false;
  bool connected = false;
  std::uint64_t epoch = 0;
  std::uint64_t last_seq = 0;             // this server's journal
  std::uint64_t partner_acked_seq = 0;    // of ours, acknowledged by the partner
  std::uint64_t applied_seq = 0;          // of the partner's, applied here
  std::uint64_t partner_last_seq = 0;     // the partner's journal, as last heard
  std::uint64_t unsent = 0;               // our records the partner has not acknowledged
  std::uint32_t unacked_clients = 0;
  double lag_seconds = 0;                 // age of the oldest record the partner has not acknowledged
  std::uint64_t state_age_ms = 0;
  ServiceCounters counters;
};

class Service {
 public:
  struct Created {
    std::unique_ptr<Service> service;
    std::string error;
  };
  // Opens the listener; the store must outlive the service (its tap is set).
  static Created create(const ServiceSettings& settings, store::Store& store, Host& host,
                        std::uint64_t now_ms);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Bounded work: accept/connect, read and apply, send, heartbeat, state.
  void tick(std::uint64_t now_ms);
  void on_admin_reply(unsigned shard, const engine::AdminReply& reply);
  // The per-shard seq up to which worker `w`'s ACKs may leave, given the
  // store's local durable seq for it.
  std::uint32_t durable_limit(unsigned w, std::uint32_t local) const noexcept;

  ServiceStatus status(std::uint64_t now_ms) const;
  // Control API (Kea's ha-* commands). Empty, or why not.
  std::string maintenance_start(std::uint64_t now_ms);
  std::string maintenance_cancel(std::uint64_t now_ms);
  std::string sync(std::uint64_t now_ms);   // full resync from the partner
  const ServiceSettings& settings() const noexcept { return settings_; }
  // Clean stop: the final applied position is written.
  void close();

 private:
  struct Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  ServiceSettings settings_;
};

}  // namespace dorado::ha
