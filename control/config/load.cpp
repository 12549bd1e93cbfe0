// TOML -> DaemonConfig with per-value checks, every section but [ha]
// (ha.cpp) and [ddns] (ddns.cpp). With those two, the only files that read
// toml11 values, through toml_reader.hpp (docs/architecture.md "Folders":
// "toml11 appears nowhere else" outside control/config). toml11 throws;
// nothing here lets an exception out of read_toml().
#include <algorithm>
#include <map>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/detail.hpp"
#include "config/toml_reader.hpp"
#include "config/values.hpp"

namespace dorado::config::detail {
namespace {

constexpr std::int64_t kU32Max = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kMaxClientId = 159;       // engine::kMaxKeyLen - 1
constexpr unsigned kMaxWorkers = 128;
constexpr std::size_t kMaxSocketPath = 107;     // sockaddr_un::sun_path minus the NUL

// The first line of a toml11 error without "[error] toml::func: ", plus the
// remark toml11 underlines the place with ("expected value, but got nothing").
std::string syntax_message(const std::string& what) {
  std::istringstream in(what);
  std::string first, line, remark;
  std::getline(in, first);
  if (first.rfind("[error]", 0) == 0) first.erase(0, 7);
  while (!first.empty() && first.front() == ' ') first.erase(0, 1);
  if (first.rfind("toml::", 0) == 0) {
    if (const std::size_t colon = first.find(": "); colon != std::string::npos)
      first.erase(0, colon + 2);
  }
  while (std::getline(in, line)) {
    // "   | ~~~~ remark" or "   |     ^--- remark"
    const std::size_t bar = line.find(" | ");
    if (bar == std::string::npos) continue;
    std::string_view rest(line);
    rest.remove_prefix(bar + 3);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.rfind("^---", 0) == 0) {
      rest.remove_prefix(4);
    } else if (!rest.empty() && rest.front() == '~') {
      while (!rest.empty() && rest.front() == '~') rest.remove_prefix(1);
    } else {
      continue;
    }
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (!rest.empty()) remark = std::string(rest);
  }
  std::string msg = "syntax error: " + first;
  if (!remark.empty() && first.find(remark) == std::string::npos) msg += " (" + remark + ")";
  return msg;
}

struct OptionOut {
  engine::OptionData data;
  OptionWhere where;
};

struct SubnetOut {
  engine::SubnetConfig config;
  SubnetWhere where;
};

class Reader : TableReader {
 public:
  Reader(Loaded& out, const LineIndex& lines, const std::string& file)
      : TableReader(out, lines, file) {}

  void run(const Value& root) {
    check_keys(root, "", {"server", "dpdk", "store", "control", "lease", "option", "subnet", "class",
                          "split_scope", "ha", "ddns", "madcap", "multicast_scope", "conflict", "leasequery",
                          "reservation", "shared_network", "limits"});
    DaemonConfig& c = out_.config;
    if (const Value* t = section(root, "server")) read_server(*t);
    if (!out_.where.server_ok && !find(root, "server"))
      error({0, 0, "server.address"}, "missing: [server] with address = \"a.b.c.d\" is required");
    if (const Value* t = section(root, "dpdk")) read_dpdk(*t);
    if (c.dpdk.mbufs == 0)
      c.dpdk.mbufs = default_mbufs(c.dpdk.workers, c.dpdk.rx_desc, c.dpdk.tx_desc);
    if (const Value* t = section(root, "store")) read_store(*t);
    if (const Value* t = section(root, "control")) read_control(*t);
    if (const Value* t = section(root, "lease")) read_lease(*t);
    if (const Value* t = section(root, "split_scope")) read_split_scope(*t);
    if (const Value* t = section(root, "ha")) read_ha(out_, lines_, file_, root, *t);   // ha.cpp
    ddns_present_ = find(root, "ddns") != nullptr;
    if (const Value* t = section(root, "ddns")) read_ddns(out_, lines_, file_, *t);   // ddns.cpp
    read_madcap(out_, lines_, file_, root);   // madcap.cpp
    if (const Value* t = section(root, "conflict")) read_conflict(out_, lines_, file_, *t);   // conflict.cpp
    if (const Value* t = section(root, "leasequery")) read_leasequery(out_, lines_, file_, *t);   // leasequery.cpp
    if (const Value* t = section(root, "limits")) read_limits(out_, lines_, file_, *t);   // limits.cpp
    if (const toml::array* options = table_array(root, "", "option")) {
      for (std::size_t i = 0; i < options->size(); ++i) {
        if (!(*options)[i].is_table()) continue;
        if (auto o = read_option((*options)[i], indexed("option", i))) {
          c.engine.options.push_back(std::move(o->data));
          out_.where.options.push_back(std::move(o->where));
        }
      }
    }
    read_classes(out_, lines_, file_, root);   // classes.cpp: [[class]], before the subnets' pool tables
    if (const toml::array* rs = table_array(root, "", "reservation")) {   // global, as Kea's
      for (std::size_t i = 0; i < rs->size(); ++i) {
        if (!(*rs)[i].is_table()) continue;
        if (auto r = read_reservation((*rs)[i], indexed("reservation", i))) {
          c.engine.global_reservations.push_back(std::move(r->first));
          out_.where.reservations.push_back(std::move(r->second));
        }
      }
    }
    const toml::array* subnets = table_array(root, "", "subnet");
    if (!find(root, "subnet"))
      error({0, 0, "subnet"}, "missing: at least one [[subnet]] is required");
    else if (subnets && subnets->empty())
      error(where_of(root.at("subnet"), "subnet"), "missing: at least one [[subnet]] is required");
    if (subnets) {
      for (std::size_t i = 0; i < subnets->size(); ++i) {
        if (!(*subnets)[i].is_table()) continue;
        SubnetOut s = read_subnet((*subnets)[i], i);
        c.engine.subnets.push_back(std::move(s.config));
        out_.where.subnets.push_back(std::move(s.where));
      }
    }
    if (const toml::array* nets = table_array(root, "", "shared_network")) {
      for (std::size_t i = 0; i < nets->size(); ++i)
        if ((*nets)[i].is_table()) read_shared_network((*nets)[i], i);
    }
  }

