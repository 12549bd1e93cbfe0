#include "obs/snapshot.hpp"

#include <cstdio>
#include <map>
#include <string_view>

#include "obs/prometheus.hpp"

namespace dorado::obs {

std::uint64_t WorkerStats::counter(std::string_view name) const noexcept {
  for (const auto& c : counters)
    if (c.name == name) return c.value;
  return 0;
}

std::uint64_t Snapshot::total(std::string_view name) const noexcept {
  std::uint64_t t = 0;
  for (const auto& w : workers) t += w.counter(name);
  return t;
}

std::array<std::uint64_t, kLeaseStates> Snapshot::lease_states() const noexcept {
  std::array<std::uint64_t, kLeaseStates> t{};
  for (const auto& w : workers)
    for (std::size_t i = 0; i < kLeaseStates; ++i) t[i] += w.lease_states[i];
  return t;
}

namespace {

struct Simple {
  const char* counter;   // WorkerStats counter name
  const char* metric;    // "": not on /metrics
  const char* help;
};

// Worker counters that map one to one onto a per-worker counter family
// (dataplane/runtime/counters.def, the lines with a metric).
constexpr Simple kWorkerCounters[] = {
#define DORADO_WORKER_COUNTER(field, name, kind, metric, help, kea) {name, metric, help},
#include "runtime/counters.def"
};

// The shard's message counters (counters.def): DHCP message type labels of
// dorado_dhcp_packets_received_total (received) and dorado_dhcp_replies_total (sent).
struct TypeName {
  const char* event;   // engine event counter
  bool sent;
  const char* type;    // DHCP message type label
};
constexpr TypeName kMessages[] = {
#define DORADO_MESSAGE_COUNTER(event, direction, type, kea) \
  {"engine." #event, std::string_view(#direction) == "sent", type},
#include "runtime/counters.def"
};

bool is_packet_event(std::string_view n) {
  for (const auto& t : kMessages)
    if (n == t.event) return true;
  return false;
}

struct PortCounter {
  const char* counter;
  const char* metric;
  const char* help;
};
constexpr PortCounter kPortCounters[] = {
    {"ipackets", "dorado_port_received_packets_total", "Packets the NIC received (rte_eth_stats ipackets)."},
    {"opackets", "dorado_port_sent_packets_total", "Packets the NIC sent (opackets)."},
    {"imissed", "dorado_port_missed_packets_total",
     "Packets the NIC dropped because no worker polled in time (imissed)."},
    {"ierrors", "dorado_port_receive_errors_total", "Erroneous received packets (ierrors)."},
    {"oerrors", "dorado_port_send_errors_total", "Failed transmissions (oerrors)."},
    {"rx_nombuf", "dorado_port_rx_nombuf_total", "RX mbuf allocation failures (rx_nombuf)."},
};

std::uint64_t port_counter(const PortStats& p, std::string_view name) {
  for (const auto& c : p.counters)
    if (c.name == name) return c.value;
  return 0;
}

}  // namespace

std::string render_metrics(const Snapshot& s) {
  Exposition e;
  std::vector<std::string> worker_ids;
  for (const auto& w : s.workers) worker_ids.push_back(std::to_string(w.index));

  e.family("dorado_uptime_seconds", MetricType::gauge, "Seconds since dorado started serving.");
  e.sample("dorado_uptime_seconds", {}, s.uptime_s);
  e.family("dorado_workers", MetricType::gauge, "Worker lcores (one lease shard each).");
  e.sample("dorado_workers", {}, static_cast<std::uint64_t>(s.workers.size()));

  e.family("dorado_dhcp_packets_received_total", MetricType::counter,
           "DHCP requests that reached a shard, by message type.");
  for (std::size_t i = 0; i < s.workers.size(); ++i)
    for (const auto& t : kMessages)
      if (!t.sent)
        e.sample("dorado_dhcp_packets_received_total", {{"worker", worker_ids[i]}, {"type", t.type}},
                 s.workers[i].counter(t.event));
  e.family("dorado_dhcp_replies_total", MetricType::counter,
           "DHCP replies decided by a shard, by message type (an ACK held for durability "
           "leaves once its lease is on disk).");
  for (std::size_t i = 0; i < s.workers.size(); ++i)
    for (const auto& t : kMessages)
      if (t.sent)
        e.sample("dorado_dhcp_replies_total", {{"worker", worker_ids[i]}, {"type", t.type}},
                 s.workers[i].counter(t.event));

  for (const auto& c : kWorkerCounters) {
    if (*c.metric == '\0') continue;
    e.family(c.metric, MetricType::counter, c.help);
    for (std::size_t i = 0; i < s.workers.size(); ++i)
      e.sample(c.metric, {{"worker", worker_ids[i]}}, s.workers[i].counter(c.counter));
  }

  e.family("dorado_drops_total", MetricType::counter,
           "Packets not answered, by stage (runtime, wire: the codec refused it, engine: the "
           "shard refused it) and reason.");
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    for (const auto& c : s.workers[i].counters) {
      std::string_view n = c.name, stage;
      if (n.starts_with("engine.drop.")) {
        stage = "engine";
        n.remove_prefix(12);
      } else if (n.starts_with("drop.")) {
        stage = "runtime";
        n.remove_prefix(5);
      } else if (n.starts_with("wire.")) {
        stage = "wire";
        n.remove_prefix(5);
      } else {
        continue;
      }
      e.sample("dorado_drops_total", {{"worker", worker_ids[i]}, {"stage", stage}, {"reason", n}},
               c.value);
    }
  }

