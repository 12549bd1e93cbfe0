// Kea's dynamic DNS -> dorado's [ddns] (docs/dns.md): the policy from Kea
// DHCPv4's dhcp-ddns and ddns-* parameters (global, shared network, subnet:
// dorado's policy is one for the server, a subnet has its own
// qualifying_suffix only), the TSIG keys and the zones from Kea's D2 config
// (kea-dhcp-ddns.conf, "DhcpDdns"), read from --d2 or from the Kea file's own
// DhcpDdns. dorado sends the updates itself: Kea's channel to D2 (server-ip,
// ncr-protocol, ...) has nothing to become.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "migrate/converter.hpp"
#include "migrate/ipv4.hpp"

namespace dorado::migrate {
namespace {

enum class Type : unsigned char { boolean, text, replace, number, seconds };

// The ddns-* parameters dorado-migrate knows, Kea's default, and where they go.
struct KeaDdnsParam {
  const char* kea;
  Type type;
  const char* dorado;   // [ddns] key; nullptr: no key (a fixed behaviour, see fixed())
};
constexpr KeaDdnsParam kParams[] = {
    {"ddns-send-updates", Type::boolean, nullptr},
    {"ddns-override-no-update", Type::boolean, "override_no_update"},
    {"ddns-override-client-update", Type::boolean, "override_client_update"},
    {"ddns-replace-client-name", Type::replace, "replace_client_name"},
    {"ddns-generated-prefix", Type::text, "generated_prefix"},
    {"ddns-qualifying-suffix", Type::text, "qualifying_suffix"},
    {"ddns-update-on-renew", Type::boolean, "update_on_renew"},
    {"ddns-use-conflict-resolution", Type::boolean, nullptr},
    {"ddns-conflict-resolution-mode", Type::text, nullptr},
    {"ddns-ttl-percent", Type::number, nullptr},
    {"ddns-ttl", Type::seconds, "ttl"},
    {"ddns-ttl-min", Type::seconds, nullptr},
    {"ddns-ttl-max", Type::seconds, nullptr},
    {"hostname-char-set", Type::text, nullptr},
    {"hostname-char-replacement", Type::text, nullptr},
};

const KeaDdnsParam* param(const std::string& k) {
  for (const KeaDdnsParam& p : kParams)
    if (k == p.kea) return &p;
  return nullptr;
}

// Kea 2.2 still reads these in dhcp-ddns (deprecated): they act as the global ddns-* value.
constexpr const char* kOldDhcpDdns[] = {"generated-prefix", "override-client-update", "override-no-update",
                                        "qualifying-suffix", "replace-client-name", "hostname-char-set",
                                        "hostname-char-replacement"};

const char* const kSanitise =
    "dorado sanitises names one fixed way: lower case, every character outside a-z, 0-9 and - becomes -, "
    "labels lose leading and trailing - (docs/dns.md)";
const char* const kPerServer = "dorado's DDNS policy is one for the whole server ([ddns]); a subnet has its own "
                               "qualifying_suffix only";

bool valid(const Json& v, Type t) {
  switch (t) {
    case Type::boolean: return v.is_boolean();
    case Type::text: return v.is_string();
    case Type::replace: {
      const std::string* s = json_string(v);
      return s && (*s == "never" || *s == "always" || *s == "when-present" || *s == "when-not-present");
    }
    case Type::number: return v.is_number() && v.get<double>() >= 0;
    case Type::seconds: return json_uint(v, 2147483647).has_value();
  }
  return false;
}

const char* expected(Type t) {
  switch (t) {
    case Type::boolean: return "expected true or false";
    case Type::text: return "expected a string";
    case Type::replace: return "expected \"never\", \"always\", \"when-present\" or \"when-not-present\"";
    case Type::number: return "expected a number";
    case Type::seconds: return "expected seconds (an integer 0..2147483647)";
  }
  return "";
}

std::string value_text(const Json& v) { return v.is_string() ? "\"" + v.get<std::string>() + "\"" : v.dump(); }

// A DNS name as dorado keeps it: Kea's names end with a dot, dorado's do not.
std::string no_final_dot(std::string s) {
  if (s.size() > 1 && s.back() == '.') s.pop_back();
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool host_label(const std::string& s) {
  return !s.empty() && s.size() <= 40 && s.front() != '-' && s.back() != '-' &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

const Json* member(const Json& o, const char* k) {
  if (!o.is_object()) return nullptr;
  const auto it = o.find(k);
  return it == o.end() ? nullptr : &*it;
}

}  // namespace

bool Converter::ddns_key(const std::string& k) { return param(k) != nullptr; }

// Dhcp4.dhcp-ddns: read once the subnets are (read_ddns()).
void Converter::read_dhcp_ddns(const Json& v, const std::string& p) {
  dhcp_ddns_ = &v;
  dhcp_ddns_path_ = p;
}

// Kea does no DNS updates: nothing to write; the ddns-* values do nothing in
// Kea either. The D2 config, if given, is listed whole.
void Converter::ddns_off(const std::string& why) {
  bool any = false;
  for (Scope& s : scopes_) {
    for (const auto& [k, prm] : s.params) {
      if (!ddns_key(k) || t_.claimed(prm.path) || t_.listed(prm.path)) continue;
      any = true;
      if (k.rfind("hostname-char-", 0) == 0)
        t_.skip(prm.path, "", std::string(kSanitise) + "; without [ddns] it takes no names at all");
      else
        t_.use(prm.path);
    }
  }
  if (dhcp_ddns_ != nullptr) t_.use_all(dhcp_ddns_path_);
  if (dhcp_ddns_ != nullptr || any) t_.note(dhcp_ddns_ ? dhcp_ddns_path_ : "Dhcp4", why + ": no [ddns] written");
  if (d2_ != nullptr) tracker_for("DhcpDdns").skip("DhcpDdns", "", why + ": the D2 config is not used");
}

void Converter::read_ddns() {
  // Kea 2.2's deprecated policy keys in dhcp-ddns act as the global
  // ddns-* values where the config has none of its own.
  if (dhcp_ddns_ != nullptr && dhcp_ddns_->is_object()) {
    for (const char* old : kOldDhcpDdns) {
      const Json* x = member(*dhcp_ddns_, old);
      if (x == nullptr) continue;
      const std::string k = std::string(old).rfind("hostname-", 0) == 0 ? std::string(old) : "ddns-" + std::string(old);
      if (!global_->params.count(k)) global_->params[k] = Param{x, at_key(dhcp_ddns_path_, old)};
      else t_.use(at_key(dhcp_ddns_path_, old));   // the global ddns-* value wins
    }
  }
  // Values of the wrong type are listed and take no part.
  for (Scope& s : scopes_) {
    for (auto it = s.params.begin(); it != s.params.end();) {
      const KeaDdnsParam* kp = param(it->first);
      if (kp != nullptr && !valid(*it->second.value, kp->type)) {
        t_.skip(it->second.path, "", expected(kp->type));
        it = s.params.erase(it);
      } else {
        ++it;
      }
    }
  }
  const Json* enable = dhcp_ddns_ ? member(*dhcp_ddns_, "enable-updates") : nullptr;
  if (enable == nullptr || json_bool(*enable) != true)
    return ddns_off("DDNS is off in Kea (dhcp-ddns enable-updates is not true)");
  // A subnet with ddns-send-updates false sends none in Kea.
  std::vector<bool> sends(info_.size(), true);
  bool any_sends = false;
  for (std::size_t i = 0; i < info_.size(); ++i) {
    if (const Param p = info_[i].scope->find("ddns-send-updates")) sends[i] = p.value->get<bool>();
    any_sends = any_sends || sends[i];
  }
  if (!any_sends && !info_.empty())
    return ddns_off("DDNS sends nothing in Kea (ddns-send-updates is false for every subnet)");

  TomlDdns d;
  d.from = dhcp_ddns_path_ + ".enable-updates";
  t_.use(dhcp_ddns_path_);
  t_.use(at_key(dhcp_ddns_path_, "enable-updates"));
  for (const auto& [k, v] : dhcp_ddns_->items()) {
    const std::string kp = at_key(dhcp_ddns_path_, k);
    if (k == "server-ip" || k == "server-port" || k == "sender-ip" || k == "sender-port" || k == "ncr-protocol" ||
        k == "ncr-format") {
      t_.use(kp);   // Kea's channel to kea-dhcp-ddns: dorado sends the updates itself
    } else if (k == "max-queue-size") {
      t_.skip(kp, "", "dorado's DNS work waits in a queue without a size limit (one entry per address)");
    } else if (k == "comment" && v.is_string()) {
      t_.use(kp);
    } else if (k == "user-context") {
      t_.skip(kp, "", "dorado keeps no user context");
    }
  }
  t_.note(dhcp_ddns_path_, "dorado sends the DNS updates itself (RFC 2136, TSIG): no kea-dhcp-ddns (D2) to run, and "
                           "server-ip, server-port, sender-ip, sender-port, ncr-protocol, ncr-format (the way to D2) "
                           "have nothing to become");

  // The global value of each parameter becomes [ddns]'s; a subnet whose own
  // (or its shared network's) value differs is listed for that subnet.
  const Scope& g = *global_;
  for (const KeaDdnsParam& kp : kParams) {
    const Param gp = g.find(kp.kea);
    const std::string name = kp.kea;
    // What dorado does for every subnet, as Kea's JSON value (nullptr: Kea's default, dorado's too).
    const Json* server_value = nullptr;
    std::string fixed_why;   // set: the parameter has one value in dorado, and only it converts
    Json fixed;
    if (name == "ddns-send-updates") {
      fixed = true;
      fixed_why = "dorado updates DNS for every subnet once [ddns] is on: it cannot be turned off for one";
    } else if (name == "ddns-use-conflict-resolution") {
      fixed = true;
      fixed_why = "dorado always resolves name conflicts with DHCID records (RFC 4703)";
    } else if (name == "ddns-conflict-resolution-mode") {
      fixed = "check-with-dhcid";
      fixed_why = "dorado always resolves name conflicts with DHCID records (RFC 4703), as check-with-dhcid";
    } else if (name == "ddns-ttl-percent") {
      fixed_why = "dorado's TTL is ttl seconds, or a third of the lease time (ttl = 0, as Kea without ddns-ttl-percent)";
    } else if (name == "ddns-ttl-min" || name == "ddns-ttl-max") {
      fixed_why = "dorado's TTL has no lower or upper bound";
    } else if (name.rfind("hostname-char-", 0) == 0) {
      fixed_why = kSanitise;
    }
    auto fits_fixed = [&](const Json& v) {
      if (name == "ddns-ttl-percent") return std::abs(v.get<double>() - 1.0 / 3) < 0.005;
      return !fixed.is_null() && v == fixed;
    };
    if (!fixed_why.empty()) {
      // One value in dorado: a value written anywhere converts only if it is
      // that one, or if every subnet overrides it.
      for (const Scope& sc : scopes_) {
        const auto it = sc.params.find(name);
        if (it == sc.params.end() || t_.listed(it->second.path)) continue;
        const Param& prm = it->second;
        bool in_effect = info_.empty();
        for (const SubnetInfo& in : info_) in_effect = in_effect || in.scope->find(name).path == prm.path;
        if (fits_fixed(*prm.value) || !in_effect)
          t_.use(prm.path);
        else
          t_.skip(prm.path, "", fixed_why);
      }
      continue;
    }
    // A [ddns] key.
    if (gp) {
      const Json& v = *gp.value;
      if (name == "ddns-generated-prefix" && !host_label(v.get<std::string>())) {
        t_.skip(gp.path, "", "dorado's generated_prefix is one host name label of 1..40 letters, digits and - "
                             "(no dots): generated names start with dorado's \"myhost\"");
      } else {
        server_value = &v;
        t_.use(gp.path);
        if (name == "ddns-override-no-update") d.override_no_update = Sourced<bool>{v.get<bool>(), gp.path};
        else if (name == "ddns-override-client-update") d.override_client_update = Sourced<bool>{v.get<bool>(), gp.path};
        else if (name == "ddns-update-on-renew") d.update_on_renew = Sourced<bool>{v.get<bool>(), gp.path};
        else if (name == "ddns-replace-client-name") d.replace_client_name = Sourced<std::string>{v.get<std::string>(), gp.path};
        else if (name == "ddns-generated-prefix") d.generated_prefix = Sourced<std::string>{v.get<std::string>(), gp.path};
        else if (name == "ddns-ttl") d.ttl = Sourced<std::uint32_t>{v.get<std::uint32_t>(), gp.path};
        else if (name == "ddns-qualifying-suffix" && !v.get<std::string>().empty())
          d.qualifying_suffix = Sourced<std::string>{no_final_dot(v.get<std::string>()), gp.path};
      }
    }
    // Kea's defaults: "" suffix, "never", "myhost", false, false, false; ddns-ttl unset = a third of the lease.
    auto same = [&](const Json& v) {
      if (server_value != nullptr) return v == *server_value;
      if (name == "ddns-generated-prefix") return v == "myhost";
      if (name == "ddns-replace-client-name") return v == "never";
      if (name == "ddns-qualifying-suffix") return v == "";
      if (name == "ddns-ttl") return false;
      return v == false;
    };
    for (std::size_t i = 0; i < info_.size(); ++i) {
      const Param p = info_[i].scope->find(name);
      if (!p || p.path == gp.path || t_.listed(p.path)) continue;
      if (same(*p.value)) {
        t_.use(p.path);
        continue;
      }
      if (name == "ddns-qualifying-suffix" && !p.value->get<std::string>().empty()) {
        out_.subnets[i].qualifying_suffix = Sourced<std::string>{no_final_dot(p.value->get<std::string>()), p.path};
        t_.use(p.path);
        continue;
      }
      const std::string why = std::string(kPerServer) + ": [ddns] " + kp.dorado + " is " +
                              (server_value ? value_text(*server_value) : std::string("Kea's default")) +
                              " for this subnet too" +
                              (name == "ddns-qualifying-suffix" ? " (a subnet's \"\" means [ddns]'s)" : "");
      if (p.path.rfind(out_.subnets[i].from, 0) == 0) t_.skip(p.path, "", why);
      else t_.skip_for(p.path, out_.subnets[i].from, "", why);
    }
  }
  // Values that every subnet overrides (a shared network's) do nothing in Kea either.
  for (const Scope& s : scopes_)
    for (const auto& [k, prm] : s.params)
      if (ddns_key(k) && !t_.claimed(prm.path) && !t_.listed(prm.path)) t_.use(prm.path);

  out_.ddns = std::move(d);
  if (d2_ != nullptr) {
    read_d2(*d2_, "DhcpDdns");
    // D2's timeout per try at one DNS server; Kea's default is 500 ms, dorado's 2000 ms.
    if (!out_.ddns->timeout_ms) out_.ddns->timeout_ms = Sourced<std::uint32_t>{500, "Kea D2's default dns-server-timeout"};
    if (out_.ddns->forward.empty() && out_.ddns->reverse.empty())
      t_.note(dhcp_ddns_path_, "[ddns] has no zones: the D2 config gave none that converted; add "
                               "[[ddns.forward_zone]] and [[ddns.reverse_zone]] (docs/dns.md). Without zones dorado "
                               "updates no name");
  } else {
    t_.note(dhcp_ddns_path_, "[ddns] has no zones and no TSIG keys: they are in Kea's D2 config "
                             "(kea-dhcp-ddns.conf); convert it with --d2 FILE, or add [[ddns.tsig_key]], "
                             "[[ddns.forward_zone]] and [[ddns.reverse_zone]] by hand (docs/dns.md). Without zones "
                             "dorado updates no name");
  }
}

// ---- Kea's D2 config ------------------------------------------------------------------

void Converter::read_d2(const Json& d2, const std::string& p) {
  Tracker& t = tracker_for(p);
  TomlDdns& d = *out_.ddns;
  if (!d2.is_object()) {
    t.skip(p, "", "expected the D2 config, an object");
    return;
  }
  t.use(p);
  // The keys first: the zones name them.
  if (const Json* keys = member(d2, "tsig-keys")) read_tsig_keys(*keys, at_key(p, "tsig-keys"));
  if (const Json* hooks = member(d2, "hooks-libraries"); hooks && hooks->is_array())
    for (const Json& h : *hooks)
      if (const Json* lib = member(h, "library"); lib && lib->is_string() &&
                                                   lib->get<std::string>().find("gss_tsig") != std::string::npos)
        d2_gss_tsig_ = true;
  for (const auto& [k, v] : d2.items()) {
    const std::string kp = at_key(p, k);
    if (k == "tsig-keys") continue;
    if (k == "forward-ddns" || k == "reverse-ddns") {
      read_ddns_domains(v, kp, k == "reverse-ddns");
    } else if (k == "dns-server-timeout") {
      if (const auto x = json_uint(v, 0xffffffffu); x && *x >= 100 && *x <= 60000) {
        d.timeout_ms = Sourced<std::uint32_t>{static_cast<std::uint32_t>(*x), kp};
        t.use(kp);
      } else {
        t.skip(kp, "", "dorado's [ddns] timeout_ms is 100..60000 ms: it keeps its default, 2000");
      }
    } else if (k == "ip-address" || k == "port" || k == "ncr-protocol" || k == "ncr-format") {
      t.use(kp);   // where D2 takes kea-dhcp4's requests: dorado sends the updates itself
    } else if (k == "control-socket") {
      t.skip(kp, "", "there is no D2 process to control: dorado's control socket is [control] socket");
    } else if (k == "hooks-libraries") {
      t.skip(kp, "", "dorado has no hook libraries (and signs updates with TSIG keys only: no GSS-TSIG)");
    } else if (k == "loggers") {
      t.skip(kp, "", "dorado logs to stderr (the journal under systemd); see docs/operations.md");
    } else if (k == "user-context") {
      t.skip(kp, "", "dorado keeps no user context");
    } else if (k == "comment" && v.is_string()) {
      t.use(kp);
    }
  }
}

void Converter::read_tsig_keys(const Json& list, const std::string& p) {
  Tracker& t = tracker_for(p);
  if (!list.is_array()) {
    t.skip(p, "", "expected a list of TSIG keys");
    return;
  }
  t.use(p);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Json& e = list[i];
    const std::string ep = at_index(p, i);
    const Json* name = member(e, "name");
    const Json* alg = member(e, "algorithm");
    const Json* secret = member(e, "secret");
    const Json* file = member(e, "secret-file");
    const std::string detail = name && name->is_string() ? "name " + name->get<std::string>() : "";
    if (!name || !name->is_string() || !alg || !alg->is_string() || (!secret == !file) ||
        (secret && !secret->is_string()) || (file && !file->is_string())) {
      t.skip(ep, detail, "expected name, algorithm and one of secret and secret-file");
      continue;
    }
    const std::string a = lower(alg->get<std::string>());
    if (a != "hmac-md5" && a != "hmac-sha1" && a != "hmac-sha224" && a != "hmac-sha256" && a != "hmac-sha384" &&
        a != "hmac-sha512") {
      t.skip(ep, detail, "algorithm " + alg->get<std::string>() + ": dorado signs with HMAC-MD5, HMAC-SHA1, -SHA224, "
                         "-SHA256, -SHA384 or -SHA512");
      continue;
    }
    TomlDdnsKey k;
    k.name = no_final_dot(name->get<std::string>());
    k.algorithm = a;
    if (secret) k.secret = secret->get<std::string>();
    else k.secret_file = file->get<std::string>();
    k.from = ep + " (" + detail + ")";
    k.source = ep;
    t.use(ep);
    for (const auto& [f, v] : e.items()) {
      const std::string fp = at_key(ep, f);
      if (f == "name" || f == "algorithm" || f == "secret" || f == "secret-file" || (f == "comment" && v.is_string())) {
        t.use(fp);
      } else if (f == "digest-bits") {
        if (json_uint(v, 0xffff) == 0u)
          t.use(fp);
        else
          t.skip(fp, "", "dorado sends the whole HMAC, not a truncated one (a server that truncates accepts it, "
                         "RFC 8945 5.2.2.1)");
      } else if (f == "user-context") {
        t.skip(fp, "", "dorado keeps no user context");
      }
    }
    d2_key_names_.insert(lower(k.name));
    out_.ddns->keys.push_back(std::move(k));
  }
}

void Converter::read_ddns_domains(const Json& section, const std::string& p, bool reverse) {
  Tracker& t = tracker_for(p);
  if (!section.is_object()) {
    t.skip(p, "", "expected {\"ddns-domains\": [...]}");
    return;
  }
  t.use(p);
  for (const auto& [k, v] : section.items()) {
    const std::string kp = at_key(p, k);
    if (k == "comment" && v.is_string()) {
      t.use(kp);
    } else if (k == "user-context") {
      t.skip(kp, "", "dorado keeps no user context");
    } else if (k != "ddns-domains") {
      continue;
    } else if (!v.is_array()) {
      t.skip(kp, "", "expected a list of domains");
    } else {
      t.use(kp);
      for (std::size_t i = 0; i < v.size(); ++i) {
        const Json& dom = v[i];
        const std::string dp = at_index(kp, i);
        const Json* name = member(dom, "name");
        const Json* servers = member(dom, "dns-servers");
        if (!name || !name->is_string() || !servers || !servers->is_array()) {
          t.skip(dp, "", "expected name and dns-servers");
          continue;
        }
        const std::string detail = "name " + name->get<std::string>();
        TomlDdnsZone z;
        z.name = no_final_dot(name->get<std::string>());
        const std::string lname = lower(z.name);
        if (reverse && (lname == "ip6.arpa" || (lname.size() > 9 && lname.compare(lname.size() - 9, 9, ".ip6.arpa") == 0))) {
          t.skip(dp, detail, "an IPv6 reverse zone: dorado serves DHCPv4 only");
          continue;
        }
        const Json* key = member(dom, "key-name");
        if (key && !key->is_string()) {
          t.skip(dp, detail, "key-name: expected a string");
          continue;
        }
        // A server's key-name wins over its domain's (Kea); dorado signs a
        // zone with one key: the domain's when it is a converted key, else
        // the first server's. Servers with another are listed.
        auto converted = [&](const std::string& k) { return !k.empty() && d2_key_names_.count(lower(k)) > 0; };
        const std::string domain_key = key ? no_final_dot(key->get<std::string>()) : "";
        auto server_key = [&](const Json& s) {
          const Json* k = member(s, "key-name");
          return k && k->is_string() && !k->get<std::string>().empty() ? no_final_dot(k->get<std::string>())
                                                                        : domain_key;
        };
        bool chosen = converted(domain_key) || domain_key.empty();
        z.key = chosen ? domain_key : "";
        std::vector<std::pair<std::string, std::string>> skipped;   // path, why
        for (std::size_t j = 0; j < servers->size(); ++j) {
          const Json& s = (*servers)[j];
          const std::string sp = at_index(at_key(dp, "dns-servers"), j);
          const Json* ip = member(s, "ip-address");
          const Json* port = member(s, "port");
          const auto a = ip && ip->is_string() ? parse_ipv4(ip->get<std::string>()) : std::nullopt;
          if (!a) {
            skipped.emplace_back(sp, ip && ip->is_string() ? "ip-address " + ip->get<std::string>() +
                                                                 ": dorado sends its updates to IPv4 addresses only"
                                                           : std::string("dorado needs the server's ip-address (no hostname)"));
            continue;
          }
          const auto pn = port ? json_uint(*port, 65535) : std::optional<std::uint64_t>(53);
          if (!pn || *pn == 0) {
            skipped.emplace_back(sp, "port: expected 1..65535");
            continue;
          }
          const Json* skey = member(s, "key-name");
          if (skey && !skey->is_string()) {
            skipped.emplace_back(sp, "key-name: expected a string");
            continue;
          }
          const std::string k = server_key(s);
          if (!k.empty() && !converted(k)) {
            skipped.emplace_back(sp, "its key " + k + " is not a converted TSIG key (tsig-keys): unsigned updates "
                                     "would be refused");
            continue;
          }
          if (!chosen) {
            z.key = k;
            chosen = true;
          }
          if (lower(k) != lower(z.key)) {
            skipped.emplace_back(sp, "dorado signs all of a zone's updates with one key (the zone's key " +
                                         (z.key.empty() ? std::string("none") : z.key) + "), not one per server");
            continue;
          }
          z.servers.push_back(format_ipv4(*a) + (*pn == 53 ? "" : ":" + std::to_string(*pn)));
          t.use(sp);
          for (const auto& [f, fv] : s.items()) {
            if (f == "ip-address" || f == "port" || f == "key-name" || (f == "comment" && fv.is_string()))
              t.use(at_key(sp, f));
            else if (f == "user-context")
              t.skip(at_key(sp, f), "", "dorado keeps no user context");
          }
        }
        // The domain's own values; a domain without a server dorado can use is
        // listed, and each of its servers with the reason.
        if (z.servers.empty())
          t.skip_node(dp, detail, "no DNS server dorado can send to (its dns-servers are listed): dorado's zones "
                                  "need one");
        else
          t.use(dp);
        for (const auto& [sp, why] : skipped) t.skip(sp, "", why);
        t.use(at_key(dp, "dns-servers"));
        for (const auto& [f, fv] : dom.items()) {
          if (f == "name" || f == "key-name" || (f == "comment" && fv.is_string())) t.use(at_key(dp, f));
          else if (f == "user-context") t.skip(at_key(dp, f), "", "dorado keeps no user context");
        }
        if (z.servers.empty()) continue;
        if (z.key.empty() && d2_gss_tsig_)
          t.note(dp, "dorado sends this zone's updates unsigned: Kea signed them with GSS-TSIG (libddns_gss_tsig.so), "
                     "which dorado has not; give the DNS server a TSIG key for dorado (docs/dns.md)");
        z.from = dp + " (" + detail + ")";
        z.source = dp;
        (reverse ? out_.ddns->reverse : out_.ddns->forward).push_back(std::move(z));
      }
    }
  }
}

}  // namespace dorado::migrate