 private:
  // ---- sections ----------------------------------------------------------------

  void read_server(const Value& t) {
    check_keys(t, "server", {"address"});
    if (!find(t, "address")) {
      missing(t, "server", "address");
      return;
    }
    out_.where.server_address = where_of(t.at("address"), "server.address");
    if (const auto ip = ipv4(t, "server", "address")) {
      if (*ip == 0 || *ip == 0xffffffffu) {
        error(out_.where.server_address, "must be a unicast address");
        return;
      }
      out_.config.server.address = *ip;
      out_.config.engine.server_address = *ip;
      out_.where.server_ok = true;
    }
  }

  void read_dpdk(const Value& t) {
    const std::string p = "dpdk";
    check_keys(t, p, {"eal_args", "workers", "idle_sleep_us", "ports", "mbufs", "rx_desc",
                      "tx_desc", "burst", "max_leases"});
    DpdkSection& d = out_.config.dpdk;
    if (const Value* v = find(t, "eal_args")) {
      if (!v->is_array()) {
        type_error(*v, "dpdk.eal_args", "an array of strings");
      } else {
        const toml::array& a = v->as_array();
        for (std::size_t i = 0; i < a.size(); ++i) {
          if (a[i].is_string())
            d.eal_args.push_back(a[i].as_string().str);
          else
            type_error(a[i], indexed("dpdk.eal_args", i), "a string");
        }
      }
    }
    if (auto x = integer(t, p, "workers", 1, kMaxWorkers)) d.workers = static_cast<unsigned>(*x);
    if (auto x = integer(t, p, "idle_sleep_us", 0, 1000000)) d.idle_sleep_us = static_cast<unsigned>(*x);
    if (auto x = integer(t, p, "mbufs", 1, kU32Max)) d.mbufs = static_cast<unsigned>(*x);
    if (auto x = integer(t, p, "rx_desc", 1, 65535)) d.rx_desc = static_cast<unsigned>(*x);
    if (auto x = integer(t, p, "tx_desc", 1, 65535)) d.tx_desc = static_cast<unsigned>(*x);
    if (auto x = integer(t, p, "burst", 1, 512)) d.burst = static_cast<unsigned>(*x);
    if (auto x = integer(t, p, "max_leases", 1024, 1u << 30)) d.max_leases = static_cast<std::uint32_t>(*x);
    if (const Value* v = find(t, "ports")) {
      if (!v->is_array()) {
        type_error(*v, "dpdk.ports", "an array of port ids");
      } else {
        const toml::array& a = v->as_array();
        for (std::size_t i = 0; i < a.size(); ++i) {
          const std::string k = indexed("dpdk.ports", i);
          const auto port = integer_value(a[i], k, 0, 65535);
          if (!port) continue;
          const auto id = static_cast<std::uint16_t>(*port);
          if (std::find(d.ports.begin(), d.ports.end(), id) != d.ports.end())
            error(where_of(a[i], k), "port " + std::to_string(id) + " listed twice");
          else
            d.ports.push_back(id);
        }
      }
    }
  }

  void read_store(const Value& t) {
    check_keys(t, "store", {"dir", "durability", "commit_interval_us", "commit_records",
                            "segment_mb", "snapshot_records", "snapshot_on_exit"});
    StoreSection& st = out_.config.store;
    if (auto s = string(t, "store", "dir")) {
      if (s->empty())
        error(where_of(t.at("dir"), "store.dir"), "must not be empty");
      else
        out_.config.store.dir = *s;
    }
    if (auto s = string(t, "store", "durability")) {
      if (*s == "fsync")
        out_.config.store.durability = Durability::fsync;
      else if (*s == "async")
        out_.config.store.durability = Durability::async;
      else if (*s == "off")
        out_.config.store.durability = Durability::off;
      else
        error(where_of(t.at("durability"), "store.durability"),
              "must be \"fsync\", \"async\" or \"off\" (got \"" + *s + "\")");
    }
    const std::string p = "store";
    if (auto x = integer(t, p, "commit_interval_us", 1, 1000000))
      st.commit_interval_us = static_cast<unsigned>(*x);
    if (auto x = integer(t, p, "commit_records", 1, 1 << 20)) st.commit_records = static_cast<unsigned>(*x);
    if (auto x = integer(t, p, "segment_mb", 1, 4096)) st.segment_mb = static_cast<unsigned>(*x);
    if (auto x = integer(t, p, "snapshot_records", 1000, std::int64_t{1} << 40))
      st.snapshot_records = static_cast<std::uint64_t>(*x);
    if (auto b = boolean(t, p, "snapshot_on_exit")) st.snapshot_on_exit = *b;
  }