  e.family("dorado_engine_events_total", MetricType::counter,
           "Protocol events of the shards (engine/events.def): commits, renewals, expiries, ...");
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    for (const auto& c : s.workers[i].counters) {
      std::string_view n = c.name;
      if (!n.starts_with("engine.") || n.starts_with("engine.drop.") || is_packet_event(n)) continue;
      n.remove_prefix(7);
      e.sample("dorado_engine_events_total", {{"worker", worker_ids[i]}, {"event", n}}, c.value);
    }
  }

  e.family("dorado_leases", MetricType::gauge,
           "Lease records in the shards by state (offered, active, expired and released: "
           "remembered for their client, declined: address in probation).");
  const auto states = s.lease_states();
  for (std::size_t st = 1; st < kLeaseStates; ++st)
    e.sample("dorado_leases", {{"state", kLeaseStateNames[st]}}, states[st]);

  e.family("dorado_pool_addresses", MetricType::gauge,
           "Addresses of a pool that can be handed out (less exclusions, reservations, network, "
           "broadcast and server addresses).");
  for (const auto& p : s.pools)
    e.sample("dorado_pool_addresses", {{"subnet", p.subnet}, {"pool", p.pool}}, p.size);
  e.family("dorado_pool_used_addresses", MetricType::gauge,
           "Pool addresses not free: leased, offered or declined.");
  for (const auto& p : s.pools)
    e.sample("dorado_pool_used_addresses", {{"subnet", p.subnet}, {"pool", p.pool}}, p.used());
  e.family("dorado_pool_free_addresses", MetricType::gauge, "Pool addresses free to hand out.");
  for (const auto& p : s.pools)
    e.sample("dorado_pool_free_addresses", {{"subnet", p.subnet}, {"pool", p.pool}}, p.free);

  e.family("dorado_subnet_addresses", MetricType::gauge,
           "Dynamic addresses of a subnet (all its pools, less exclusions, reservations, network, "
           "broadcast and server addresses).");
  for (const auto& p : s.subnets) e.sample("dorado_subnet_addresses", {{"subnet", p.subnet}}, p.size);
  e.family("dorado_subnet_free_addresses", MetricType::gauge, "Dynamic addresses of a subnet free to hand out.");
  for (const auto& p : s.subnets) e.sample("dorado_subnet_free_addresses", {{"subnet", p.subnet}}, p.free);

