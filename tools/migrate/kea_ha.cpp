// Kea's hook libraries: libdhcp_ha.so's High Availability -> dorado's [ha]
// (docs/ha.md); libdhcp_lease_cmds.so is built into dorado's control API;
// every other library has no equivalent and is listed.
#include <algorithm>
#include <cctype>

#include "migrate/converter.hpp"
#include "migrate/ipv4.hpp"

namespace dorado::migrate {
namespace {

// Kea's HA defaults (Kea ARM, "High Availability": heartbeat-delay,
// max-response-delay, max-ack-delay, max-unacked-clients).
constexpr std::uint32_t kKeaHeartbeat = 10000, kKeaMaxResponse = 60000, kKeaMaxAck = 10000, kKeaMaxUnacked = 10;

std::string basename(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string hook_reason(const std::string& lib) {
  struct Known {
    const char* name;
    const char* why;
  };
  static constexpr Known known[] = {
      {"libdhcp_stat_cmds.so", "dorado's control API has statistic-get and statistic-get-all built in; the "
                               "stat-lease4-get command has no equivalent"},
      {"libdhcp_host_cmds.so", "dorado's reservations live in its config file (no reservation-* commands)"},
      {"libdhcp_subnet_cmds.so", "dorado changes subnets by config-reload of its file (no subnet4-* commands)"},
      {"libdhcp_class_cmds.so", "dorado has no client classes"},
      {"libdhcp_radius.so", "dorado has no RADIUS"},
      {"libdhcp_flex_id.so", "dorado reserves addresses by MAC or client-id only"},
      {"libdhcp_legal_log.so", "dorado writes no forensic log (its lease journal has every change)"},
      {"libdhcp_lease_query.so", "not converted: list the requesters in [leasequery] allowed (dorado answers RFC 4388 leasequery; not bulk leasequery)"},
      {"libdhcp_mysql_cb.so", "dorado reads its config from its file only (no config backend)"},
      {"libdhcp_pgsql_cb.so", "dorado reads its config from its file only (no config backend)"},
      {"libdhcp_run_script.so", "dorado runs no scripts on lease events"},
      {"libdhcp_flex_option.so", "dorado has no option expressions"},
      {"libdhcp_bootp.so", "dorado has no BOOTP settings"},
  };
  for (const Known& k : known)
    if (lib == k.name) return k.why;
  return "dorado has no hook libraries";
}

struct Url {
  std::uint32_t ip = 0;
  std::uint16_t port = 0;
  bool tls = false;
};

// "http://192.0.2.1:8000/" -> 192.0.2.1, 8000. IPv4 literals only.
std::optional<Url> parse_url(const std::string& s, std::string& why) {
  Url u;
  std::string rest;
  if (s.rfind("http://", 0) == 0) {
    rest = s.substr(7);
  } else if (s.rfind("https://", 0) == 0) {
    rest = s.substr(8);
    u.tls = true;
  } else {
    why = "url " + s + " is not http:// or https://";
    return std::nullopt;
  }
  rest = rest.substr(0, rest.find('/'));
  const std::size_t colon = rest.find(':');
  const auto ip = parse_ipv4(rest.substr(0, colon));
  if (!ip || *ip == 0 || *ip == 0xffffffffu || (*ip >> 28) == 0xe) {
    why = "url " + s + ": dorado's HA peers are unicast IPv4 addresses (no host names)";
    return std::nullopt;
  }
  u.ip = *ip;
  u.port = u.tls ? 443 : 80;
  if (colon != std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) < 1 || std::stoul(port) > 65535) {
      why = "url " + s + ": the port is not 1..65535";
      return std::nullopt;
    }
    u.port = static_cast<std::uint16_t>(std::stoul(port));
  }
  return u;
}

bool dorado_peer_name(const std::string& n) {
  return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '.' || c == '_' || c == '-';
         });
}

const Json* member(const Json& o, const char* k) {
  if (!o.is_object()) return nullptr;
  const auto it = o.find(k);
  return it == o.end() ? nullptr : &*it;
}

}  // namespace