  void read_control(const Value& t) {
    check_keys(t, "control", {"socket", "metrics", "pool_warn_percent"});
    read_metrics(t);
    if (auto x = integer(t, "control", "pool_warn_percent", 0, 100))
      out_.config.control.pool_warn_percent = static_cast<unsigned>(*x);
    if (auto s = string(t, "control", "socket")) {
      const Where w = where_of(t.at("socket"), "control.socket");
      if (s->empty())
        error(w, "must not be empty");
      else if (s->size() > kMaxSocketPath)
        error(w, "longer than " + std::to_string(kMaxSocketPath) +
                     " bytes (the limit of a unix socket path)");
      else
        out_.config.control.socket = *s;
    }
  }

  // [control] metrics = "a.b.c.d:port" | "" | "off"
  void read_metrics(const Value& t) {
    const auto s = string(t, "control", "metrics");
    if (!s) return;
    ControlSection& c = out_.config.control;
    if (s->empty() || *s == "off") {
      c.metrics_enabled = false;
      return;
    }
    const Where w = where_of(t.at("metrics"), "control.metrics");
    const std::size_t colon = s->rfind(':');
    std::optional<engine::Ipv4> ip;
    if (colon != std::string::npos) ip = wire::parse_ipv4(s->substr(0, colon));
    const std::string port = colon == std::string::npos ? std::string() : s->substr(colon + 1);
    const bool port_ok = !port.empty() && port.size() <= 5 &&
                         port.find_first_not_of("0123456789") == std::string::npos &&
                         std::stoul(port) >= 1 && std::stoul(port) <= 65535;
    if (!ip || !port_ok) {
      error(w, "must be \"ADDRESS:PORT\" with an IPv4 address and a port 1..65535, "
               "or \"\" / \"off\" (got \"" + *s + "\")");
      return;
    }
    c.metrics_enabled = true;
    c.metrics_address = *ip;
    c.metrics_port = static_cast<std::uint16_t>(std::stoul(port));
  }

  void read_lease(const Value& t) {
    check_keys(t, "lease", {"offer_hold", "decline_probation", "rapid_commit"});
    engine::EngineConfig& e = out_.config.engine;
    // RFC 4039 rapid commit, for the subnets that do not say.
    if (auto b = boolean(t, "lease", "rapid_commit")) e.rapid_commit = *b;
    if (auto x = integer(t, "lease", "offer_hold", 1, kU32Max)) e.offer_hold_s = static_cast<std::uint32_t>(*x);
    if (auto x = integer(t, "lease", "decline_probation", 1, kU32Max))
      e.decline_probation_s = static_cast<std::uint32_t>(*x);
  }

  // [split_scope]: this_server and at least two { name, share } entries.
  void read_split_scope(const Value& t) {
    const std::string p = "split_scope";
    check_keys(t, p, {"this_server", "servers"});
    SplitScopeSection& sc = out_.config.split_scope;
    bool ok = true;
    std::optional<std::string> me = string(t, p, "this_server");
    if (!find(t, "this_server")) {
      missing(t, p, "this_server");
      ok = false;
    } else if (!me) {
      ok = false;
    }
    const toml::array* servers = table_array(t, p, "servers");
    if (!find(t, "servers")) {
      missing(t, p, "servers");
      ok = false;
    } else if (!servers) {
      ok = false;
    } else {
      for (std::size_t i = 0; i < servers->size(); ++i) {
        const Value& e = (*servers)[i];
        if (!e.is_table()) {
          ok = false;
          continue;
        }
        const std::string k = join(p, indexed("servers", i));
        check_keys(e, k, {"name", "share"});
        SplitServer server;
        if (!find(e, "name")) {
          missing(e, k, "name");
          ok = false;
        } else if (auto n = string(e, k, "name")) {
          if (n->empty()) {
            error(where_of(e.at("name"), join(k, "name")), "must not be empty");
            ok = false;
          } else {
            const auto dup = std::find_if(sc.servers.begin(), sc.servers.end(),
                                          [&](const SplitServer& x) { return x.name == *n; });
            if (dup != sc.servers.end()) {
              error(where_of(e.at("name"), join(k, "name")),
                    "server \"" + *n + "\" is listed twice");
              ok = false;
            }
            server.name = *n;
          }
        } else {
          ok = false;
        }
        if (!find(e, "share")) {
          missing(e, k, "share");
          ok = false;
        } else if (auto x = integer(e, k, "share", 1, 1000000)) {
          server.share = static_cast<unsigned>(*x);
        } else {
          ok = false;
        }
        sc.servers.push_back(std::move(server));
      }
      if (servers->size() < 2) {
        error(where_of(t.at("servers"), join(p, "servers")),
              "needs at least 2 servers (got " + std::to_string(servers->size()) + ")");
        ok = false;
      }
    }
    if (me && find(t, "this_server")) {
      const bool known = std::any_of(sc.servers.begin(), sc.servers.end(),
                                     [&](const SplitServer& x) { return x.name == *me; });
      if (!known && servers) {
        std::string names;
        for (const SplitServer& x : sc.servers)
          if (!x.name.empty() && names.find(x.name) == std::string::npos)
            names += (names.empty() ? "" : ", ") + x.name;
        error(where_of(t.at("this_server"), join(p, "this_server")),
              "\"" + *me + "\" is not one of split_scope.servers (" + names + ")");
        ok = false;
      }
      sc.this_server = *me;
    }
    sc.enabled = ok;
  }

  // ---- [[option]] / [[subnet.option]] -----------------------------------------