  e.family("dorado_ring_used", MetricType::gauge,
           "Entries waiting in a worker's rings: changes (lease records to the control "
           "thread), handoff_in (requests and replies from other workers).");
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    e.sample("dorado_ring_used", {{"worker", worker_ids[i]}, {"ring", "changes"}}, s.workers[i].change_ring_used);
    e.sample("dorado_ring_used", {{"worker", worker_ids[i]}, {"ring", "handoff_in"}}, s.workers[i].handoff_in_used);
  }
  e.family("dorado_ring_size", MetricType::gauge, "Capacity of those rings.");
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    e.sample("dorado_ring_size", {{"worker", worker_ids[i]}, {"ring", "changes"}}, s.workers[i].change_ring_size);
    e.sample("dorado_ring_size", {{"worker", worker_ids[i]}, {"ring", "handoff_in"}}, s.workers[i].handoff_in_size);
  }
  e.family("dorado_acks_waiting", MetricType::gauge, "ACKs held in a worker until their lease is durable.");
  for (std::size_t i = 0; i < s.workers.size(); ++i)
    e.sample("dorado_acks_waiting", {{"worker", worker_ids[i]}}, s.workers[i].held_acks);
  e.family("dorado_ack_hold_seconds", MetricType::gauge,
           "How long ACKs waited for durability since start (histogram bucket floors).");
  e.sample("dorado_ack_hold_seconds", {{"quantile", "0.5"}}, static_cast<double>(s.ack_hold_p50) * 1e-9);
  e.sample("dorado_ack_hold_seconds", {{"quantile", "0.99"}}, static_cast<double>(s.ack_hold_p99) * 1e-9);
  e.sample("dorado_ack_hold_seconds", {{"quantile", "1"}}, static_cast<double>(s.ack_hold_max) * 1e-9);

  if (s.store.present) {
    const StoreStats& st = s.store;
    e.family("dorado_journal_records_total", MetricType::counter, "Lease records taken by the journal.");
    e.sample("dorado_journal_records_total", {}, st.records);
    e.family("dorado_journal_bytes_total", MetricType::counter, "Journal bytes written.");
    e.sample("dorado_journal_bytes_total", {}, st.bytes);
    e.family("dorado_journal_commits_total", MetricType::counter, "Group commits (write + fdatasync).");
    e.sample("dorado_journal_commits_total", {}, st.commits);
    e.family("dorado_journal_write_errors_total", MetricType::counter, "Failed commits (each retried).");
    e.sample("dorado_journal_write_errors_total", {}, st.write_errors);
    e.family("dorado_journal_lag_records", MetricType::gauge,
             "Journal lag: records taken but not yet durable.");
    e.sample("dorado_journal_lag_records", {}, st.pending_records);
    e.family("dorado_journal_fsync_seconds", MetricType::gauge,
             "Duration of journal fdatasync calls: the last one and the longest since start.");
    e.sample("dorado_journal_fsync_seconds", {{"which", "last"}}, static_cast<double>(st.fsync_ns_last) * 1e-9);
    e.sample("dorado_journal_fsync_seconds", {{"which", "max"}}, static_cast<double>(st.fsync_ns_max) * 1e-9);
    e.family("dorado_store_writable", MetricType::gauge, "1 while the journal can write, 0 while it cannot.");
    e.sample("dorado_store_writable", {}, std::uint64_t{st.writable ? 1u : 0u});
    e.family("dorado_store_leases", MetricType::gauge, "Leases in the store's mirror.");
    e.sample("dorado_store_leases", {}, st.leases);
    e.family("dorado_store_snapshots_total", MetricType::counter, "Snapshots written.");
    e.sample("dorado_store_snapshots_total", {}, st.snapshots);
    e.family("dorado_store_snapshot_errors_total", MetricType::counter, "Snapshots that failed.");
    e.sample("dorado_store_snapshot_errors_total", {}, st.snapshot_errors);
  }

  if (s.ha.present) {
    const HaStats& h = s.ha;
    e.family("dorado_ha_state", MetricType::gauge, "HA state of this server: 1 for the current one.");
    for (const char* name : kHaStateNames)
      e.sample("dorado_ha_state", {{"state", name}}, std::uint64_t{h.state == name ? 1u : 0u});
    e.family("dorado_ha_partner_connected", MetricType::gauge, "1 while the HA link to the partner is up.");
    e.sample("dorado_ha_partner_connected", {}, std::uint64_t{h.connected ? 1u : 0u});
    e.family("dorado_ha_epoch", MetricType::gauge, "Partner-down epochs this server has entered.");
    e.sample("dorado_ha_epoch", {}, h.epoch);
    e.family("dorado_ha_replication_lag_records", MetricType::gauge,
             "Lease changes of this server the partner has not acknowledged yet.");
    e.sample("dorado_ha_replication_lag_records", {}, h.lag_records);
    e.family("dorado_ha_replication_lag_seconds", MetricType::gauge,
             "Age of the oldest lease change the partner has not acknowledged.");
    e.sample("dorado_ha_replication_lag_seconds", {}, h.lag_seconds);
    e.family("dorado_ha_records_total", MetricType::counter,
             "Replicated lease changes: sent to the partner, received from it, and what the shards did with "
             "those received (applied, unchanged, rejected).");
    e.sample("dorado_ha_records_total", {{"direction", "sent"}}, h.sent);
    e.sample("dorado_ha_records_total", {{"direction", "received"}}, h.received);
    e.sample("dorado_ha_records_total", {{"direction", "applied"}}, h.applied);
    e.sample("dorado_ha_records_total", {{"direction", "unchanged"}}, h.unchanged);
    e.sample("dorado_ha_records_total", {{"direction", "rejected"}}, h.rejected);
    e.family("dorado_ha_resyncs_total", MetricType::counter, "Syncs from the partner completed.");
    e.sample("dorado_ha_resyncs_total", {}, h.resyncs);
    e.family("dorado_ha_resync_seconds", MetricType::gauge, "Duration of the last sync from the partner.");
    e.sample("dorado_ha_resync_seconds", {}, h.last_resync_seconds);
    e.family("dorado_ha_link_failures_total", MetricType::counter,
             "HA link failures: all (connect, handshake, protocol) and authentication refusals.");
    e.sample("dorado_ha_link_failures_total", {{"kind", "all"}}, h.connection_failures);
    e.sample("dorado_ha_link_failures_total", {{"kind", "auth"}}, h.auth_failures);
  }

  if (s.ddns.present) {
    const DdnsStats& d = s.ddns;
    for (const DdnsStats::Counter& c : d.counters) {
      const std::string name = "dorado_ddns_" + c.name + "_total";
      e.family(name, MetricType::counter, c.help + ".");
      e.sample(name, {}, c.value);
    }
    e.family("dorado_ddns_refused_by_rcode_total", MetricType::counter,
             "DNS updates refused by the DNS server, by its rcode or TSIG error name.");
    for (const auto& [rcode, n] : d.refused) e.sample("dorado_ddns_refused_by_rcode_total", {{"rcode", rcode}}, n);
    e.family("dorado_ddns_queue_depth", MetricType::gauge, "Addresses with DNS updates waiting or in flight.");
    e.sample("dorado_ddns_queue_depth", {}, d.queue_depth);
    e.family("dorado_ddns_oldest_wait_seconds", MetricType::gauge, "How long the oldest waiting DNS update has waited.");
    e.sample("dorado_ddns_oldest_wait_seconds", {}, d.oldest_wait_s);
    e.family("dorado_ddns_registered", MetricType::gauge, "Addresses whose records dorado has registered in DNS.");
    e.sample("dorado_ddns_registered", {}, d.registered);
  }

  if (s.madcap.present) {
    for (const DdnsStats::Counter& c : s.madcap.counters) {
      const std::string name = "dorado_madcap_" + c.name + "_total";
      e.family(name, MetricType::counter, c.help + ".");
      e.sample(name, {}, c.value);
    }
    e.family("dorado_madcap_leases", MetricType::gauge, "Multicast addresses leased by MADCAP now.");
    e.sample("dorado_madcap_leases", {}, s.madcap.leases);
  }

  for (const auto& c : kPortCounters) {
    e.family(c.metric, MetricType::counter, c.help);
    for (const auto& p : s.ports) {
      const std::string id = std::to_string(p.id);
      e.sample(c.metric, {{"port", id}, {"device", p.name}}, port_counter(p, c.counter));
    }
  }
  return e.take();
}

