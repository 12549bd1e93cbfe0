#include "api/builtin.hpp"

#include "config/values.hpp"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace dorado::api {
namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// Kea's sample form: [[value, "2026-11-30 10:00:00.000000"]].
Json sample(std::uint64_t v) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  std::tm tm{};
  gmtime_r(&tv.tv_sec, &tm);
  char when[48];
  const std::size_t n = std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(when + n, sizeof when - n, ".%06ld", static_cast<long>(tv.tv_usec));
  return Json::array({Json::array({v, when})});
}

Json ip_json(wire::Ipv4 ip) { return format_ipv4(ip); }

// Writes `body` to `path` through a temporary file beside it (fsynced, then
// renamed over it), so a reader never sees half a file. "" or the error.
std::string write_file_atomically(const std::string& path, const std::string& body) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return tmp + ": " + std::strerror(errno);
  std::size_t done = 0;
  while (done < body.size()) {
    const ssize_t n = ::write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string e = tmp + ": write: " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_errno = errno;
  if (::close(fd) != 0 || !synced) {
    const std::string e = tmp + ": fsync/close: " + std::strerror(synced ? errno : sync_errno);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = path + ": rename: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return e;
  }
  return "";
}

Json ips_json(const std::vector<wire::Ipv4>& v) {
  Json a = Json::array();
  for (auto ip : v) a.push_back(ip_json(ip));
  return a;
}

Json ranges_json(const std::vector<engine::AddressRange>& v) {
  Json a = Json::array();
  for (const auto& r : v) a.push_back(format_ipv4(r.first) + "-" + format_ipv4(r.last));
  return a;
}

Json options_json(const std::vector<engine::OptionData>& v) {
  Json a = Json::array();
  for (const auto& o : v)
    a.push_back({{"code", o.code}, {"hex", format_hex(o.value.data(), o.value.size())},
                 {"always_send", o.always_send}});
  return a;
}

Json reservation_json(const engine::Reservation& res) {
  Json x = Json::object();
  if (res.address != 0) x["address"] = ip_json(res.address);
  if (res.mac) x["mac"] = format_mac(*res.mac);
  if (!res.client_id.empty()) x["client_id"] = format_hex(res.client_id.data(), res.client_id.size());
  if (!res.circuit_id.empty()) x["circuit_id"] = "0x" + format_hex(res.circuit_id.data(), res.circuit_id.size());
  if (!res.remote_id.empty()) x["remote_id"] = "0x" + format_hex(res.remote_id.data(), res.remote_id.size());
  if (!res.hostname.empty()) x["hostname"] = res.hostname;
  if (!res.options.empty()) x["option"] = options_json(res.options);
  if (!res.classes.empty()) x["classes"] = res.classes;
  return x;
}

// A client class condition in its compiled parts (config/values.hpp
// class_field_name, class_op_name): field, code (option, relay_sub), op, and
// hex (exact, prefix, user_class), number (contains: the option 55 code,
// equals: the VLAN id) or prefix (in_prefix: giaddr's network/len).
Json class_match_json(const engine::ClassMatch& m) {
  Json x = {{"field", std::string(config::detail::class_field_name(m.field))},
            {"op", std::string(config::detail::class_op_name(m.op))}};
  if (m.field == engine::ClassField::option || m.field == engine::ClassField::relay_sub) x["code"] = m.code;
  switch (m.op) {
    case engine::ClassOp::present: break;
    case engine::ClassOp::exact:
    case engine::ClassOp::prefix:
    case engine::ClassOp::user_class: x["hex"] = format_hex(m.value.data(), m.value.size()); break;
    case engine::ClassOp::contains:
    case engine::ClassOp::equals: x["number"] = m.number; break;
    case engine::ClassOp::in_prefix: {
      const std::uint32_t mask = m.prefix_len == 0 ? 0u : ~0u << (32 - m.prefix_len);
      x["prefix"] = format_ipv4(m.number & mask) + "/" + std::to_string(m.prefix_len);
      break;
    }
  }
  return x;
}

Json pool_table_json(const engine::PoolConfig& p) {
  Json x = {{"range", ranges_json(p.ranges)}, {"option", options_json(p.options)}};
  if (!p.classes.empty()) x["classes"] = p.classes;
  if (!p.deny.empty()) x["deny"] = p.deny;
  if (p.lease_time != 0) x["lease_time"] = p.lease_time;
  return x;
}

const char* durability_name(config::Durability d) {
  switch (d) {
    case config::Durability::fsync: return "fsync";
    case config::Durability::async: return "async";
    case config::Durability::off: return "off";
  }
  return "?";
}

}  // namespace