void Converter::read_hooks(const Json& list, const std::string& p) {
  if (!list.is_array()) {
    t_.skip(p, "", "expected a list of hook libraries");
    return;
  }
  t_.use(p);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Json& e = list[i];
    const std::string ep = at_index(p, i);
    const Json* lib = member(e, "library");
    if (lib == nullptr || !lib->is_string()) {
      t_.skip(ep, "", "expected {\"library\": PATH, \"parameters\": {...}}");
      continue;
    }
    const std::string base = basename(lib->get<std::string>());
    if (base == "libdhcp_ha.so") {
      read_ha(e, ep);
    } else if (base == "libdhcp_lease_cmds.so") {
      // dorado's control API has the lease4-* commands built in (docs/control-api.md).
      t_.use_all(ep);
    } else {
      t_.skip(ep, "library " + base, hook_reason(base));
    }
  }
}

void Converter::read_ha(const Json& e, const std::string& ep) {
  const std::string detail = "library libdhcp_ha.so";
  const Json* params = member(e, "parameters");
  const Json* list = params ? member(*params, "high-availability") : nullptr;
  const std::string lp = at_key(at_key(ep, "parameters"), "high-availability");
  auto fail = [&](const std::string& why) { t_.skip(ep, detail, "High Availability not converted: " + why); };
  if (list == nullptr || !list->is_array() || list->empty() || !(*list)[0].is_object()) {
    fail("no parameters.high-availability relationship");
    return;
  }
  const Json& r = (*list)[0];
  const std::string rp = at_index(lp, 0);

  // Check everything first: [ha] goes in whole or not at all.
  const Json* me = member(r, "this-server-name");
  const Json* mode = member(r, "mode");
  const Json* peers = member(r, "peers");
  if (!me || !me->is_string()) return fail("no this-server-name");
  if (!mode || !mode->is_string()) return fail("no mode");
  const std::string m = mode->get<std::string>();
  if (m == "passive-backup") return fail("mode passive-backup: dorado pairs have no backup servers");
  if (m != "hot-standby" && m != "load-balancing") return fail("mode " + m + " is not hot-standby or load-balancing");
  if (!peers || !peers->is_array()) return fail("no peers");
  struct PeerIn {
    std::size_t index;
    std::string name, role;
    Url url;
  };
  std::vector<PeerIn> pair;
  for (std::size_t i = 0; i < peers->size(); ++i) {
    const Json& peer = (*peers)[i];
    const Json* name = member(peer, "name");
    const Json* url = member(peer, "url");
    const Json* role = member(peer, "role");
    if (!name || !name->is_string() || !url || !url->is_string() || !role || !role->is_string())
      return fail("peers[" + std::to_string(i) + "] needs name, url and role");
    if (role->get<std::string>() == "backup") {
      if (name->get<std::string>() == me->get<std::string>()) return fail("this server is a backup server");
      continue;
    }
    std::string why;
    const auto u = parse_url(url->get<std::string>(), why);
    if (!u) return fail(why);
    if (!dorado_peer_name(name->get<std::string>()))
      return fail("peer name " + name->get<std::string>() + ": dorado's peer names are 1..64 letters, digits, . _ -");
    pair.push_back(PeerIn{i, name->get<std::string>(), role->get<std::string>(), *u});
  }
  if (pair.size() != 2)
    return fail("dorado pairs exactly two servers (" + std::to_string(pair.size()) + " primary/secondary/standby peers)");
  const auto self = std::find_if(pair.begin(), pair.end(), [&](const PeerIn& x) { return x.name == me->get<std::string>(); });
  if (self == pair.end()) return fail("this-server-name " + me->get<std::string>() + " is not one of the peers");
  std::vector<std::string> roles{pair[0].role, pair[1].role};
  std::sort(roles.begin(), roles.end());
  const std::vector<std::string> want = m == "hot-standby" ? std::vector<std::string>{"primary", "standby"}
                                                           : std::vector<std::string>{"primary", "secondary"};
  if (roles != want) return fail("mode " + m + " takes one " + want[0] + " and one " + want[1]);
  if (pair[0].url.ip == pair[1].url.ip && pair[0].url.port == pair[1].url.port)
    return fail("both peers have the same address and port");
  auto timer = [&](const char* k, std::uint32_t def, std::uint64_t lo, std::uint64_t hi,
                   std::optional<Sourced<std::uint32_t>>& out) -> std::string {
    const Json* v = member(r, k);
    if (!v) {
      out = Sourced<std::uint32_t>{def, std::string("Kea's default ") + k};
      return {};
    }
    const auto x = json_uint(*v, 0xffffffffu);
    if (!x || *x < lo || *x > hi)
      return std::string(k) + " must be " + std::to_string(lo) + ".." + std::to_string(hi) + " for dorado";
    out = Sourced<std::uint32_t>{static_cast<std::uint32_t>(*x), at_key(rp, k)};
    return {};
  };
  std::optional<Sourced<std::uint32_t>> heartbeat, response, ack, unacked;
  for (const std::string& why : {timer("heartbeat-delay", kKeaHeartbeat, 100, 60000, heartbeat),
                                 timer("max-response-delay", kKeaMaxResponse, 200, 3600000, response),
                                 timer("max-ack-delay", kKeaMaxAck, 0, 3600000, ack),
                                 timer("max-unacked-clients", kKeaMaxUnacked, 0, 1000000, unacked)})
    if (!why.empty()) return fail(why);
  if (heartbeat->value >= response->value) return fail("heartbeat-delay must be below max-response-delay");
  // TLS: the relationship's files, this server's peer entry overriding them.
  const Json& self_json = (*peers)[self->index];
  const std::string self_path = at_index(at_key(rp, "peers"), self->index);
  auto tls_file = [&](const char* k, Sourced<std::string>& out) {
    if (const Json* v = member(self_json, k); v && v->is_string()) {
      out = Sourced<std::string>{v->get<std::string>(), at_key(self_path, k)};
    } else if (const Json* g = member(r, k); g && g->is_string()) {
      out = Sourced<std::string>{g->get<std::string>(), at_key(rp, k)};
    }
  };
  TomlHa ha;
  tls_file("trust-anchor", ha.ca);
  tls_file("cert-file", ha.cert);
  tls_file("key-file", ha.key);
  const int files = !ha.ca.value.empty() + !ha.cert.value.empty() + !ha.key.value.empty();
  const bool tls = pair[0].url.tls || pair[1].url.tls || files > 0;
  if (tls && files != 3)
    return fail("TLS needs trust-anchor, cert-file and key-file (dorado's link is mutual TLS: ca, cert, key)");

  // Convert.
  t_.use(ep);
  t_.use(at_key(ep, "library"));
  t_.use(at_key(ep, "parameters"));
  t_.use(lp);
  t_.use(rp);
  for (std::size_t i = 1; i < list->size(); ++i)
    t_.skip(at_index(lp, i), "", "dorado pairs one partner: the first relationship is converted");
  ha.from = ep + " (libdhcp_ha.so)";
  ha.this_server = Sourced<std::string>{me->get<std::string>(), at_key(rp, "this-server-name")};
  ha.mode = Sourced<std::string>{m, at_key(rp, "mode")};
  ha.ack = Sourced<std::string>{"partner", "Kea's HA answers a client once its partner has the lease"};
  ha.heartbeat_ms = *heartbeat;
  ha.max_response_delay_ms = *response;
  ha.max_ack_delay_ms = *ack;
  ha.max_unacked_clients = *unacked;
  if (!tls) {
    ha.insecure = true;
    ha.insecure_from = "the peers' URLs are plain http://";
    t_.note(rp, "the HA link is plain TCP (insecure = true) as Kea's was plain HTTP; dorado's link can be mutual "
                "TLS: give ca, cert and key instead (docs/ha.md)");
  }
  t_.note(ep, "dorado's HA is not Kea's on the wire (its own protocol on the peers' address and port, no Control "
              "Agent or HTTP) and in partner-down (each server allocates from its half of every pool; the "
              "survivor takes the partner's free addresses after mclt, 3600 s): docs/ha.md");
  for (const PeerIn& x : pair) {
    const std::string address = format_ipv4(x.url.ip) + ":" + std::to_string(x.url.port);
    const std::string pp = at_index(at_key(rp, "peers"), x.index);
    ha.peers.push_back(TomlHaPeer{x.name, address, x.role, pp});
    t_.note(at_key(pp, "url"), "[[ha.peer]] address = \"" + address + "\": the same IP and port, now dorado's HA "
                               "link (its own protocol over TCP" + std::string(tls ? " and TLS" : "") +
                               "), no longer Kea's HTTP listener: stop Kea (and its Control Agent) there first, and "
                               "let the partner reach that port");
  }
  for (const auto& [k, v] : r.items()) {
    const std::string kp = at_key(rp, k);
    if (k == "this-server-name" || k == "mode" || k == "heartbeat-delay" || k == "max-response-delay" ||
        k == "max-ack-delay" || k == "max-unacked-clients" || k == "trust-anchor" || k == "cert-file" ||
        k == "key-file") {
      t_.use(kp);
    } else if (k == "peers") {
      t_.use(kp);
      for (std::size_t i = 0; i < v.size(); ++i) {
        const Json& peer = v[i];
        const std::string pp = at_index(kp, i);
        if (peer.at("role") == "backup") {
          t_.skip(pp, "name " + peer.at("name").get<std::string>(), "a backup server: dorado pairs have no backup servers");
          continue;
        }
        t_.use(pp);
        for (const auto& [pk, pv] : peer.items()) {
          const std::string pkp = at_key(pp, pk);
          if (pk == "name" || pk == "url" || pk == "role" || pk == "trust-anchor" || pk == "cert-file" ||
              pk == "key-file") {
            t_.use(pkp);   // the partner's files are the partner's own business
          } else if (pk == "auto-failover") {
            if (json_bool(pv) == true)
              t_.use(pkp);
            else
              t_.skip(pkp, "", "dorado goes to partner-down by itself (no manual failover setting)");
          } else if (pk.rfind("basic-auth-", 0) == 0) {
            t_.skip(pkp, "", "dorado authenticates the partner by its TLS certificate, not HTTP basic auth");
          } else if (pk == "comment" && pv.is_string()) {
            t_.use(pkp);
          }
        }
      }
    } else if (k == "send-lease-updates" || k == "sync-leases") {
      if (json_bool(v) == true)
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado always sends lease updates to its partner and resyncs after an outage");
    } else if (k == "sync-timeout" || k == "sync-page-limit") {
      t_.skip(kp, "", "dorado's resync (the journal's tail, or a full transfer) has no timeout or page settings");
    } else if (k == "delayed-updates-limit") {
      // Kea's communication-recovery (load-balancing only): not lazy updates,
      // so ack stays "partner" (Kea answers after the partner's ack too).
      const auto n = json_uint(v, 0xffffffffu);
      if (m == "hot-standby" && n) {
        t_.use(kp);   // Kea uses it in load-balancing only
      } else if (n && *n > 0) {
        t_.use(kp);
        t_.note(kp, "dorado's load-balancing goes to communication-recovery too when the partner is unresponsive, "
                    "queueing lease updates up to backlog_mb (MiB, default 64), not a number of updates; ack stays "
                    "\"partner\" (in the normal state Kea answers once the partner has the lease, as dorado does)");
      } else {
        t_.skip(kp, "", "dorado's load-balancing always goes to communication-recovery when the partner is "
                        "unresponsive (updates queued up to backlog_mb); Kea's 0 turns it off");
      }
    } else if (k == "max-rejected-lease-updates") {
      t_.skip(kp, "", "dorado has no limit on rejected lease updates");
    } else if (k == "wait-backup-ack") {
      if (json_bool(v) == false)
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado pairs have no backup servers");
    } else if (k == "require-client-certs") {
      if (json_bool(v) == true)
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado always requires the partner's certificate (mutual TLS)");
    } else if (k == "restrict-commands") {
      if (json_bool(v) == true)
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado's HA link carries the HA protocol only");
    } else if (k == "multi-threading") {
      t_.skip(kp, "", "dorado's HA link has no threads to configure");
    } else if (k == "state-machine") {
      t_.skip(kp, "", "dorado's HA states have no pauses to configure");
    } else if (k == "comment" && v.is_string()) {
      t_.use(kp);
    } else if (k == "user-context") {
      t_.skip(kp, "", "dorado keeps no user context");
    }
  }
  out_.ha = std::move(ha);
}

}  // namespace dorado::migrate
