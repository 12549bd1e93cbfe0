// What a reload may not change: the keys read once at start-up.
#include <algorithm>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/values.hpp"

namespace dorado::config {
namespace {

std::string text(unsigned v) { return std::to_string(v); }
std::string text(std::uint64_t v) { return std::to_string(v); }
std::string text(bool v) { return v ? "true" : "false"; }
std::string text(const std::string& v) { return "\"" + v + "\""; }
std::string text(Durability d) {
  return d == Durability::fsync ? "\"fsync\"" : d == Durability::async ? "\"async\"" : "\"off\"";
}
std::string text(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
  return s + "]";
}
std::string text(HaMode m) { return '"' + std::string(ha_mode_name(m)) + '"'; }
std::string text(HaAck a) { return '"' + std::string(ha_ack_name(a)) + '"'; }
// The peers as one value: [name address role, ...] in file order.
std::string text(const std::vector<HaPeer>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + v[i].name + " " + v[i].address + " " + std::string(ha_role_name(v[i].role));
  return s + "]";
}
std::string text(const std::vector<std::uint16_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

std::vector<ConfigError> restart_only_changes(const DaemonConfig& running, const DaemonConfig& next,
                                              const std::string& file) {
  std::vector<ConfigError> out;
  auto check = [&](const char* key, const auto& was, const auto& now) {
    if (was == now) return;
    out.push_back(ConfigError{file, 0, key,
                              "changed from " + text(was) + " to " + text(now) +
                                  ": needs a restart; reload refused, still serving with the "
                                  "previous config"});
  };
  if (running.server.address != next.server.address) {
    out.push_back(ConfigError{file, 0, "server.address",
                              "changed from " + wire::format_ipv4(running.server.address) + " to " +
                                  wire::format_ipv4(next.server.address) +
                                  ": needs a restart; reload refused, still serving with the "
                                  "previous config"});
  }
  const DpdkSection &a = running.dpdk, &b = next.dpdk;
  check("dpdk.eal_args", a.eal_args, b.eal_args);
  check("dpdk.workers", a.workers, b.workers);
  check("dpdk.idle_sleep_us", a.idle_sleep_us, b.idle_sleep_us);
  check("dpdk.ports", a.ports, b.ports);
  check("dpdk.mbufs", a.mbufs, b.mbufs);
  check("dpdk.rx_desc", a.rx_desc, b.rx_desc);
  check("dpdk.tx_desc", a.tx_desc, b.tx_desc);
  check("dpdk.burst", a.burst, b.burst);
  check("dpdk.max_leases", a.max_leases, b.max_leases);
  const StoreSection &s = running.store, &t = next.store;
  check("store.dir", s.dir, t.dir);
  check("store.durability", s.durability, t.durability);
  check("store.commit_interval_us", s.commit_interval_us, t.commit_interval_us);
  check("store.commit_records", s.commit_records, t.commit_records);
  check("store.segment_mb", s.segment_mb, t.segment_mb);
  check("store.snapshot_records", s.snapshot_records, t.snapshot_records);
  check("store.snapshot_on_exit", s.snapshot_on_exit, t.snapshot_on_exit);
  check("control.socket", running.control.socket, next.control.socket);
  // The metrics endpoint is bound once at start-up.
  const auto metrics = [](const ControlSection& c) {
    return c.metrics_enabled ? '"' + wire::format_ipv4(c.metrics_address) + ":" + std::to_string(c.metrics_port) + "\""
                             : std::string("\"off\"");
  };
  if (metrics(running.control) != metrics(next.control))
    out.push_back(ConfigError{file, 0, "control.metrics",
                              "changed from " + metrics(running.control) + " to " + metrics(next.control) +
                                  ": needs a restart; reload refused, still serving with the "
                                  "previous config"});
  // [ha]: the pair's link, roles and timers are set up once at start-up.
  const HaSection &h = running.ha, &g = next.ha;
  if (h.enabled != g.enabled) {
    out.push_back(ConfigError{file, 0, "ha",
                              std::string(g.enabled ? "added" : "removed") +
                                  ": needs a restart; reload refused, still serving with the "
                                  "previous config"});
  } else if (h.enabled) {
    check("ha.this_server", h.this_server, g.this_server);
    check("ha.mode", h.mode, g.mode);
    check("ha.listen", h.listen, g.listen);
    check("ha.ack", h.ack, g.ack);
    check("ha.heartbeat_ms", unsigned{h.heartbeat_ms}, unsigned{g.heartbeat_ms});
    check("ha.max_response_delay_ms", unsigned{h.max_response_delay_ms}, unsigned{g.max_response_delay_ms});
    check("ha.max_ack_delay_ms", unsigned{h.max_ack_delay_ms}, unsigned{g.max_ack_delay_ms});
    check("ha.max_unacked_clients", unsigned{h.max_unacked_clients}, unsigned{g.max_unacked_clients});
    check("ha.mclt", unsigned{h.mclt}, unsigned{g.mclt});
    check("ha.max_answer_secs", unsigned{h.max_answer_secs}, unsigned{g.max_answer_secs});
    check("ha.split", unsigned{h.split}, unsigned{g.split});
    check("ha.backlog_mb", unsigned{h.backlog_mb}, unsigned{g.backlog_mb});
    check("ha.insecure", h.insecure, g.insecure);
    check("ha.ca", h.ca, g.ca);
    check("ha.cert", h.cert, g.cert);
    check("ha.key", h.key, g.key);
    const auto peer_changed = [](const std::vector<HaPeer>& a, const std::vector<HaPeer>& b) {
      return !std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const HaPeer& x, const HaPeer& y) {
        return x.name == y.name && x.ip == y.ip && x.port == y.port && x.role == y.role;
      });
    };
    if (peer_changed(h.peers, g.peers))
      out.push_back(ConfigError{file, 0, "ha.peer",
                                "changed from " + text(h.peers) + " to " + text(g.peers) +
                                    ": needs a restart; reload refused, still serving with the "
                                    "previous config"});
  }
  return out;
}

}  // namespace dorado::config