std::map<std::string, std::uint64_t> with_kea_names(const CounterList& totals) {
  std::map<std::string, std::uint64_t> m;
  for (const auto& [name, v] : totals) m[name] += v;
  auto get = [&m](const char* n) {
    const auto it = m.find(n);
    return it == m.end() ? std::uint64_t{0} : it->second;
  };
  std::uint64_t parse_failed = 0, receive_drop = 0;
  for (const auto& [name, v] : m) {
    if (starts_with(name, "wire.")) parse_failed += v;
    if (starts_with(name, "engine.drop.") || starts_with(name, "drop.")) receive_drop += v;
  }
  std::map<std::string, std::uint64_t> out = m;
  // Kea's names (dataplane/runtime/counters.def): the worker counters that
  // have one, each message type received or sent, and their sums.
  std::uint64_t received = parse_failed, sent = 0;
#define DORADO_WORKER_COUNTER(field, name, kind, metric, help, kea) \
  if (*kea != '\0') out[kea] = get(name);
#define DORADO_MESSAGE_COUNTER(event, direction, type, kea)        \
  out[kea] = get("engine." #event);                                \
  (std::string_view(#direction) == "sent" ? sent : received) += out[kea];
#include "runtime/counters.def"
  out["pkt4-received"] = received;
  out["pkt4-parse-failed"] = parse_failed;
  out["pkt4-receive-drop"] = receive_drop;
  out["pkt4-sent"] = sent;
  return out;
}

std::map<std::string, std::uint64_t> Statistics::raw() const { return with_kea_names(source_()); }

std::map<std::string, std::uint64_t> Statistics::current() const {
  auto m = raw();
  for (auto& [name, v] : m) {
    const auto it = baseline_.find(name);
    if (it != baseline_.end()) v = v >= it->second ? v - it->second : 0;
  }
  return m;
}

bool Statistics::reset(const std::string& name) {
  const auto m = raw();
  const auto it = m.find(name);
  if (it == m.end()) return false;
  baseline_[name] = it->second;
  return true;
}

void Statistics::reset_all() { baseline_ = raw(); }

Json config_json(const config::DaemonConfig& c) {
  Json j = Json::object();
  j["server"] = {{"address", ip_json(c.server.address)}};
  Json ports = Json::array();
  for (auto p : c.dpdk.ports) ports.push_back(p);
  j["dpdk"] = {{"eal_args", c.dpdk.eal_args}, {"workers", c.dpdk.workers},
               {"idle_sleep_us", c.dpdk.idle_sleep_us}, {"ports", ports},
               {"mbufs", c.dpdk.mbufs}, {"rx_desc", c.dpdk.rx_desc},
               {"tx_desc", c.dpdk.tx_desc}, {"burst", c.dpdk.burst},
               {"max_leases", c.dpdk.max_leases}};
  j["store"] = {{"dir", c.store.dir}, {"durability", durability_name(c.store.durability)},
                {"commit_interval_us", c.store.commit_interval_us},
                {"commit_records", c.store.commit_records}, {"segment_mb", c.store.segment_mb},
                {"snapshot_records", c.store.snapshot_records},
                {"snapshot_on_exit", c.store.snapshot_on_exit}};
  j["control"] = {{"socket", c.control.socket}};
  j["lease"] = {{"offer_hold", c.engine.offer_hold_s}, {"decline_probation", c.engine.decline_probation_s}};
  j["option"] = options_json(c.engine.options);
  Json subnets = Json::array();
  for (const auto& s : c.engine.subnets) {
    Json r = Json::array();
    for (const auto& res : s.reservations) r.push_back(reservation_json(res));
    Json sj = {{"id", s.id},
               {"prefix", format_ipv4(s.prefix) + "/" + std::to_string(s.prefix_len)},
               {"pools", ranges_json(s.pools)},
               {"exclude", ranges_json(s.exclusions)},
               {"routers", ips_json(s.routers)},
               {"dns", ips_json(s.dns_servers)},
               {"lease_time", s.lease_time},
               {"min_lease_time", s.min_lease_time},
               {"max_lease_time", s.max_lease_time},
               {"t1_ratio", s.t1_ratio},
               {"t2_ratio", s.t2_ratio},
               {"relay", ips_json(s.relays)},
               {"reservation", r},
               {"option", options_json(s.options)}};
    if (!s.domain_name.empty()) sj["domain"] = s.domain_name;
    if (s.server_id != 0) sj["server_id"] = ip_json(s.server_id);
    if (s.bootp) sj["bootp"] = true;
    if (!s.match_client_id) sj["match_client_id"] = false;
    if (!s.pool_tables.empty()) {   // [[subnet.pool]]
      Json p = Json::array();
      for (const auto& t : s.pool_tables) p.push_back(pool_table_json(t));
      sj["pool"] = p;
    }
    subnets.push_back(sj);
  }
  j["subnet"] = subnets;
  if (!c.engine.global_reservations.empty()) {
    Json g = Json::array();
    for (const auto& res : c.engine.global_reservations) g.push_back(reservation_json(res));
    j["reservation"] = g;
  }
  if (!c.engine.classes.empty()) {   // [[class]], config order
    Json k = Json::array();
    for (const auto& cls : c.engine.classes) {
      Json m = Json::array();
      for (const auto& x : cls.matches) m.push_back(class_match_json(x));
      Json cj = {{"name", cls.name}, {"match", m}, {"option", options_json(cls.options)}};
      if (cls.lease_time != 0) cj["lease_time"] = cls.lease_time;
      if (cls.drop) cj["drop"] = true;
      k.push_back(cj);
    }
    j["class"] = k;
  }
  if (!c.engine.shared_networks.empty()) {   // [[shared_network]]: subnets by prefix
    Json n = Json::array();
    for (const auto& net : c.engine.shared_networks) {
      Json subs = Json::array();
      for (const std::uint32_t i : net.subnets)
        if (i < c.engine.subnets.size())
          subs.push_back(format_ipv4(c.engine.subnets[i].prefix) + "/" + std::to_string(c.engine.subnets[i].prefix_len));
      n.push_back({{"name", net.name}, {"subnets", subs}, {"option", options_json(net.options)}});
    }
    j["shared_network"] = n;
  }
  if (c.madcap.enabled) {   // docs/madcap.md
    j["madcap"] = {{"listen", c.madcap.listen}};
    Json scopes = Json::array();
    for (const auto& m : c.multicast_scopes)
      scopes.push_back({{"name", m.name},
                        {"range", format_ipv4(m.first) + "-" + format_ipv4(m.last)},
                        {"zone", m.zone},
                        {"ttl", m.ttl},
                        {"min_lease_time", m.min_lease_time},
                        {"default_lease_time", m.default_lease_time},
                        {"max_lease_time", m.max_lease_time}});
    j["multicast_scope"] = scopes;
  }
  return j;
}

void register_daemon_commands(CommandTable& t, Statistics& stats, DaemonHooks hooks) {
  t.add("version-get", "dorado's version", [v = hooks.version](const Request& r, Reply done) {
    Args a(r.arguments);
    if (!a.finish()) return done(error_answer(a.error()));
    done(success(v, Json{{"extended", "dorado " + v + " (DHCPv4 server on DPDK)"}}));
  });

  t.add("config-get", "the running configuration (as loaded, defaults included)",
        [c = hooks.config, path = hooks.config_path](const Request& r, Reply done) {
          Args a(r.arguments);
          if (!a.finish()) return done(error_answer(a.error()));
          if (c == nullptr) return done(error_answer("no configuration loaded"));
          Json args = Json::object();
          args["Dorado"] = config_json(*c);
          args["config-file"] = path;
          done(success("Configuration returned.", args));
        });

  t.add("config-test", "validate a config file (file: path; default the running one): FILE:LINE errors",
        [path = hooks.config_path](const Request& r, Reply done) {
          Args a(r.arguments);
          const auto file = a.string("file", false);
          if (!a.finish()) return done(error_answer(a.error()));
          const std::string f = file ? *file : path;
          if (f.empty()) return done(error_answer("no file given and no running config file known"));
          const config::LoadResult loaded = config::load_config_file(f);
          if (loaded.ok()) return done(success("Configuration seems sane.", Json{{"file", f}}));
          Json errors = Json::array();
          for (const auto& e : loaded.errors) errors.push_back(e.to_string());
          Answer ans = error_answer(std::to_string(loaded.errors.size()) + " error(s) in " + f + ": " +
                                    loaded.errors.front().to_string());
          ans.arguments = Json{{"file", f}, {"errors", errors}};
          done(std::move(ans));
        });

  t.add("statistic-get-all", "every statistic (Kea's names and dorado's counters)",
        [&stats](const Request& r, Reply done) {
          Args a(r.arguments);
          if (!a.finish()) return done(error_answer(a.error()));
          Json args = Json::object();
          for (const auto& [name, v] : stats.current()) args[name] = sample(v);
          done(success(std::to_string(args.size()) + " statistics.", args));
        });

  t.add("statistic-get", "one statistic by name", [&stats](const Request& r, Reply done) {
    Args a(r.arguments);
    const auto name = a.string("name", true);
    if (!a.finish()) return done(error_answer(a.error()));
    const auto m = stats.current();
    const auto it = m.find(*name);
    if (it == m.end()) return done(Answer{kEmpty, "No '" + *name + "' statistic found.", Json::object()});
    Json args = Json::object();
    args[*name] = sample(it->second);
    done(success("1 statistic.", args));
  });

  t.add("statistic-reset", "reset one statistic (name), or all without a name",
        [&stats](const Request& r, Reply done) {
          Args a(r.arguments);
          const auto name = a.string("name", false);
          if (!a.finish()) return done(error_answer(a.error()));
          if (!name) {
            stats.reset_all();
            return done(success("All statistics reset to neutral values."));
          }
          if (!stats.reset(*name)) return done(Answer{kEmpty, "No '" + *name + "' statistic found.", std::nullopt});
          done(success("Statistic '" + *name + "' reset."));
        });

  t.add("statistic-reset-all", "reset every statistic", [&stats](const Request& r, Reply done) {
    Args a(r.arguments);
    if (!a.finish()) return done(error_answer(a.error()));
    stats.reset_all();
    done(success("All statistics reset to neutral values."));
  });

  t.add("config-reload", "read the config file again and apply it (as SIGHUP)",
        [reload = hooks.reload](const Request& r, Reply done) {
          Args a(r.arguments);
          if (!a.finish()) return done(error_answer(a.error()));
          if (!reload) return done(Answer{kUnsupported, "'config-reload' command not supported.", std::nullopt});
          const ReloadOutcome out = reload();
          Json lines = Json::array();
          for (const auto& l : out.lines) lines.push_back(l);
          Answer ans = out.ok ? success("Configuration successfully reloaded.", Json{{"lines", lines}})
                              : error_answer("reload refused: " + (out.lines.empty() ? std::string("?")
                                                                                      : out.lines.front()));
          if (!out.ok) ans.arguments = Json{{"lines", lines}};
          done(std::move(ans));
        });

  t.add("config-write", "write the config in force to a file (filename: path; default the running one)",
        [text = hooks.config_text, path = hooks.config_path](const Request& r, Reply done) {
          Args a(r.arguments);
          const auto file = a.string("filename", false);
          if (!a.finish()) return done(error_answer(a.error()));
          if (!text) return done(Answer{kUnsupported, "'config-write' command not supported.", std::nullopt});
          const std::string f = file ? *file : path;
          if (f.empty()) return done(error_answer("no filename given and no running config file known"));
          const std::string body = text();
          if (body.empty())
            return done(error_answer("the text of the config in force is not known (the file could not be read)"));
          if (std::string e = write_file_atomically(f, body); !e.empty()) return done(error_answer(e));
          done(success("Configuration written to " + f + " successfully",
                       Json{{"filename", f}, {"size", body.size()}}));
        });

  t.add("split-scope-get", "this server's and the other servers' part of every pool ([split_scope])",
        [c = hooks.config](const Request& r, Reply done) {
          Args a(r.arguments);
          if (!a.finish()) return done(error_answer(a.error()));
          if (c == nullptr) return done(error_answer("no configuration loaded"));
          if (!c->split_scope.enabled) return done(Answer{kEmpty, "No [split_scope] in the configuration.", std::nullopt});
          Json pools = Json::array();
          for (const config::SplitPool& p : c->split_pools) {
            Json parts = Json::array();
            for (const config::SplitPart& part : p.parts) {
              Json j{{"server", part.server}, {"count", part.count}};
              if (part.count > 0) j["range"] = format_ipv4(part.range.first) + "-" + format_ipv4(part.range.last);
              parts.push_back(std::move(j));
            }
            pools.push_back({{"subnet-id", p.subnet_id},
                             {"pool", format_ipv4(p.pool.first) + "-" + format_ipv4(p.pool.last)},
                             {"usable", p.usable},
                             {"this-server", p.parts.at(p.this_part).server},
                             {"parts", std::move(parts)},
                             {"excluded", ranges_json(p.excluded())}});
          }
          done(success(std::to_string(pools.size()) + " pool(s) split.",
                       Json{{"this-server", c->split_scope.this_server}, {"pools", std::move(pools)}}));
        });

  t.add("shutdown", "stop the server cleanly, as SIGTERM does", [stop = hooks.shutdown](const Request& r, Reply done) {
    Args a(r.arguments);
    if (!a.finish()) return done(error_answer(a.error()));
    if (!stop) return done(error_answer("shutdown is not available here"));
    done(success("Shutting down."));
    stop();
  });
}

}  // namespace dorado::api