void SnapshotBoard::publish(std::shared_ptr<Snapshot> s) {
  {
    std::lock_guard lock(mu_);
    s->generation = ++generation_;
    current_ = std::move(s);
    wanted_.store(false, std::memory_order_relaxed);
  }
  cv_.notify_all();
}

std::shared_ptr<const Snapshot> SnapshotBoard::latest() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::shared_ptr<const Snapshot> SnapshotBoard::fresh(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  const std::uint64_t seen = generation_;
  wanted_.store(true, std::memory_order_relaxed);
  cv_.wait_for(lock, wait, [&] { return generation_ != seen; });
  return current_;
}

namespace {

std::string percent_text(std::uint64_t part, std::uint64_t whole) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) /
                                                                 static_cast<double>(whole));
  return buf;
}

// Drop counters whose growth means a ring or queue overflowed.
constexpr std::pair<const char*, const char*> kRingDrops[] = {
    {"drop.handoff_full", "handoff ring to another worker full"},
    {"drop.tx_full", "TX queue full"},
    {"drop.change_ring_full", "lease change ring to the control thread full"},
    {"drop.held_full", "held-ACK queue full"},
};

}  // namespace

std::vector<Warning> check_warnings(const Snapshot& now, const Snapshot* before,
                                    const WarningThresholds& t) {
  std::vector<Warning> out;
  if (t.pool_percent != 0) {
    for (const auto& p : now.pools) {
      if (p.size == 0 || p.used() * 100 < std::uint64_t{t.pool_percent} * p.size) continue;
      out.push_back({"pool " + p.subnet + " " + p.pool,
                     "pool nearly full: subnet " + p.subnet + " pool " + p.pool + ": " +
                         std::to_string(p.used()) + " of " + std::to_string(p.size) +
                         " addresses used (" + percent_text(p.used(), p.size) + ", " +
                         std::to_string(p.free) + " free; pool_warn_percent " +
                         std::to_string(t.pool_percent) + ")"});
    }
  }
  for (const auto& w : now.workers) {
    const std::string who = "worker " + std::to_string(w.index);
    if (t.ring_percent != 0 && w.change_ring_size != 0 &&
        w.change_ring_used * 100 >= std::uint64_t{t.ring_percent} * w.change_ring_size)
      out.push_back({who + " ring changes", who + ": lease change ring " +
                                                percent_text(w.change_ring_used, w.change_ring_size) +
                                                " full (" + std::to_string(w.change_ring_used) + " of " +
                                                std::to_string(w.change_ring_size) + "): the journal is behind"});
    if (t.ring_percent != 0 && w.handoff_in_size != 0 &&
        w.handoff_in_used * 100 >= std::uint64_t{t.ring_percent} * w.handoff_in_size)
      out.push_back({who + " ring handoff", who + ": handoff rings into it " +
                                                percent_text(w.handoff_in_used, w.handoff_in_size) +
                                                " full: the worker is overloaded"});
    if (before == nullptr) continue;
    const WorkerStats* prev = nullptr;
    for (const auto& b : before->workers)
      if (b.index == w.index) prev = &b;
    if (prev == nullptr) continue;
    for (const auto& [name, text] : kRingDrops) {
      const std::uint64_t a = prev->counter(name), b = w.counter(name);
      if (b > a)
        out.push_back({who + " " + name, who + ": " + std::to_string(b - a) + " packets dropped: " + text});
    }
    const std::uint64_t bp0 = prev->counter("backpressure"), bp1 = w.counter("backpressure");
    if (bp1 > bp0)
      out.push_back({who + " backpressure",
                     who + ": back-pressure: " + std::to_string(bp1 - bp0) +
                         " loops took no packets while the journal or the held-ACK queue was full"});
  }
  const StoreStats& st = now.store;
  if (st.present) {
    if (st.commit_records != 0 && st.pending_records >= st.commit_records)
      out.push_back({"journal lag", "journal lag: " + std::to_string(st.pending_records) +
                                        " records wait for the disk (commit_records " +
                                        std::to_string(st.commit_records) + ")"});
    if (t.fsync_ms != 0 && st.fsync_ns_last >= t.fsync_ms * 1'000'000)
      out.push_back({"journal fsync", "journal: last fdatasync took " +
                                          std::to_string(st.fsync_ns_last / 1'000'000) + " ms"});
  }
  return out;
}

}  // namespace dorado::obs