 public:
  std::optional<OptionOut> read_option(const Value& t, const std::string& p) {
    check_keys(t, p, {"code", "ip", "string", "u8", "u16", "u32", "hex", "suboptions", "enterprise",
                      "always_send"});
    OptionOut o;
    o.where.table = where_of(t, p);
    bool ok = true;
    if (const Value* v = find(t, "code")) {
      o.where.code = where_of(*v, join(p, "code"));
      if (const auto code = integer_value(*v, o.where.code.key, 1, 254)) {
        if (engine::engine_owned_option(static_cast<std::uint8_t>(*code))) {
          error(o.where.code, "option " + std::to_string(*code) +
                                  " is written by the engine itself and cannot be configured"
                                  " (engine-owned: 1, 50-55, 57-59, 61, 82)");
          ok = false;
        } else {
          o.data.code = static_cast<std::uint8_t>(*code);
        }
      } else {
        ok = false;
      }
    } else {
      missing(t, p, "code");
      ok = false;
    }
    if (const auto always = boolean(t, p, "always_send")) o.data.always_send = *always;

    static constexpr std::string_view kinds[] = {"ip", "string", "u8", "u16", "u32", "hex", "suboptions"};
    std::vector<std::string_view> given;
    for (std::string_view k : kinds)
      if (find(t, k)) given.push_back(k);
    if (given.size() != 1) {
      std::string msg;
      if (given.empty()) {
        msg = "needs exactly one value: ip, string, u8, u16, u32, hex or suboptions";
      } else {
        msg = "has more than one value (";
        for (std::size_t i = 0; i < given.size(); ++i)
          msg += (i ? ", " : "") + std::string(given[i]);
        msg += "); give exactly one";
      }
      error(o.where.table, msg);
      return std::nullopt;
    }
    const std::string_view kind = given.front();
    const Value& v = t.at(std::string(kind));
    const std::string k = join(p, kind);
    std::optional<std::vector<std::uint8_t>> bytes = option_value(v, k, kind);
    if (!bytes) return std::nullopt;
    if (const Value* e = find(t, "enterprise")) {   // RFC 3925 (125): enterprise, length, data
      const std::string ek = join(p, "enterprise");
      const auto number = integer_value(*e, ek, 0, kU32Max);
      if (!number) return std::nullopt;
      if (bytes->size() > 255) {
        error(where_of(v, k), "the data of one enterprise is at most 255 bytes (got " +
                                  std::to_string(bytes->size()) + ")");
        return std::nullopt;
      }
      std::vector<std::uint8_t> with = engine::encode_u32(static_cast<std::uint32_t>(*number));
      with.push_back(static_cast<std::uint8_t>(bytes->size()));
      with.insert(with.end(), bytes->begin(), bytes->end());
      *bytes = std::move(with);
    }
    if (bytes->size() > engine::kMaxOptionValue) {
      error(where_of(v, k), "value is " + std::to_string(bytes->size()) + " bytes; at most " +
                                std::to_string(engine::kMaxOptionValue));
      return std::nullopt;
    }
    o.data.value = std::move(*bytes);
    if (!ok) return std::nullopt;
    return o;
  }

  // Calls one(element, key) for a scalar value, or for every element of a
  // non-empty array (key indexed). An empty array is an error: false.
  template <typename F>
  bool each_scalar(const Value& v, const std::string& k, F&& one) {
    if (!v.is_array()) {
      one(v, k);
      return true;
    }
    const toml::array& a = v.as_array();
    if (a.empty()) {
      error(where_of(v, k), "must not be empty");
      return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) one(a[i], indexed(k, i));
    return true;
  }

  std::optional<std::vector<std::uint8_t>> option_value(const Value& v, const std::string& k,
                                                        std::string_view kind) {
    if (kind == "suboptions") return suboptions(v, k);
    if (kind == "string") {
      if (!v.is_string()) {
        type_error(v, k, "a string");
        return std::nullopt;
      }
      const std::string& s = v.as_string().str;
      if (s.empty()) {
        error(where_of(v, k), "must not be empty");
        return std::nullopt;
      }
      return engine::encode_string(s);
    }
    if (kind == "hex") {
      if (!v.is_string()) {
        type_error(v, k, "a string of hex bytes \"01:02:ff\"");
        return std::nullopt;
      }
      auto bytes = parse_hex(v.as_string().str);
      if (!bytes)
        error(where_of(v, k), "\"" + v.as_string().str + "\" is not hex bytes like \"01:02:ff\" or \"0102ff\"");
      return bytes;
    }
    if (kind == "ip") {
      std::vector<Ipv4> ips;
      bool ok = true;
      auto one = [&](const Value& e, const std::string& key) {
        if (!e.is_string()) {
          type_error(e, key, "a string \"a.b.c.d\"");
          ok = false;
        } else if (const auto ip = wire::parse_ipv4(e.as_string().str)) {
          ips.push_back(*ip);
        } else {
          error(where_of(e, key), "\"" + e.as_string().str + "\" is not an IPv4 address a.b.c.d");
          ok = false;
        }
      };
      if (!each_scalar(v, k, one) || !ok) return std::nullopt;
      return engine::encode_ipv4_list(ips);
    }
    // u8 / u16 / u32: an integer or an array of integers, big-endian.
    const std::int64_t max = kind == "u8" ? 0xff : kind == "u16" ? 0xffff : kU32Max;
    std::vector<std::uint8_t> out;
    bool ok = true;
    auto one = [&](const Value& e, const std::string& key) {
      const auto x = integer_value(e, key, 0, max);
      if (!x) {
        ok = false;
        return;
      }
      std::vector<std::uint8_t> b = kind == "u8"    ? engine::encode_u8(static_cast<std::uint8_t>(*x))
                                    : kind == "u16" ? engine::encode_u16(static_cast<std::uint16_t>(*x))
                                                    : engine::encode_u32(static_cast<std::uint32_t>(*x));
      out.insert(out.end(), b.begin(), b.end());
    };
    if (!each_scalar(v, k, one) || !ok) return std::nullopt;
    return out;
  }

  // suboptions = [{ code = 1, string = "..." }, ...]: sub-options (code,
  // length, value) as option 43 (RFC 2132 8.4) and each enterprise of 125
  // (RFC 3925) carry them.
  std::optional<std::vector<std::uint8_t>> suboptions(const Value& v, const std::string& k) {
    if (!v.is_array() || v.as_array().empty()) {
      type_error(v, k, "a non-empty array of tables { code = N, <ip|string|u8|u16|u32|hex> = value }");
      return std::nullopt;
    }
    std::vector<std::uint8_t> out;
    bool ok = true;
    const toml::array& a = v.as_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string ik = indexed(k, i);
      if (!a[i].is_table()) {
        type_error(a[i], ik, "a table { code = N, <ip|string|u8|u16|u32|hex> = value }");
        ok = false;
        continue;
      }
      check_keys(a[i], ik, {"code", "ip", "string", "u8", "u16", "u32", "hex"});
      std::optional<std::int64_t> code;
      if (find(a[i], "code"))
        code = integer(a[i], ik, "code", 1, 254);
      else
        missing(a[i], ik, "code");
      std::vector<std::string_view> given;
      for (std::string_view kind : {"ip", "string", "u8", "u16", "u32", "hex"})
        if (find(a[i], kind)) given.push_back(kind);
      if (given.size() != 1) {
        error(where_of(a[i], ik), "needs exactly one value: ip, string, u8, u16, u32 or hex");
        ok = false;
        continue;
      }
      auto value = option_value(a[i].at(std::string(given[0])), join(ik, given[0]), given[0]);
      if (!code || !value) {
        ok = false;
        continue;
      }
      if (value->size() > 255) {
        error(where_of(a[i], ik), "a sub-option value is at most 255 bytes (got " + std::to_string(value->size()) + ")");
        ok = false;
        continue;
      }
      out.push_back(static_cast<std::uint8_t>(*code));
      out.push_back(static_cast<std::uint8_t>(value->size()));
      out.insert(out.end(), value->begin(), value->end());
    }
    if (!ok) return std::nullopt;
    return out;
  }

 private:
  // ---- [[subnet]] ----------------------------------------------------------------

  SubnetOut read_subnet(const Value& t, std::size_t index) {
    const std::string p = indexed("subnet", index);
    check_keys(t, p, {"id", "prefix", "pools", "exclude", "routers", "dns", "domain",
                      "lease_time", "min_lease_time", "max_lease_time", "t1_ratio", "t2_ratio",
                      "server_id", "relay", "reservation", "option", "qualifying_suffix", "bootp", "conflict",
                      "match_client_id", "vlan", "vlans", "pool", "rapid_commit", "interface_address",
                      "max_leases_per_circuit", "max_new_clients_per_second", "limit_by"});
    SubnetOut out;
    engine::SubnetConfig& s = out.config;
    SubnetWhere& w = out.where;
    w.table = where_of(t, p);
    auto where = [&](std::string_view key) {
      const Value* v = find(t, key);
      return v ? where_of(*v, join(p, key)) : Where{w.table.line, w.table.column, join(p, key)};
    };

    s.id = static_cast<std::uint32_t>(index + 1);
    w.id = where("id");
    if (auto x = integer(t, p, "id", 0, kU32Max)) s.id = static_cast<std::uint32_t>(*x);

    w.prefix = where("prefix");
    if (const Value* v = find(t, "prefix")) {
      if (!v->is_string()) {
        type_error(*v, w.prefix.key, "a string \"a.b.c.d/len\"");
      } else if (Parsed<Prefix> pr = parse_prefix(v->as_string().str); !pr.value) {
        error(w.prefix, pr.error);
      } else {
        s.prefix = pr.value->network;
        s.prefix_len = pr.value->length;
        w.prefix_ok = true;
      }
    } else {
      missing(t, p, "prefix");
    }

    for (auto& [r, rw] : range_list(t, p, "pools")) {
      s.pools.push_back(r);
      w.pools.push_back(std::move(rw));
    }
    for (auto& [r, rw] : range_list(t, p, "exclude")) {
      s.exclusions.push_back(r);
      w.exclude.push_back(std::move(rw));
    }
    w.routers_key = where("routers");
    for (auto& [ip, iw] : ipv4_list(t, p, "routers")) {
      s.routers.push_back(ip);
      w.routers.push_back(std::move(iw));
    }
    w.dns_key = where("dns");
    for (auto& [ip, iw] : ipv4_list(t, p, "dns")) s.dns_servers.push_back(ip);
    for (auto& [ip, iw] : ipv4_list(t, p, "relay")) {
      if (ip == 0 || ip == 0xffffffffu) {   // giaddr 0 means "not relayed"
        error(iw, "must be a unicast address");
        continue;
      }
      s.relays.push_back(ip);
      w.relays.push_back(std::move(iw));
    }
    w.domain = where("domain");
    if (auto d = string(t, p, "domain")) {
      if (std::string why = check_domain(*d); !why.empty())
        error(w.domain, why);
      else
        s.domain_name = *d;
    }
    if (find(t, "server_id")) {
      w.server_id = where("server_id");
      if (auto ip = ipv4(t, p, "server_id")) s.server_id = *ip;
    }
    // The server's address on this directly attached segment (check.cpp).
    if (find(t, "interface_address")) {
      w.interface_address = where("interface_address");
      if (auto ip = ipv4(t, p, "interface_address")) s.interface_address = *ip;
    }
    // BOOTP clients without a reservation get pool addresses, for ever
    // (engine/bootp.cpp).
    if (auto b = boolean(t, p, "bootp")) s.bootp = *b;
    // Kea's match-client-id: false keys this subnet's leases by MAC alone.
    if (auto b = boolean(t, p, "match_client_id")) s.match_client_id = *b;
    // RFC 4039: DISCOVER with option 80 -> ACK; unset: [lease] rapid_commit.
    if (auto b = boolean(t, p, "rapid_commit")) s.rapid_commit = *b;
    read_vlans(t, p, s);
    read_subnet_limits(out_, lines_, file_, t, p, s.limits);   // limits.cpp
    // Dynamic DNS: this subnet's suffix for partial names; "" (as absent):
    // [ddns] qualifying_suffix. Without [ddns] it would do nothing: refused.
    if (auto q = string(t, p, "qualifying_suffix")) {
      const Where qw = where("qualifying_suffix");
      if (!ddns_present_)
        error(qw, "needs [ddns]: without it dorado updates no DNS (add [ddns] or remove this key)");
      else if (q->empty())
        s.qualifying_suffix.clear();
      else if (std::string why = check_host_domain(*q); !why.empty())
        error(qw, "\"" + *q + "\" is not a DNS name: " + why);
      else
        s.qualifying_suffix = canonical_domain(*q);
    }

    if (const Value* v = find(t, "conflict"))   // [subnet.conflict] (conflict.cpp)
      read_subnet_conflict(out_, lines_, file_, *v, join(p, "conflict"), s.probe);
    w.lease_time = where("lease_time");
    w.min_lease_time = where("min_lease_time");
    w.max_lease_time = where("max_lease_time");
    w.lease_time_given = find(t, "lease_time") != nullptr;
    w.min_given = find(t, "min_lease_time") != nullptr;
    w.max_given = find(t, "max_lease_time") != nullptr;
    if (auto x = integer(t, p, "lease_time", 1, kU32Max)) s.lease_time = static_cast<std::uint32_t>(*x);
    // Unset bounds follow lease_time when it lies beyond the usual defaults.
    if (!w.min_given) s.min_lease_time = std::min(s.min_lease_time, s.lease_time);
    if (!w.max_given) s.max_lease_time = std::max(s.max_lease_time, s.lease_time);
    if (auto x = integer(t, p, "min_lease_time", 1, kU32Max)) s.min_lease_time = static_cast<std::uint32_t>(*x);
    if (auto x = integer(t, p, "max_lease_time", 1, kU32Max)) s.max_lease_time = static_cast<std::uint32_t>(*x);
    w.t1_ratio = where("t1_ratio");
    w.t2_ratio = where("t2_ratio");
    w.t1_given = find(t, "t1_ratio") != nullptr;
    w.t2_given = find(t, "t2_ratio") != nullptr;
    if (auto x = number(t, p, "t1_ratio")) s.t1_ratio = *x;
    if (auto x = number(t, p, "t2_ratio")) s.t2_ratio = *x;

    read_pool_tables(out_, lines_, file_, t, p, s);   // classes.cpp: [[subnet.pool]]
    if (const toml::array* rs = table_array(t, p, "reservation")) {
      for (std::size_t i = 0; i < rs->size(); ++i) {
        if (!(*rs)[i].is_table()) continue;
        if (auto r = read_reservation((*rs)[i], join(p, indexed("reservation", i)))) {
          s.reservations.push_back(std::move(r->first));
          w.reservations.push_back(std::move(r->second));
        }
      }
    }
    if (const toml::array* os = table_array(t, p, "option")) {
      for (std::size_t i = 0; i < os->size(); ++i) {
        if (!(*os)[i].is_table()) continue;
        if (auto o = read_option((*os)[i], join(p, indexed("option", i)))) {
          s.options.push_back(std::move(o->data));
          w.options.push_back(std::move(o->where));
        }
      }
    }
    return out;
  }

  // `vlan = 100` and `vlans = [[outer, inner], ...]` (engine/select.cpp):
  // each tag set names one subnet in the whole file.
  void read_vlans(const Value& t, const std::string& p, engine::SubnetConfig& s) {
    auto claim = [&](std::uint32_t key, const Where& w, const std::string& text) {
      const auto [it, fresh] = vlan_where_.emplace(key, w);
      if (!fresh) {
        error(w, text + " is already named by " + it->second.key + " " + at(it->second));
        return false;
      }
      return true;
    };
    if (const Value* v = find(t, "vlan")) {
      const Where w = where_of(*v, join(p, "vlan"));
      if (auto x = integer(t, p, "vlan", 1, 4094))
        if (claim(engine::vlan_key(1, static_cast<std::uint32_t>(*x), 0), w, std::string("vlan ").append(std::to_string(*x))))
          s.vlans.push_back(static_cast<std::uint16_t>(*x));
    }
    const Value* v = find(t, "vlans");
    if (!v) return;
    const std::string k = join(p, "vlans");
    if (!v->is_array()) {
      type_error(*v, k, "an array of [outer, inner] VLAN id pairs");
      return;
    }
    const toml::array& a = v->as_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string ki = indexed(k, i);
      const Where w = where_of(a[i], ki);
      if (!a[i].is_array() || a[i].as_array().size() != 2) {
        error(w, "must be a pair [outer, inner] of VLAN ids 1..4094 (one tag: `vlan = N`)");
        continue;
      }
      const auto outer = integer_value(a[i].as_array()[0], ki + "[0]", 1, 4094);
      const auto inner = integer_value(a[i].as_array()[1], ki + "[1]", 1, 4094);
      if (!outer || !inner) continue;
      if (claim(engine::vlan_key(2, static_cast<std::uint32_t>(*outer), static_cast<std::uint32_t>(*inner)), w,
                std::string("vlans [").append(std::to_string(*outer)).append(", ").append(std::to_string(*inner)).append("]")))
        s.qinq.emplace_back(static_cast<std::uint16_t>(*outer), static_cast<std::uint16_t>(*inner));
    }
  }

  // [[shared_network]] (engine/select.cpp): a name, the subnets by their
  // `prefix` text, its own options. Read after every [[subnet]].
  void read_shared_network(const Value& t, std::size_t index) {
    const std::string p = indexed("shared_network", index);
    check_keys(t, p, {"name", "subnets", "option"});
    engine::SharedNetworkConfig net;
    const Where table = where_of(t, p);
    if (auto n = string(t, p, "name")) {
      const Where nw = where_of(t.at("name"), join(p, "name"));
      if (n->empty()) {
        error(nw, "must not be empty");
      } else {
        for (std::size_t k = 0; k < out_.config.engine.shared_networks.size(); ++k)
          if (out_.config.engine.shared_networks[k].name == *n)
            error(nw, "\"" + *n + "\" is already the name of " + network_where_[k].key + " " + at(network_where_[k]));
        net.name = *n;
      }
    } else if (!find(t, "name")) {
      missing(t, p, "name");
    }
    if (!find(t, "subnets")) missing(t, p, "subnets");
    each_string(t, p, "subnets", [&](const std::string& text, const Where& w) {
      Parsed<Prefix> pr = parse_prefix(text);
      if (!pr.value) {
        error(w, pr.error);
        return;
      }
      const auto& subnets = out_.config.engine.subnets;
      for (std::uint32_t s = 0; s < subnets.size(); ++s) {
        if (!out_.where.subnets[s].prefix_ok || subnets[s].prefix != pr.value->network ||
            subnets[s].prefix_len != pr.value->length)
          continue;
        for (std::size_t k = 0; k < out_.config.engine.shared_networks.size(); ++k)
          for (std::uint32_t other : out_.config.engine.shared_networks[k].subnets)
            if (other == s) {
              error(w, text + " is already in " + network_where_[k].key + " " + at(network_where_[k]) +
                           ": a subnet is on one link");
              return;
            }
        if (std::find(net.subnets.begin(), net.subnets.end(), s) != net.subnets.end()) {
          error(w, text + " is listed twice");
          return;
        }
        net.subnets.push_back(s);
        return;
      }
      error(w, text + " is not the prefix of any [[subnet]]");
    });
    if (const toml::array* os = table_array(t, p, "option")) {
      for (std::size_t i = 0; i < os->size(); ++i) {
        if (!(*os)[i].is_table()) continue;
        if (auto o = read_option((*os)[i], join(p, indexed("option", i)))) net.options.push_back(std::move(o->data));
      }
    }
    out_.config.engine.shared_networks.push_back(std::move(net));
    network_where_.push_back(table);
  }

  // [[subnet.reservation]] and global [[reservation]] (engine/reservations.hpp;
  // docs/configuration.md "Reservations"). `global`: address optional and
  // checked against every subnet by check.cpp.
  std::optional<std::pair<engine::Reservation, ReservationWhere>> read_reservation(
      const Value& t, const std::string& p) {
    check_keys(t, p, {"mac", "client_id", "circuit_id", "remote_id", "address", "hostname", "option", "classes"});
    engine::Reservation r;
    ReservationWhere w;
    w.table = where_of(t, p);
    bool ok = true;
    if (const Value* v = find(t, "address")) {
      w.address = where_of(*v, join(p, "address"));
      if (auto ip = ipv4(t, p, "address"))
        r.address = *ip;
      else
        ok = false;
      if (ok && (r.address == 0 || r.address == 0xffffffffu)) {
        error(w.address, "must be a unicast address");
        ok = false;
      }
    }
    const Value* mac = find(t, "mac");
    const Value* cid = find(t, "client_id");
    if (mac) {
      w.mac = where_of(*mac, join(p, "mac"));
      if (auto s = string(t, p, "mac")) {
        r.mac = wire::parse_mac(*s);
        if (!r.mac) {
          error(w.mac, "\"" + *s + "\" is not a MAC address like \"02:00:00:00:00:01\"");
          ok = false;
        }
      } else {
        ok = false;
      }
    }
    if (cid) {
      w.client_id = where_of(*cid, join(p, "client_id"));
      if (auto s = string(t, p, "client_id")) {
        auto bytes = parse_hex(*s);
        if (!bytes || bytes->empty()) {
          error(w.client_id, "\"" + *s + "\" is not hex bytes like \"01:02:00:00:00:00:01\"");
          ok = false;
        } else if (bytes->size() > kMaxClientId) {
          error(w.client_id, "longer than " + std::to_string(kMaxClientId) + " bytes");
          ok = false;
        } else {
          r.client_id = std::move(*bytes);
        }
      } else {
        ok = false;
      }
    }
    // Option 82 sub-options: text, or hex bytes after "0x".
    auto relay_id = [&](std::string_view key, Where& kw, std::vector<std::uint8_t>& out) {
      const Value* v = find(t, key);
      if (!v) return false;
      kw = where_of(*v, join(p, key));
      auto s = string(t, p, key);
      if (!s) {
        ok = false;
        return true;
      }
      if (s->size() >= 2 && (*s)[0] == '0' && ((*s)[1] == 'x' || (*s)[1] == 'X')) {
        auto bytes = parse_hex(std::string_view(*s).substr(2));
        if (!bytes || bytes->empty()) {
          error(kw, "\"" + *s + "\" is not hex bytes after 0x (like \"0x0001\" or \"0x00:01\")");
          ok = false;
          return true;
        }
        out = std::move(*bytes);
      } else {
        out.assign(s->begin(), s->end());
      }
      if (out.empty() || out.size() > engine::kMaxRelayIdLen) {
        error(kw, "must be 1 to 255 bytes");
        ok = false;
      }
      return true;
    };
    const bool circuit = relay_id("circuit_id", w.circuit_id, r.circuit_id);
    const bool remote = relay_id("remote_id", w.remote_id, r.remote_id);
    if (!mac && !cid && !circuit && !remote) {
      error(w.table, "needs mac, client_id, circuit_id or remote_id (or circuit_id and remote_id) to say whose "
                     "reservation it is");
      ok = false;
    } else if ((mac || cid) && (circuit || remote)) {
      error(circuit ? w.circuit_id : w.remote_id,
            "a reservation is matched by one kind of key: mac and/or client_id (the client), or circuit_id "
            "and/or remote_id (the relay's line); not both (" +
                w.table.key + " at " + place(file_, (mac ? w.mac : w.client_id).line) + ")");
      ok = false;
    }
    if (const Value* v = find(t, "hostname")) {
      w.hostname = where_of(*v, join(p, "hostname"));
      if (auto s = string(t, p, "hostname")) {
        if (std::string why = s->size() > engine::kMaxHostnameLen ? "longer than 63 bytes" : check_host_domain(*s);
            !why.empty()) {
          error(w.hostname, "\"" + *s + "\" is not a host name: " + why);
          ok = false;
        } else {
          r.hostname = *s;
        }
      }
    }
    each_string(t, p, "classes", [&](const std::string& name, const Where& cw) {
      if (name.empty()) {
        error(cw, "a class name must not be empty");
        ok = false;
        return;
      }
      const std::vector<engine::ClassConfig>& defined = out_.config.engine.classes;   // read first (classes.cpp)
      if (std::none_of(defined.begin(), defined.end(), [&](const engine::ClassConfig& k) { return k.name == name; })) {
        error(cw, "class \"" + name + "\" is not defined (no [[class]] with name = \"" + name + "\")");
        ok = false;
        return;
      }
      r.classes.push_back(name);
      w.classes.push_back(cw);
    });
    if (const toml::array* os = table_array(t, p, "option")) {
      for (std::size_t i = 0; i < os->size(); ++i) {
        if (!(*os)[i].is_table()) continue;
        if (auto o = read_option((*os)[i], join(p, indexed("option", i)))) {
          for (std::size_t k = 0; k < r.options.size(); ++k)
            if (r.options[k].code == o->data.code) {
              error(o->where.code, "option " + std::to_string(o->data.code) + " given twice in this reservation (" +
                                       place(file_, w.options[k].code.line) + ")");
              ok = false;
            }
          r.options.push_back(std::move(o->data));
          w.options.push_back(std::move(o->where));
        }
      }
    }
    if (!ok) return std::nullopt;
    return std::pair{std::move(r), std::move(w)};
  }

  bool ddns_present_ = false;   // the file has a `ddns` table
  std::vector<Where> network_where_;   // per [[shared_network]] read
  std::map<std::uint32_t, Where> vlan_where_;   // engine::vlan_key -> where it was named
};

// Offset of the first byte that does not start a well-formed UTF-8 sequence
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or
// npos. TOML files must be UTF-8, and toml11 3.7's own check crashes on a
// literal string that is not: its error path rewinds a location over the
// string's copy to an iterator into the file, then counts newlines between
// the two (an out-of-bounds read found by config_fuzz). Checking the whole
// text first means toml11 never takes that path.
std::size_t first_bad_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;   // range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;        // overlong
      if (b == 0xED) hi = 0x9F;        // surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;        // overlong
      if (b == 0xF4) hi = 0x8F;        // above U+10FFFF
    } else {
      return i;
    }
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<engine::OptionData> read_option_table(Loaded& out, const LineIndex& lines, const std::string& file,
                                                    const Value& t, const std::string& prefix) {
  auto o = Reader(out, lines, file).read_option(t, prefix);
  if (!o) return std::nullopt;
  return std::move(o->data);
}

Loaded read_toml(std::string_view text, const std::string& name) {
  Loaded out;
  if (const std::size_t bad = first_bad_utf8(text); bad != std::string_view::npos) {
    const std::string_view before = text.substr(0, bad);
    const std::size_t newline = before.rfind('\n');
    const std::size_t column = newline == std::string_view::npos ? bad + 1 : bad - newline;
    const auto line = 1 + std::count(before.begin(), before.end(), '\n');
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    out.diags.push_back(Diag{static_cast<unsigned>(line), static_cast<unsigned>(column), "",
                             std::string("the file is not valid UTF-8 (byte ") + byte +
                                 " does not start a well-formed character); TOML files must be UTF-8"});
    return out;
  }
  Value root;
  try {
    std::istringstream in{std::string(text)};
    root = toml::parse(in, name);
  } catch (const toml::exception& e) {
    const toml::source_location l = e.location();
    out.diags.push_back(Diag{static_cast<unsigned>(l.line()), static_cast<unsigned>(l.column()), "",
                             syntax_message(e.what())});
    return out;
  }
  out.parsed = true;
  const LineIndex lines(text);
  Reader(out, lines, name).run(root);
  return out;
}

}  // namespace dorado::config::detail
