// Kea DHCPv4 config -> dorado config: globals, subnets and shared networks,
// pools, options, reservations, lease times, relays, interfaces, then
// dorado's own config check on the result (what it refuses comes out and is
// listed). The mapping of every key is in docs/tools/migrate.md.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

#include "config/config.hpp"
#include "migrate/converter.hpp"
#include "migrate/ipv4.hpp"

namespace dorado::migrate {
namespace {

constexpr std::uint32_t kKeaDefaultValidLifetime = 7200;   // Kea ARM: valid-lifetime default
constexpr std::size_t kMaxSocketPath = 107;
constexpr std::size_t kMaxClientId = 159;

// Reasons, each said the same way wherever the key appears.
const char* const kNoClasses = "dorado has no client classes";
const char* const kNoUserContext = "dorado keeps no user context";
const char* const kNo4o6 = "dorado has no DHCPv4-over-DHCPv6";

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string ip_text(std::uint32_t ip) { return format_ipv4(ip); }

std::optional<std::uint32_t> ipv4(const Json& v) {
  const std::string* s = json_string(v);
  if (s == nullptr) return std::nullopt;
  return parse_ipv4(*s);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

// "a.b.c.d/len" as dorado takes it (len 8..32, no host bits).
bool parse_prefix(const std::string& s, std::uint32_t& network, unsigned& length) {
  const std::size_t slash = s.find('/');
  if (slash == std::string::npos) return false;
  const auto ip = parse_ipv4(s.substr(0, slash));
  const std::string len = s.substr(slash + 1);
  if (!ip || len.empty() || len.size() > 2 || len.find_first_not_of("0123456789") != std::string::npos) return false;
  length = static_cast<unsigned>(std::stoul(len));
  if (length < 8 || length > 32) return false;
  const std::uint32_t mask = length == 32 ? 0xffffffffu : ~(0xffffffffu >> length);
  if ((*ip & ~mask) != 0) return false;
  network = *ip;
  return true;
}

// Kea's pool forms: "a - b", "a-b", "a/len".
bool parse_pool(const std::string& text, std::uint32_t& first, std::uint32_t& last, std::string& canonical) {
  const std::string s = trim(text);
  if (const std::size_t dash = s.find('-'); dash != std::string::npos) {
    const auto a = parse_ipv4(trim(s.substr(0, dash)));
    const auto b = parse_ipv4(trim(s.substr(dash + 1)));
    if (!a || !b || *a > *b) return false;
    first = *a;
    last = *b;
    canonical = ip_text(*a) + "-" + ip_text(*b);
    return true;
  }
  unsigned length = 0;
  std::uint32_t network = 0;
  if (!parse_prefix(s, network, length)) return false;
  first = network;
  last = network | (length == 32 ? 0 : 0xffffffffu >> length);
  canonical = s;
  return true;
}

std::string option_detail(const Json& e) {
  std::string d;
  if (e.is_object()) {
    if (const auto it = e.find("name"); it != e.end() && it->is_string()) d = "name " + quoted(it->get<std::string>());
    if (const auto it = e.find("code"); it != e.end() && it->is_number_integer())
      d += (d.empty() ? "" : ", ") + std::string("code ") + std::to_string(it->get<std::int64_t>());
  }
  return d;
}

// The first JSON path in a provenance comment ("Dhcp4.renew-timer 1000 / ...").
std::string first_path(const std::string& from) {
  const std::size_t p = std::min(from.find("Dhcp4"), from.find("DhcpDdns"));
  if (p == std::string::npos) return {};
  std::size_t e = p;
  while (e < from.size() && from[e] != ' ' && from[e] != ',' && from[e] != ')') ++e;
  return from.substr(p, e - p);
}

template <typename T>
T* nth_live(std::vector<T>& v, std::size_t n) {
  for (T& x : v) {
    if (x.dropped) continue;
    if (n-- == 0) return &x;
  }
  return nullptr;
}

}  // namespace

std::optional<std::uint64_t> json_uint(const Json& v, std::uint64_t max) {
  if (v.is_number_unsigned()) {
    const auto x = v.get<std::uint64_t>();
    if (x <= max) return x;
  } else if (v.is_number_integer()) {
    const auto x = v.get<std::int64_t>();
    if (x >= 0 && static_cast<std::uint64_t>(x) <= max) return static_cast<std::uint64_t>(x);
  }
  return std::nullopt;
}

std::optional<bool> json_bool(const Json& v) {
  if (v.is_boolean()) return v.get<bool>();
  return std::nullopt;
}

const std::string* json_string(const Json& v) {
  return v.is_string() ? &v.get_ref<const std::string&>() : nullptr;
}

std::string Finding::line() const {
  std::string s = path.empty() ? "(top level)" : path;
  if (!detail.empty()) s += " (" + detail + ")";
  if (kind == Kind::note) return s + ": note: " + text;
  if (!scope.empty()) return s + ": not converted for " + scope + ": " + text;
  return s + ": not converted: " + text;
}

std::size_t Conversion::not_converted() const {
  return static_cast<std::size_t>(std::count_if(findings.begin(), findings.end(), [](const Finding& f) {
    return f.kind == Finding::Kind::not_converted;
  }));
}

int Conversion::exit_status() const {
  if (!error.empty()) return kExitError;
  return not_converted() > 0 || !check_errors.empty() ? kExitLeftOut : kExitOk;
}

std::string Conversion::summary() const {
  if (!error.empty()) return error;
  auto n_of = [](std::size_t n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  std::string s = "wrote " + n_of(counts.subnets, "subnet") + ", " + n_of(counts.pools, "pool") + ", " +
                  n_of(counts.reservations, "reservation") + ", " + n_of(counts.options, "option") + ", " +
                  n_of(counts.relays, "relay") + (counts.ha ? ", [ha]" : "") +
                  (counts.ddns ? ", [ddns] with " + n_of(counts.ddns_zones, "zone") : "") + "; ";
  const std::size_t n = not_converted();
  s += n == 0 ? "everything converted" : std::to_string(n) + " not converted (listed above)";
  if (!check_errors.empty())
    s += "; the output does not pass dorado --check-config yet (" + n_of(check_errors.size(), "error") +
         ", listed above)";
  return s;
}

// ---- the scopes' keys ----------------------------------------------------------------

// Keys that Kea inherits from global to shared network to subnet, and keys
// dorado has no place for, wherever they appear. True if the key is handled.
bool Converter::common_key(const std::string& k, const Json& v, const std::string& p, Scope& scope, Level level) {
  const std::string kp = at_key(p, k);
  auto inherit = [&](bool ok, const std::string& want) {
    if (ok) {
      scope.params[k] = Param{&v, kp};
      t_.use(kp);
    } else {
      t_.skip(kp, "", "expected " + want);
    }
    return true;
  };
  auto equal_if = [&](bool ok, const std::string& why) {
    if (ok)
      t_.use(kp);
    else
      t_.skip(kp, "", why);
    return true;
  };
  if (k == "valid-lifetime" || k == "min-valid-lifetime" || k == "max-valid-lifetime" || k == "renew-timer" ||
      k == "rebind-timer")
    return inherit(json_uint(v, 0xffffffffu).has_value(), "seconds (an integer 0..4294967295)");
  if (k == "calculate-tee-times" || k == "reservations-global" || k == "reservations-in-subnet")
    return inherit(json_bool(v).has_value(), "true or false");
  if (k == "t1-percent" || k == "t2-percent")
    return inherit(v.is_number() && v.get<double>() > 0 && v.get<double>() < 1, "a number between 0 and 1");
  if (k == "reservation-mode") {
    const std::string* s = json_string(v);
    return inherit(s && (*s == "all" || *s == "out-of-pool" || *s == "global" || *s == "disabled"),
                   "\"all\", \"out-of-pool\", \"global\" or \"disabled\"");
  }
  if (k == "reservations-out-of-pool")   // a lookup shortcut in Kea; dorado's result is the same
    return equal_if(json_bool(v).has_value(), "expected true or false");
  if (k == "option-data") {
    if (!v.is_array()) {
      t_.skip(kp, "", "expected a list of options");
    } else {
      t_.use(kp);
      read_options(v, kp, scope);
    }
    return true;
  }
  if (k == "match-client-id")
    return equal_if(json_bool(v) == true,
                    "dorado always identifies a client by its client-id (option 61) when it sends one, as "
                    "match-client-id true does");
  if (k == "authoritative")
    return equal_if(json_bool(v) == false,
                    "dorado answers a REQUEST for an address it has no lease for with silence (RFC 2131 "
                    "4.3.2), as authoritative false does; it does not NAK it");
  if (k == "next-server") {
    const std::string* s = json_string(v);
    return equal_if(s && (s->empty() || *s == "0.0.0.0"),
                    "dorado leaves siaddr 0: it has no next-server (give option 66, tftp-server-name, instead)");
  }
  if (k == "server-hostname" || k == "boot-file-name") {
    const std::string* s = json_string(v);
    return equal_if(s && s->empty(), std::string("dorado leaves the BOOTP ") +
                                         (k == "server-hostname" ? "sname" : "file") +
                                         " field empty (give option " + (k == "server-hostname" ? "66" : "67") +
                                         " in option-data instead)");
  }
  if (k == "store-extended-info")
    return equal_if(json_bool(v) == false, "dorado keeps no extended information (relay agent info) with a lease");
  if (k == "comment") {
    if (const std::string* s = json_string(v)) {
      t_.use(kp);
      (void)s;   // written by the caller where the TOML has a place for it
    } else {
      t_.skip(kp, "", "expected a string");
    }
    return true;
  }
  if (k == "user-context") {
    t_.skip(kp, "", kNoUserContext);
    return true;
  }
  if (ddns_key(k)) {   // kea_ddns.cpp: read_ddns(), once every subnet is read
    scope.params[k] = Param{&v, kp};
    return true;
  }
  if (k == "client-class" || k == "require-client-classes") {
    const bool empty = (v.is_string() && v.get<std::string>().empty()) || (v.is_array() && v.empty());
    return equal_if(empty, std::string(kNoClasses) +
                               (level == Level::global ? "" : ": the subnet serves every client"));
  }
  if (k == "cache-threshold" || k == "cache-max-age") {
    t_.skip(kp, "", "dorado has no lease caching: every renewal extends the lease");
    return true;
  }
  if (k == "4o6-interface" || k == "4o6-interface-id" || k == "4o6-subnet") {
    t_.skip(kp, "", kNo4o6);
    return true;
  }
  if (k == "offer-lifetime") {
    if (level == Level::global) {
      if (const auto x = json_uint(v, 0xffffffffu); x && *x >= 1) {
        out_.offer_hold = Sourced<std::uint32_t>{static_cast<std::uint32_t>(*x), kp};
        t_.use(kp);
      } else {
        t_.skip(kp, "", "dorado's [lease] offer_hold is 1..4294967295 seconds");
      }
    } else {
      t_.skip(kp, "", "dorado's offer hold ([lease] offer_hold) is one for the whole server");
    }
    return true;
  }
  return false;
}

// ---- options -----------------------------------------------------------------------

void Converter::read_option_defs(const Json& list, const std::string& p) {
  t_.use_all(p);   // definitions do nothing by themselves; option-data that uses them is converted
  if (!list.is_array()) return;
  for (const Json& e : list) {
    if (!e.is_object()) continue;
    const std::string space = e.contains("space") && e["space"].is_string() ? e["space"].get<std::string>() : "dhcp4";
    if (space != "dhcp4" || !e.contains("name") || !e["name"].is_string() || !e.contains("code")) continue;
    const auto code = json_uint(e["code"], 255);
    const auto type = e.contains("type") && e["type"].is_string() ? kea_type(e["type"].get<std::string>()) : std::nullopt;
    if (!code || !type) continue;
    OptionDef d;
    d.name = e["name"].get<std::string>();
    d.code = static_cast<unsigned>(*code);
    d.type = *type;
    d.array = e.contains("array") && e["array"].is_boolean() && e["array"].get<bool>();
    if (e.contains("encapsulate") && e["encapsulate"].is_string()) d.encapsulate = e["encapsulate"].get<std::string>();
    if (d.type == KeaType::record) {
      const std::string fields = e.contains("record-types") && e["record-types"].is_string()
                                     ? e["record-types"].get<std::string>() : "";
      std::size_t i = 0;
      bool ok = !fields.empty();
      while (ok && i <= fields.size()) {
        std::size_t j = fields.find(',', i);
        if (j == std::string::npos) j = fields.size();
        const auto t = kea_type(trim(fields.substr(i, j - i)));
        if (t) d.record.push_back(*t);
        else ok = false;
        i = j + 1;
      }
      if (!ok || d.record.empty()) continue;
    }
    custom_defs_.push_back(std::move(d));
  }
}

void Converter::skip_options(const Json& list, const std::string& p, const std::string& why) {
  if (!list.is_array()) {
    t_.skip(p, "", "expected a list of options");
    return;
  }
  if (list.empty()) t_.use(p);
  for (std::size_t i = 0; i < list.size(); ++i) t_.skip(at_index(p, i), option_detail(list[i]), why);
}

void Converter::read_options(const Json& list, const std::string& p, Scope& scope) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Json& e = list[i];
    const std::string ep = at_index(p, i);
    std::string detail = option_detail(e);
    if (!e.is_object()) {
      t_.skip(ep, "", "expected an option (an object with name or code, and data)");
      continue;
    }
    auto field = [&](const char* k) -> const Json* {
      const auto it = e.find(k);
      return it == e.end() ? nullptr : &*it;
    };
    const Json* name = field("name");
    const Json* code = field("code");
    const Json* space = field("space");
    const Json* csv_format = field("csv-format");
    const Json* data = field("data");
    const Json* always = field("always-send");
    const Json* never = field("never-send");
    if (space && (!space->is_string() || space->get<std::string>() != "dhcp4")) {
      t_.skip(ep, detail,
              "option space " + (space->is_string() ? quoted(space->get<std::string>()) : std::string("?")) +
                  ": dorado has no option spaces (sub-options, vendor options); it sends DHCPv4 options only");
      continue;
    }
    const OptionDef* def = nullptr;
    if (name) {
      if (!name->is_string()) {
        t_.skip(ep, detail, "name must be a string");
        continue;
      }
      const std::string& n = name->get_ref<const std::string&>();
      for (const OptionDef& d : custom_defs_)
        if (d.name == n) def = &d;
      if (!def) def = standard_option(n);
      if (!def) {
        t_.skip(ep, detail, "no DHCPv4 option is named " + quoted(n) +
                                " (neither a standard Kea option nor one of this config's option-def)");
        continue;
      }
    }
    unsigned c = def ? def->code : 0;
    if (code) {
      const auto x = json_uint(*code, 255);
      if (!x || *x < 1 || *x > 254) {
        t_.skip(ep, detail, "code must be 1..254");
        continue;
      }
      if (def && def->code != *x) {
        t_.skip(ep, detail, "option " + quoted(def->name) + " is code " + std::to_string(def->code));
        continue;
      }
      c = static_cast<unsigned>(*x);
      if (!def) {
        for (const OptionDef& d : custom_defs_)
          if (d.code == c) def = &d;
        if (!def) def = standard_option(c);
      }
    }
    if (c == 0) {
      t_.skip(ep, detail, "an option needs a name or a code");
      continue;
    }
    if (def && !name) detail = "name " + quoted(def->name) + ", code " + std::to_string(c);
    if (def && name && !code) detail += ", code " + std::to_string(c);
    if (never && json_bool(*never) == true) {
      t_.skip(ep, detail, "dorado has no never-send: the option is sent as the outer scopes give it");
      continue;
    }
    if (c == 51 || c == 58 || c == 59) {
      t_.skip(ep, detail, "dorado writes option " + std::to_string(c) +
                              " itself from the lease time (valid-lifetime, renew-timer, rebind-timer are converted)");
      continue;
    }
    if (c == 1 || c == 50 || c == 52 || c == 53 || c == 55 || c == 57 || c == 61 || c == 82) {
      t_.skip(ep, detail, "dorado writes option " + std::to_string(c) + " itself; it cannot be configured");
      continue;
    }
    if (c == 124 || c == 125) {
      t_.skip(ep, detail, "Kea builds the vendor option " + std::to_string(c) +
                              " from an enterprise number and a vendor space's sub-options; dorado has no vendor "
                              "spaces (give the option's bytes with code " + std::to_string(c) + " and hex by hand)");
      continue;
    }
    bool csv = def != nullptr;
    if (csv_format) {
      if (!csv_format->is_boolean()) {
        t_.skip(ep, detail, "csv-format must be true or false");
        continue;
      }
      csv = csv_format->get<bool>();
    }
    if (!def && csv) {
      t_.skip(ep, detail, "no definition for option " + std::to_string(c) +
                              ": Kea takes its data only as hex (csv-format false)");
      continue;
    }
    if (data && !data->is_string()) {
      t_.skip(ep, detail, "data must be a string");
      continue;
    }
    const bool container = def && (def->type == KeaType::empty || !def->encapsulate.empty());
    if (container && (csv || !data)) {
      t_.skip(ep, detail, "a container for the options of space " +
                              quoted(def->encapsulate.empty() ? std::string("?") : def->encapsulate) +
                              "; dorado has no option spaces (give the whole option as hex, csv-format false)");
      continue;
    }
    if (!data) {
      t_.skip(ep, detail, "no data");
      continue;
    }
    const OptionDef hex_def{"", c, KeaType::binary, false, {}, ""};
    Encoded enc = encode_option_data(def ? *def : hex_def, data->get_ref<const std::string&>(), csv);
    if (!enc.value) {
      t_.skip(ep, detail, enc.error);
      continue;
    }
    if (enc.value->bytes.size() > 1024) {
      t_.skip(ep, detail, "the value is " + std::to_string(enc.value->bytes.size()) + " bytes; dorado takes at most 1024");
      continue;
    }
    if (always && !always->is_boolean()) {
      t_.skip(ep, detail, "always-send must be true or false");
      continue;
    }
    const bool already = c == 54 ? scope.server_id.has_value()
                                 : std::any_of(scope.options.begin(), scope.options.end(),
                                               [&](const TomlOption& o) { return o.code == c; });
    if (already) {
      t_.skip(ep, detail, "option " + std::to_string(c) + " is given twice here; dorado takes one value per code");
      continue;
    }
    t_.use(ep);
    for (const char* k : {"name", "code", "space", "csv-format", "data", "always-send", "never-send"})
      if (field(k)) t_.use(at_key(ep, k));
    if (c == 54) {   // the server identifier: dorado's server_id
      if (enc.value->bytes.size() != 4) {
        t_.skip(ep, detail, "dhcp-server-identifier must be one IPv4 address");
        continue;
      }
      const std::uint32_t ip = (std::uint32_t{enc.value->bytes[0]} << 24) | (std::uint32_t{enc.value->bytes[1]} << 16) |
                               (std::uint32_t{enc.value->bytes[2]} << 8) | enc.value->bytes[3];
      scope.server_id = Sourced<std::string>{ip_text(ip), ep + " (" + detail + ")"};
      scope.server_id_path = ep;
      continue;
    }
    TomlOption o;
    o.code = c;
    o.value = std::move(*enc.value);
    o.always_send = (always && always->get<bool>()) || kea_always_sent(c);
    o.source = ep;
    o.from = ep + " (" + detail + ")";
    if (o.always_send && !(always && always->get<bool>()))
      o.from += "; Kea sends " + std::to_string(c) + " unasked";
    if (const Json* cm = field("comment"); cm && cm->is_string()) {
      o.comments.push_back(cm->get<std::string>());
      t_.use(at_key(ep, "comment"));
    }
    if (field("user-context")) t_.skip(at_key(ep, "user-context"), "", kNoUserContext);
    if (const Json* cc = field("client-classes")) {
      const bool empty = cc->is_array() && cc->empty();
      if (empty)
        t_.use(at_key(ep, "client-classes"));
      else
        t_.skip(at_key(ep, "client-classes"), "", std::string(kNoClasses) + ": the option is sent to every client");
    }
    scope.options.push_back(std::move(o));
  }
}

// ---- subnets -------------------------------------------------------------------------

void Converter::read_relay(const Json& relay, const std::string& p, TomlSubnet& subnet, const std::string& for_scope) {
  if (!relay.is_object()) {
    t_.skip(p, "", "expected an object with ip-addresses");
    return;
  }
  t_.use(p);
  for (const auto& [k, v] : relay.items()) {
    const std::string kp = at_key(p, k);
    auto one = [&](const Json& a, const std::string& ap) {
      const auto ip = ipv4(a);
      if (ip && *ip == 0) {   // Kea's "no relay"
        t_.use(ap);
        return;
      }
      if (!ip || *ip == 0xffffffffu) {
        t_.skip(ap, "", "a relay must be a unicast IPv4 address");
        return;
      }
      subnet.relays.push_back(TomlRelay{ip_text(*ip), ap, ap, for_scope, false});
      t_.use(ap);
    };
    if (k == "ip-address") {
      one(v, kp);
    } else if (k == "ip-addresses" && v.is_array()) {
      t_.use(kp);
      for (std::size_t i = 0; i < v.size(); ++i) one(v[i], at_index(kp, i));
    }
  }
}

void Converter::lease_times(TomlSubnet& s, const Scope& scope) {
  const std::string& sp = s.from;
  auto sourced = [&](const Param& p) { return p.path; };
  const Param valid = scope.find("valid-lifetime");
  const std::uint32_t lease = valid ? static_cast<std::uint32_t>(*json_uint(*valid.value, 0xffffffffu))
                                    : kKeaDefaultValidLifetime;
  s.lease_time = Sourced<std::uint32_t>{lease, valid ? sourced(valid) : "Kea's default valid-lifetime"};
  const Param min = scope.find("min-valid-lifetime");
  const Param max = scope.find("max-valid-lifetime");
  s.min_lease_time = Sourced<std::uint32_t>{
      min ? static_cast<std::uint32_t>(*json_uint(*min.value, 0xffffffffu)) : lease,
      min ? sourced(min) : "no min-valid-lifetime: Kea uses valid-lifetime"};
  s.max_lease_time = Sourced<std::uint32_t>{
      max ? static_cast<std::uint32_t>(*json_uint(*max.value, 0xffffffffu)) : lease,
      max ? sourced(max) : "no max-valid-lifetime: Kea uses valid-lifetime"};

  // Kea: an explicit renew-timer / rebind-timer wins; else with
  // calculate-tee-times the percentages; else Kea sends no T1/T2 and clients
  // take 0.5 and 0.875 of the lease (RFC 2131 4.4.5), dorado's defaults.
  const Param calc = scope.find("calculate-tee-times");
  const bool calculate = calc && calc.value->get<bool>();
  auto ratio = [&](const char* timer, const char* percent, double kea_default,
                   std::optional<Sourced<double>>& out) {
    const Param t = scope.find(timer);
    if (t) {
      const std::uint64_t secs = *json_uint(*t.value, 0xffffffffu);
      if (secs == 0 || secs >= lease) {
        const std::string why = std::string(timer) + " " + std::to_string(secs) + " is not below the lease time " +
                                std::to_string(lease) + ": Kea does not send it; dorado always sends " +
                                (std::string(timer) == "renew-timer" ? "T1 (0.5" : "T2 (0.875") + " of the lease)";
        if (t.path.rfind(sp, 0) == 0)
          t_.skip(t.path, "", why);
        else
          t_.skip_for(t.path, sp, "", why);
        return;
      }
      const double r = static_cast<double>(secs) / lease;
      out = Sourced<double>{r, t.path + " " + std::to_string(secs) + " / lease_time " + std::to_string(lease)};
      const auto q16 = static_cast<std::uint64_t>(std::lround(r * 65536.0));
      const std::uint64_t sent = (std::uint64_t{lease} * q16 + 0x8000) >> 16;
      if (sent != secs) {
        const std::string n = std::string("dorado sends ") + (std::string(timer) == "renew-timer" ? "T1" : "T2") +
                              " = " + std::to_string(sent) + " s for a " + std::to_string(lease) +
                              " s lease, not " + std::to_string(secs) + " (its ratio has steps of 1/65536)";
        if (!t_.noted(t.path, n)) t_.note(t.path, n);
      }
      if (s.min_lease_time->value != s.max_lease_time->value) {
        const std::string n = std::string("dorado's ") + (std::string(timer) == "renew-timer" ? "t1_ratio" : "t2_ratio") +
                              " is a fraction of each lease: a lease of another length than valid-lifetime "
                              "(min/max-valid-lifetime) gets it in proportion, where Kea sends " +
                              std::to_string(secs) + " s";
        if (!t_.noted(t.path, n)) t_.note(t.path, n);
      }
      return;
    }
    if (!calculate) return;
    const Param pc = scope.find(percent);
    const double r = pc ? pc.value->get<double>() : kea_default;
    out = Sourced<double>{r, pc ? pc.path + " (calculate-tee-times)"
                                : std::string("calculate-tee-times: Kea's default ") + percent};
  };
  ratio("renew-timer", "t1-percent", 0.5, s.t1_ratio);
  ratio("rebind-timer", "t2-percent", 0.875, s.t2_ratio);
}

std::optional<TomlReservation> Converter::read_reservation(const Json& r, const std::string& p, std::uint32_t network,
                                                           std::uint32_t last) {
  if (!r.is_object()) {
    t_.skip(p, "", "expected a reservation (an object)");
    return std::nullopt;
  }
  std::string detail;
  if (r.contains("ip-address") && r["ip-address"].is_string()) detail = "ip-address " + r["ip-address"].get<std::string>();
  for (const char* id : {"duid", "circuit-id", "flex-id"}) {
    if (r.contains(id)) {
      t_.skip(p, detail, std::string("a reservation by ") + id +
                             ": dorado reserves addresses by MAC (hw-address) or client-id only");
      return std::nullopt;
    }
  }
  TomlReservation out;
  if (const auto it = r.find("hw-address"); it != r.end()) {
    const auto bytes = it->is_string() ? parse_kea_hex(it->get<std::string>()) : std::nullopt;
    if (!bytes || bytes->size() != 6) {
      t_.skip(p, detail, "hw-address is not a 6-byte Ethernet MAC: dorado reserves Ethernet addresses (htype 1)");
      return std::nullopt;
    }
    out.mac = hex_string(*bytes);
  }
  if (const auto it = r.find("client-id"); it != r.end()) {
    const auto bytes = it->is_string() ? parse_kea_hex(it->get<std::string>()) : std::nullopt;
    if (!bytes || bytes->empty() || bytes->size() > kMaxClientId) {
      t_.skip(p, detail, "client-id is not 1..159 hex bytes");
      return std::nullopt;
    }
    out.client_id = hex_string(*bytes);
  }
  if (out.mac.empty() && out.client_id.empty()) {
    t_.skip(p, detail, "no hw-address or client-id: dorado needs one of them to know whose address it is");
    return std::nullopt;
  }
  const auto ip_it = r.find("ip-address");
  if (ip_it == r.end()) {
    t_.skip(p, detail, "no ip-address: dorado's reservations are addresses (a host's name, options or classes "
                       "have no equivalent)");
    return std::nullopt;
  }
  const auto ip = ipv4(*ip_it);
  if (!ip || *ip < network || *ip > last) {
    t_.skip(p, detail, "ip-address is not an IPv4 address inside the subnet");
    return std::nullopt;
  }
  out.address = ip_text(*ip);
  out.from = p;
  out.source = p;
  t_.use(p);
  for (const auto& [k, v] : r.items()) {
    const std::string kp = at_key(p, k);
    if (k == "hw-address" || k == "client-id" || k == "ip-address") {
      t_.use(kp);
    } else if (k == "hostname") {
      if (v.is_string() && v.get<std::string>().empty())
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado sends no host name (option 12) from a reservation");
    } else if (k == "option-data") {
      skip_options(v, kp, "dorado has no options per reservation");
    } else if (k == "next-server" || k == "server-hostname" || k == "boot-file-name") {
      const bool empty = v.is_string() && (v.get<std::string>().empty() || v.get<std::string>() == "0.0.0.0");
      if (empty)
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado has no BOOTP fields per reservation");
    } else if (k == "client-classes") {
      if (v.is_array() && v.empty())
        t_.use(kp);
      else
        t_.skip(kp, "", kNoClasses);
    } else if (k == "comment" && v.is_string()) {
      out.comments.push_back(v.get<std::string>());
      t_.use(kp);
    } else if (k == "user-context") {
      t_.skip(kp, "", kNoUserContext);
    }
  }
  return out;
}

void Converter::read_subnet(const Json& s, const std::string& p, Scope& parent, std::size_t shared_index,
                            bool* shared_relay_pending) {
  if (!s.is_object()) {
    t_.skip(p, "", "expected a subnet (an object)");
    return;
  }
  TomlSubnet out;
  out.from = p;
  SubnetInfo info;
  info.shared = shared_index;
  unsigned length = 0;
  const auto sub = s.find("subnet");
  if (sub == s.end() || !sub->is_string() || !parse_prefix(sub->get<std::string>(), info.network, length)) {
    t_.skip(p, sub != s.end() && sub->is_string() ? "subnet " + sub->get<std::string>() : "",
            "dorado needs the subnet as a prefix a.b.c.d/len, len 8..32, without host bits");
    return;
  }
  info.last = info.network | (length == 32 ? 0 : 0xffffffffu >> length);
  out.prefix = Sourced<std::string>{sub->get<std::string>(), at_key(p, "subnet")};
  Scope& scope = scopes_.emplace_back();
  scope.parent = &parent;
  scope.path = p;
  info.scope = &scope;
  t_.use(p);

  const Json* pools = nullptr;
  const Json* reservations = nullptr;
  const Json* relay = nullptr;
  for (const auto& [k, v] : s.items()) {
    const std::string kp = at_key(p, k);
    if (k == "subnet") {
      t_.use(kp);
    } else if (k == "id") {
      if (const auto id = json_uint(v, 0xffffffffu)) {
        out.id = Sourced<std::uint32_t>{static_cast<std::uint32_t>(*id), kp};
        info.id_given = true;
        t_.use(kp);
      } else {
        t_.skip(kp, "", "expected an integer 0..4294967295");
      }
    } else if (k == "pools") {
      pools = &v;
    } else if (k == "reservations") {
      reservations = &v;
    } else if (k == "relay") {
      relay = &v;
    } else if (k == "interface") {
      if (v.is_string()) {
        scope.params[k] = Param{&v, kp};   // decided once the server's address is known
      } else {
        t_.skip(kp, "", "expected an interface name");
      }
    } else if (k == "comment" && v.is_string()) {
      out.comments.push_back(v.get<std::string>());
      t_.use(kp);
    } else {
      common_key(k, v, p, scope, Level::subnet);
    }
  }

  if (pools) {
    const std::string pp = at_key(p, "pools");
    if (!pools->is_array()) {
      t_.skip(pp, "", "expected a list of pools");
    } else {
      t_.use(pp);
      for (std::size_t i = 0; i < pools->size(); ++i) {
        const Json& e = (*pools)[i];
        const std::string ep = at_index(pp, i);
        const auto text = e.is_object() ? e.find("pool") : e.end();
        std::uint32_t first = 0, last = 0;
        std::string canonical;
        if (!e.is_object() || text == e.end() || !text->is_string() ||
            !parse_pool(text->get<std::string>(), first, last, canonical)) {
          t_.skip(ep, "", "expected a pool \"a.b.c.d - e.f.g.h\" or \"a.b.c.d/len\"");
          continue;
        }
        if (first < info.network || last > info.last) {
          t_.skip(ep, "pool " + text->get<std::string>(), "not inside the subnet " + out.prefix.value);
          continue;
        }
        TomlPool pool{canonical, ep, ep, false};
        t_.use(ep);
        for (const auto& [k, v] : e.items()) {
          const std::string kp = at_key(ep, k);
          if (k == "pool") {
            t_.use(kp);
          } else if (k == "option-data") {
            skip_options(v, kp, "dorado has no options per pool (the subnet's options are sent)");
          } else if (k == "client-class" || k == "require-client-classes") {
            const bool empty = (v.is_string() && v.get<std::string>().empty()) || (v.is_array() && v.empty());
            if (empty)
              t_.use(kp);
            else
              t_.skip(kp, "", std::string(kNoClasses) + ": the pool serves every client of the subnet");
          } else if (k == "comment" && v.is_string()) {
            pool.from += " (Kea comment: " + v.get<std::string>() + ")";
            t_.use(kp);
          } else if (k == "user-context") {
            t_.skip(kp, "", kNoUserContext);
          }
        }
        out.pools.push_back(std::move(pool));
      }
    }
  }

  lease_times(out, scope);

  for (const Scope* sc = &scope; sc != nullptr; sc = sc->parent) {
    if (sc->server_id) {
      out.server_id = sc->server_id;
      break;
    }
  }

  // Options: the subnet's own, then its shared network's (Kea's precedence);
  // the global ones are dorado's [[option]], which a subnet's own code overrides.
  out.options = scope.options;
  if (parent.parent != nullptr) {
    for (const TomlOption& o : parent.options) {
      if (std::any_of(out.options.begin(), out.options.end(), [&](const TomlOption& x) { return x.code == o.code; }))
        continue;
      TomlOption copy = o;
      copy.for_scope = p;
      out.options.push_back(std::move(copy));
    }
  }

  if (relay) {
    read_relay(*relay, at_key(p, "relay"), out, "");
  } else if (shared_relay_pending != nullptr && *shared_relay_pending) {
    // dorado lists a relay in one subnet only: the network's first subnet without its own.
    const Param& r = parent.params.at("relay");
    read_relay(*r.value, r.path, out, p);
    *shared_relay_pending = false;
  }

  if (reservations) {
    const std::string rp = at_key(p, "reservations");
    const Param in_subnet = scope.find("reservations-in-subnet");
    const Param mode = scope.find("reservation-mode");
    bool enabled = true;
    if (in_subnet)
      enabled = in_subnet.value->get<bool>();
    else if (mode)
      enabled = mode.value->get<std::string>() == "all" || mode.value->get<std::string>() == "out-of-pool";
    if (!reservations->is_array()) {
      t_.skip(rp, "", "expected a list of reservations");
    } else if (!enabled && !reservations->empty()) {
      t_.skip(rp, "", "Kea does not use them here (" + (in_subnet ? in_subnet.path + " is false" : mode.path + " is " +
                          quoted(mode.value->get<std::string>())) + ")");
    } else {
      t_.use(rp);
      for (std::size_t i = 0; i < reservations->size(); ++i)
        if (auto r = read_reservation((*reservations)[i], at_index(rp, i), info.network, info.last))
          out.reservations.push_back(std::move(*r));
    }
  }

  out_.subnets.push_back(std::move(out));
  info_.push_back(info);
}

void Converter::read_shared_network(const Json& n, const std::string& p) {
  if (!n.is_object()) {
    t_.skip(p, "", "expected a shared network (an object)");
    return;
  }
  Scope& scope = scopes_.emplace_back();
  scope.parent = global_;
  scope.path = p;
  t_.use(p);
  const Json* subnets = nullptr;
  const Json* name = nullptr;
  for (const auto& [k, v] : n.items()) {
    const std::string kp = at_key(p, k);
    if (k == "subnet4") {
      subnets = &v;
    } else if (k == "name") {
      name = &v;
    } else if (k == "relay") {
      if (v.is_object())
        scope.params[k] = Param{&v, kp};
      else
        t_.skip(kp, "", "expected an object with ip-addresses");
    } else if (k == "interface") {
      if (v.is_string())
        scope.params[k] = Param{&v, kp};
      else
        t_.skip(kp, "", "expected an interface name");
    } else if (k == "comment" && v.is_string()) {
      t_.use(kp);
    } else {
      common_key(k, v, p, scope, Level::shared);
    }
  }
  const std::size_t index = scopes_.size();   // any number that tells networks apart
  std::vector<std::string> ids;
  const std::size_t before = out_.subnets.size();
  bool relay_pending = scope.params.count("relay") != 0;
  if (subnets) {
    const std::string sp = at_key(p, "subnet4");
    if (!subnets->is_array()) {
      t_.skip(sp, "", "expected a list of subnets");
    } else {
      t_.use(sp);
      for (std::size_t i = 0; i < subnets->size(); ++i)
        read_subnet((*subnets)[i], at_index(sp, i), scope, index, &relay_pending);
    }
  }
  const std::size_t count = out_.subnets.size() - before;
  std::string why = "dorado has no shared networks: ";
  if (count == 0) {
    why += "the network has no subnet that converted";
  } else {
    why += count == 1 ? std::string("its one subnet is a subnet of its own")
                      : "its " + std::to_string(count) + " subnets are separate subnets";
    why += "; a client is served from the one subnet that its relay's giaddr (or dorado's address) "
           "selects, never from another subnet of the network";
    if (scope.params.count("relay")) why += "; the network's relay addresses go to its first subnet only";
  }
  if (name)
    t_.skip(at_key(p, "name"), name->is_string() ? quoted(name->get<std::string>()) : "", why);
  else
    t_.skip_node(p, "", why);
  // The relay is claimed by the subnet that takes it, the interface in server_address().
  if (relay_pending) {
    const Param& r = scope.params.at("relay");
    bool none = true;   // no address but Kea's 0.0.0.0: nothing to convert
    for (const auto& [k, v] : r.value->items()) {
      if (k == "ip-address") none = none && v == "0.0.0.0";
      if (k == "ip-addresses") none = none && v.is_array() && std::all_of(v.begin(), v.end(), [](const Json& a) { return a == "0.0.0.0"; });
    }
    if (none)
      t_.use_all(r.path);
    else
      t_.skip(r.path, "",
              count == 0 ? "no subnet of the network converted"
                         : "every subnet of the network has a relay of its own (dorado lists a relay in one subnet)");
  }
}

// ---- globals -------------------------------------------------------------------------

void Converter::read_interfaces(const Json& i, const std::string& p) {
  if (!i.is_object()) {
    t_.skip(p, "", "expected an object");
    return;
  }
  t_.use(p);
  for (const auto& [k, v] : i.items()) {
    const std::string kp = at_key(p, k);
    if (k == "interfaces") {
      if (!v.is_array()) {
        t_.skip(kp, "", "expected a list of interface names");
        continue;
      }
      t_.use(kp);
      for (std::size_t n = 0; n < v.size(); ++n) {
        const std::string ep = at_index(kp, n);
        const std::string* s = json_string(v[n]);
        if (s == nullptr || s->empty()) {
          t_.skip(ep, "", "expected an interface name");
          continue;
        }
        if (*s == "*") {
          t_.skip(ep, "", "dorado serves the ports it is given, not every interface: name them in "
                          "[dpdk] eal_args (--vdev=net_af_packet0,iface=NAME, or -a PCI for a NIC bound to DPDK)");
          continue;
        }
        const std::size_t slash = s->find('/');
        const std::string name = s->substr(0, slash);
        if (slash != std::string::npos) {
          const auto ip = parse_ipv4(s->substr(slash + 1));
          if (!ip) {
            t_.skip(ep, "", "the address after / is not IPv4");
            continue;
          }
          if (interface_address_.empty()) {
            interface_address_ = ip_text(*ip);
            interface_address_path_ = ep;
          }
        }
        if (std::find(interfaces_.begin(), interfaces_.end(), name) == interfaces_.end()) {
          interfaces_.push_back(name);
          out_.eal_args.push_back(Sourced<std::string>{
              "--vdev=net_af_packet" + std::to_string(interfaces_.size() - 1) + ",iface=" + name, ep});
        }
        t_.use(ep);
      }
    } else if (k == "dhcp-socket-type") {
      const std::string* s = json_string(v);
      if (s && (*s == "raw" || *s == "udp"))
        t_.use(kp);   // dorado reads and writes whole frames on its ports: neither applies
      else
        t_.skip(kp, "", "expected \"raw\" or \"udp\"");
    } else if (k == "outbound-interface") {
      const std::string* s = json_string(v);
      if (s && *s == "same-as-inbound")
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado answers out of the port the request came in on (same-as-inbound)");
    } else if (k == "re-detect") {
      if (json_bool(v) == false)
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado's ports are fixed at start-up");
    } else if (k.rfind("service-sockets-", 0) == 0) {
      t_.skip(kp, "", "dorado opens no sockets for DHCP: its ports are DPDK ports, opened at start-up");
    } else if (k == "comment" && v.is_string()) {
      t_.use(kp);
    } else if (k == "user-context") {
      t_.skip(kp, "", kNoUserContext);
    }
  }
  if (!out_.eal_args.empty())   // only the ports named here, as Kea's interfaces list
    out_.eal_args.insert(out_.eal_args.begin(),
                         Sourced<std::string>{"--no-pci", "only the interfaces below, those Kea listens on"});
}

void Converter::read_control_socket(const Json& c, const std::string& p) {
  if (!c.is_object()) {
    t_.skip(p, "", "expected an object");
    return;
  }
  t_.use(p);
  for (const auto& [k, v] : c.items()) {
    const std::string kp = at_key(p, k);
    if (k == "socket-type") {
      if (v == "unix")
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado's control socket is a unix socket");
    } else if (k == "socket-name") {
      const std::string* s = json_string(v);
      if (s && !s->empty() && s->size() <= kMaxSocketPath) {
        out_.control_socket = Sourced<std::string>{*s, kp + " (the same commands: Kea's control protocol)"};
        t_.use(kp);
      } else {
        t_.skip(kp, "", "dorado's [control] socket is a path of 1..107 bytes");
      }
    } else if (k == "comment" && v.is_string()) {
      t_.use(kp);
    } else if (k == "user-context") {
      t_.skip(kp, "", kNoUserContext);
    }
  }
}

void Converter::read_global(const Json& d) {
  const std::string p = "Dhcp4";
  Scope& g = scopes_.emplace_back();
  g.path = p;
  global_ = &g;
  t_.use(p);
  // Definitions first: option-data anywhere may use them.
  if (const auto it = d.find("option-def"); it != d.end()) read_option_defs(*it, at_key(p, "option-def"));
  const Json* subnets = nullptr;
  const Json* shared = nullptr;
  for (const auto& [k, v] : d.items()) {
    const std::string kp = at_key(p, k);
    if (k == "option-def") continue;
    if (k == "subnet4") {
      subnets = &v;
    } else if (k == "shared-networks") {
      shared = &v;
    } else if (k == "reservations") {
      global_reservations_ = &v;
      global_reservations_path_ = kp;
    } else if (k == "interfaces-config") {
      read_interfaces(v, kp);
    } else if (k == "control-socket") {
      read_control_socket(v, kp);
    } else if (k == "hooks-libraries") {
      read_hooks(v, kp);
    } else if (k == "decline-probation-period") {
      if (const auto x = json_uint(v, 0xffffffffu); x && *x >= 1) {
        out_.decline_probation = Sourced<std::uint32_t>{static_cast<std::uint32_t>(*x), kp};
        t_.use(kp);
      } else {
        t_.skip(kp, "", "dorado's [lease] decline_probation is 1..4294967295 seconds");
      }
    } else if (k == "echo-client-id") {
      if (json_bool(v) == true)
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado always echoes the client-id (option 61, RFC 6842)");
    } else if (k == "ip-reservations-unique") {
      if (json_bool(v) == true)
        t_.use(kp);
      else
        t_.skip(kp, "", "dorado reserves an address for one client only");
    } else if (k == "host-reservation-identifiers") {
      t_.use_all(kp);   // each reservation's identifier decides (hw-address, client-id; the others are listed)
    } else if (k == "early-global-reservations-lookup" || k == "reservations-lookup-first") {
      if (json_bool(v).has_value())
        t_.use(kp);   // lookup order only (classes, speed): the same reservations apply
      else
        t_.skip(kp, "", "expected true or false");
    } else if (k == "lease-database") {
      std::string file = "/var/lib/kea/kea-leases4.csv";
      std::string type = "memfile";
      if (v.is_object() && v.contains("name") && v["name"].is_string()) file = v["name"].get<std::string>();
      if (v.is_object() && v.contains("type") && v["type"].is_string()) type = v["type"].get<std::string>();
      t_.skip(kp, "", type == "memfile"
                          ? "dorado keeps its leases in its own store ([store] dir); move Kea's leases with "
                            "`dorado-leases import kea " + file + " -c dorado.toml` while both servers are stopped"
                          : "dorado keeps its leases in its own store ([store] dir); dump Kea's " + type +
                                " leases to a memfile CSV (kea-admin lease-dump) and import it with dorado-leases");
    } else if (k == "hosts-database" || k == "hosts-databases") {
      t_.skip(kp, "", "dorado's reservations are in its config file only: add the database's reservations to "
                      "the Kea config (reservations) before converting");
    } else if (k == "expired-leases-processing") {
      t_.skip(kp, "", "dorado reclaims expired leases by itself and keeps them as history until the address is "
                      "needed; it has no settings for it");
    } else if (k == "loggers") {
      t_.skip(kp, "", "dorado logs to stderr (the journal under systemd); see docs/operations.md");
    } else if (k == "dhcp-ddns") {
      read_dhcp_ddns(v, kp);
    } else if (k == "multi-threading") {
      t_.skip(kp, "", "dorado's parallelism is [dpdk] workers (lcores); set it for the machine");
    } else if (k == "dhcp-queue-control" || k == "parked-packet-limit") {
      t_.skip(kp, "", "dorado has no packet queue settings (its queues are the ports' rings)");
    } else if (k == "sanity-checks") {
      t_.skip(kp, "", "dorado checks leases against its subnets by itself when it loads them");
    } else if (k == "compatibility") {
      t_.skip(kp, "", "dorado has no lenient parsing switches");
    } else if (k == "config-control" || k == "server-tag") {
      t_.skip(kp, "", "dorado reads its config from its file only (no config backend)");
    } else if (k == "statistic-default-sample-count" || k == "statistic-default-sample-age") {
      t_.skip(kp, "", "dorado's statistics keep one value each, no samples");
    } else if (k == "dhcp4o6-port") {
      t_.skip(kp, "", kNo4o6);
    } else if (k == "client-classes") {
      if (!v.is_array()) {
        t_.skip(kp, "", kNoClasses);
      } else {
        if (v.empty()) t_.use(kp);
        for (std::size_t i = 0; i < v.size(); ++i) {
          const Json& c = v[i];
          t_.skip(at_index(kp, i),
                  c.is_object() && c.contains("name") && c["name"].is_string() ? "name " + quoted(c["name"].get<std::string>()) : "",
                  kNoClasses);
        }
      }
    } else if (k == "comment" && v.is_string()) {
      out_.header.push_back("Kea comment: " + v.get<std::string>());
      t_.use(kp);
    } else {
      common_key(k, v, p, g, Level::global);
    }
  }
  if (subnets) {
    const std::string sp = at_key(p, "subnet4");
    if (!subnets->is_array()) {
      t_.skip(sp, "", "expected a list of subnets");
    } else {
      t_.use(sp);
      for (std::size_t i = 0; i < subnets->size(); ++i)
        read_subnet((*subnets)[i], at_index(sp, i), g, SIZE_MAX, nullptr);
    }
  }
  if (shared) {
    const std::string sp = at_key(p, "shared-networks");
    if (!shared->is_array()) {
      t_.skip(sp, "", "expected a list of shared networks");
    } else {
      t_.use(sp);
      for (std::size_t i = 0; i < shared->size(); ++i) read_shared_network((*shared)[i], at_index(sp, i));
    }
  }
  out_.options = g.options;
  if (g.server_id) {
    // Subnets took it as their server_id; dorado has no global option 54.
  }
}

void Converter::global_reservations() {
  if (global_reservations_ == nullptr) return;
  const Json& list = *global_reservations_;
  const std::string& p = global_reservations_path_;
  if (!list.is_array()) {
    t_.skip(p, "", "expected a list of reservations");
    return;
  }
  t_.use(p);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Json& r = list[i];
    const std::string rp = at_index(p, i);
    const auto ip = r.is_object() && r.contains("ip-address") ? ipv4(r["ip-address"]) : std::nullopt;
    const std::string detail = ip ? "ip-address " + ip_text(*ip) : "";
    std::size_t subnet = SIZE_MAX;
    if (ip) {
      for (std::size_t s = 0; s < info_.size(); ++s)
        if (*ip >= info_[s].network && *ip <= info_[s].last) subnet = s;
    }
    if (subnet == SIZE_MAX) {
      t_.skip(rp, detail, ip ? "ip-address lies in no subnet: dorado keeps each reservation in its subnet"
                             : "a global reservation without ip-address: dorado's reservations are addresses, kept "
                               "in their subnets");
      continue;
    }
    const Scope& scope = *info_[subnet].scope;
    const Param global_flag = scope.find("reservations-global");
    const Param mode = scope.find("reservation-mode");
    const bool used = global_flag ? global_flag.value->get<bool>()
                                  : mode && mode.value->get<std::string>() == "global";
    if (!used) {
      t_.skip(rp, detail, "Kea does not use global reservations in " + out_.subnets[subnet].from +
                              " (reservations-global is not true there)");
      continue;
    }
    if (auto res = read_reservation(r, rp, info_[subnet].network, info_[subnet].last)) {
      res->from += " (a global reservation, in the subnet that holds its address)";
      out_.subnets[subnet].reservations.push_back(std::move(*res));
    }
  }
}

void Converter::server_address() {
  std::uint32_t address = 0;
  if (!options_.server_address.empty()) {
    address = *parse_ipv4(options_.server_address);   // checked by convert_kea_config
    out_.server_address = Sourced<std::string>{ip_text(address), "--server-address"};
  } else if (!interface_address_.empty()) {
    address = *parse_ipv4(interface_address_);
    out_.server_address = Sourced<std::string>{interface_address_, interface_address_path_};
  } else if (const auto ha = ha_self_address(); ha) {
    address = *ha;
    out_.server_address = Sourced<std::string>{ip_text(address), "this server's HA peer url (see note)"};
    t_.note("Dhcp4", "[server] address = " + ip_text(address) + " is this server's address in its HA peer url, "
                     "inside a subnet: check that it is the server's address on that link (else give "
                     "--server-address)");
  } else {
    // A placeholder in the subnet Kea serves on an interface (else the first):
    // its first address that no reservation, router or server_id takes.
    std::size_t s = SIZE_MAX;
    for (std::size_t i = 0; i < info_.size() && s == SIZE_MAX; ++i)
      if (info_[i].scope->find("interface")) s = i;
    if (s == SIZE_MAX && !info_.empty()) s = 0;
    if (s == SIZE_MAX) {
      out_.server_address = Sourced<std::string>{"192.0.2.1", "placeholder: set it with --server-address"};
      t_.note("Dhcp4", "[server] address is the placeholder 192.0.2.1 (Kea's config has no address of its own "
                       "and no subnet converted): give the server's address with --server-address");
      return;
    }
    const SubnetInfo& in = info_[s];
    std::uint32_t a = in.last - in.network >= 3 ? in.network + 1 : in.network;
    auto taken = [&](std::uint32_t x) {
      const TomlSubnet& ts = out_.subnets[s];
      if (ts.server_id && ts.server_id->value == ip_text(x)) return true;
      for (const TomlOption& o : ts.options)
        if (o.code == 3 && std::find(o.value.ips.begin(), o.value.ips.end(), ip_text(x)) != o.value.ips.end())
          return true;
      return std::any_of(ts.reservations.begin(), ts.reservations.end(),
                         [&](const TomlReservation& r) { return r.address == ip_text(x); });
    };
    while (a < in.last && taken(a)) ++a;
    address = a;
    out_.server_address = Sourced<std::string>{
        ip_text(a), "PLACEHOLDER: the server's own address; give it with --server-address"};
    t_.note("Dhcp4", "[server] address = " + ip_text(a) + " is a placeholder in " + out_.subnets[s].from +
                         " (Kea takes its addresses from its interfaces; the config names none): give the server's "
                         "address on that link with --server-address (dorado answers ARP for it and sends it as "
                         "option 54)");
  }
  // A shared network's interface that every subnet overrides does nothing in Kea either.
  for (const Scope& sc : scopes_)
    if (const auto it = sc.params.find("interface"); it != sc.params.end() && sc.path.find(".subnet4[") == std::string::npos)
      t_.use(it->second.path);
  // Directly attached clients are served on the subnet of that address only.
  for (std::size_t i = 0; i < info_.size(); ++i) {
    const Param iface = info_[i].scope->find("interface");
    if (!iface) continue;
    const bool here = address >= info_[i].network && address <= info_[i].last;
    if (here) {
      t_.use(iface.path);
      continue;
    }
    const std::string why = "dorado serves directly attached clients on the subnet of [server] address (" +
                            ip_text(address) + ") only; clients on interface " +
                            quoted(iface.value->get<std::string>()) + " are served from this subnet when relayed";
    if (iface.path.rfind(out_.subnets[i].from, 0) == 0)
      t_.skip(iface.path, "", why);
    else
      t_.skip_for(iface.path, out_.subnets[i].from, "", why);
  }
}

std::optional<std::uint32_t> Converter::ha_self_address() const {
  if (!out_.ha) return std::nullopt;
  for (const TomlHaPeer& p : out_.ha->peers) {
    if (p.name != out_.ha->this_server.value) continue;
    const auto ip = parse_ipv4(p.address.substr(0, p.address.find(':')));
    if (!ip) return std::nullopt;
    for (const SubnetInfo& in : info_)
      if (*ip > in.network && *ip < in.last) return ip;
  }
  return std::nullopt;
}

void Converter::assign_ids() {
  std::set<std::uint32_t> used;
  for (std::size_t i = 0; i < out_.subnets.size(); ++i)
    if (info_[i].id_given) used.insert(out_.subnets[i].id.value);
  std::uint32_t next = 1;
  for (std::size_t i = 0; i < out_.subnets.size(); ++i) {
    if (info_[i].id_given) continue;
    while (used.count(next)) ++next;
    used.insert(next);
    out_.subnets[i].id = Sourced<std::uint32_t>{next, "no id in the Kea config: numbered here (see note)"};
    t_.note(out_.subnets[i].from, "no id: Kea numbers such subnets itself; dorado-migrate gave it id " +
                                      std::to_string(next) + ". Give the subnet this id in the Kea config too, or "
                                      "set the id Kea gave it (the subnet_id of its leases)");
    ++next;
  }
}

// ---- dorado's own check ------------------------------------------------------------------

// Takes out the element that dorado's config check refuses (its key as the
// check names it: subnet[1].pools[0], option[2].code, ...), and lists it.
// False if the key names nothing that can be taken out.
bool Converter::drop(const std::string& key, const std::string& message) {
  const std::string why = "dorado refuses it: " + message;
  auto index_of = [](const std::string& k, const std::string& name, std::size_t& pos) -> std::optional<std::size_t> {
    if (k.compare(pos, name.size() + 1, name + "[") != 0) return std::nullopt;
    const std::size_t close = k.find(']', pos);
    if (close == std::string::npos) return std::nullopt;
    const std::size_t n = std::stoul(k.substr(pos + name.size() + 1, close - pos - name.size() - 1));
    pos = close + 1;
    if (pos < k.size() && k[pos] == '.') ++pos;
    return n;
  };
  auto report = [&](const std::string& source, const std::string& for_scope, const std::string& fallback) {
    const std::string path = source.empty() ? fallback : source;
    if (!for_scope.empty())
      t_.skip_for(path, for_scope, "", why);
    else
      t_.skip(path, "", why);
  };
  std::size_t pos = 0;
  if (const auto i = index_of(key, "subnet", pos)) {
    TomlSubnet* s = nth_live(out_.subnets, *i);
    if (s == nullptr) return false;
    const std::string rest = key.substr(pos);
    std::size_t rp = 0;
    if (const auto j = index_of(rest, "pools", rp)) {
      if (TomlPool* x = nth_live(s->pools, *j)) {
        x->dropped = true;
        report(x->source, "", s->from);
        return true;
      }
      return false;
    }
    rp = 0;
    if (const auto j = index_of(rest, "reservation", rp)) {
      if (TomlReservation* x = nth_live(s->reservations, *j)) {
        x->dropped = true;
        report(x->source, "", s->from);
        return true;
      }
      return false;
    }
    rp = 0;
    if (const auto j = index_of(rest, "option", rp)) {
      if (TomlOption* x = nth_live(s->options, *j)) {
        x->dropped = true;
        report(x->source, x->for_scope, s->from);
        return true;
      }
      return false;
    }
    rp = 0;
    if (const auto j = index_of(rest, "relay", rp)) {
      if (TomlRelay* x = nth_live(s->relays, *j)) {
        x->dropped = true;
        report(x->source, x->for_scope, s->from);
        return true;
      }
      return false;
    }
    auto reset = [&](auto& field) {
      if (!field) return false;
      const std::string src = first_path(field->from);
      report(src, src.rfind(s->from, 0) == 0 ? "" : s->from, s->from);
      field.reset();
      return true;
    };
    if (rest == "lease_time") return reset(s->lease_time);
    if (rest == "min_lease_time") return reset(s->min_lease_time);
    if (rest == "max_lease_time") return reset(s->max_lease_time);
    if (rest == "t1_ratio" || rest == "t2_ratio") {
      const bool a = reset(s->t1_ratio);
      const bool b = reset(s->t2_ratio);
      return a || b;
    }
    if (rest == "server_id") return reset(s->server_id);
    if (rest == "qualifying_suffix") return reset(s->qualifying_suffix);
    // The prefix, the id, the subnet as a whole: the subnet goes.
    s->dropped = true;
    t_.skip(s->from, "", why);
    return true;
  }
  pos = 0;
  if (const auto i = index_of(key, "option", pos)) {
    if (TomlOption* x = nth_live(out_.options, *i)) {
      x->dropped = true;
      report(x->source, "", "Dhcp4");
      return true;
    }
    return false;
  }
  if (key.rfind("ha", 0) == 0 && out_.ha && !out_.ha_dropped) {
    out_.ha_dropped = true;
    t_.skip(out_.ha->from, "", why);
    return true;
  }
  if (key.rfind("ddns", 0) == 0 && out_.ddns && !out_.ddns_dropped) {
    TomlDdns& d = *out_.ddns;
    auto list = [&](const std::string& path) { tracker_for(path).skip(path, "", why); };
    // "ddns.NAME[N]...": drops the Nth live entry of `items` (nullopt: not NAME).
    auto drop_nth = [&](const std::string& name, auto& items) -> std::optional<bool> {
      std::size_t kpos = 5;
      const auto j = index_of(key, name, kpos);
      if (!j) return std::nullopt;
      auto* x = nth_live(items, *j);
      if (x == nullptr) return false;
      x->dropped = true;
      list(x->source);
      return true;
    };
    if (const auto r = drop_nth("tsig_key", d.keys)) return *r;
    if (const auto r = drop_nth("forward_zone", d.forward)) return *r;
    if (const auto r = drop_nth("reverse_zone", d.reverse)) return *r;
    auto reset = [&](auto& field) {
      if (!field) return false;
      const std::string src = first_path(field->from);
      if (!src.empty()) list(src);
      field.reset();
      return !src.empty();
    };
    if (key == "ddns.qualifying_suffix") return reset(d.qualifying_suffix);
    if (key == "ddns.generated_prefix") return reset(d.generated_prefix);
    if (key == "ddns.replace_client_name") return reset(d.replace_client_name);
    if (key == "ddns.ttl") return reset(d.ttl);
    if (key == "ddns.timeout_ms") return reset(d.timeout_ms);
    // The section as a whole ([store] durability, ...): [ddns] goes.
    out_.ddns_dropped = true;
    t_.skip(dhcp_ddns_path_, "", why);
    return true;
  }
  if (key == "lease.decline_probation" && out_.decline_probation) {
    t_.skip(out_.decline_probation->from, "", why);
    out_.decline_probation.reset();
    return true;
  }
  if (key == "lease.offer_hold" && out_.offer_hold) {
    t_.skip(out_.offer_hold->from, "", why);
    out_.offer_hold.reset();
    return true;
  }
  if (key == "control.socket" && out_.control_socket) {
    t_.skip(first_path(out_.control_socket->from), "", why);
    out_.control_socket.reset();
    return true;
  }
  if (key.rfind("dpdk", 0) == 0 && !out_.eal_args.empty()) {
    for (const auto& a : out_.eal_args)
      if (a.from.rfind("Dhcp4", 0) == 0) t_.skip(a.from, "", why);
    out_.eal_args.clear();
    return true;
  }
  return false;
}

void Converter::check_loop() {
  for (int round = 0; round < 10000; ++round) {
    const config::LoadResult r = config::load_config_string(write_toml(out_, true), "dorado.toml");
    if (r.ok()) return;
    std::vector<std::pair<std::string, std::string>> errors;
    for (const config::ConfigError& e : r.errors) errors.emplace_back(e.key, e.message);
    // One element out per round (the first error that names one): the
    // indices in the keys are those of the text just checked, and one
    // element out can settle other errors (an overlap is reported once per pair).
    bool any = false;
    for (const auto& [k, m] : errors) {
      if (!k.empty() && drop(k, m)) {
        any = true;
        break;
      }
    }
    if (!any) {
      for (const auto& [k, m] : errors) check_errors_.push_back(k.empty() ? m : k + ": " + m);
      return;
    }
  }
}

// ---- what was read with nothing of its own to write ---------------------------------

namespace {

// The next "Dhcp4" or "DhcpDdns" in `toml` from `from`, and its length.
std::size_t next_root(const std::string& toml, std::size_t from, std::size_t& len) {
  for (std::size_t p = toml.find("Dhcp", from); p != std::string::npos; p = toml.find("Dhcp", p + 4)) {
    if (toml.compare(p, 5, "Dhcp4") == 0) {
      len = 5;
      return p;
    }
    if (toml.compare(p, 8, "DhcpDdns") == 0) {
      len = 8;
      return p;
    }
  }
  return std::string::npos;
}

// The Kea paths the TOML's comments name.
std::set<std::string> provenance_paths(const std::string& toml) {
  std::set<std::string> out;
  std::size_t line_start = 0;
  while (line_start < toml.size()) {
    std::size_t end = toml.find('\n', line_start);
    if (end == std::string::npos) end = toml.size();
    const std::size_t hash = toml.find('#', line_start);
    std::size_t len = 0;
    std::size_t p = hash < end ? next_root(toml, hash, len) : std::string::npos;
    while (p != std::string::npos && p < end) {
      std::size_t e = p + len;
      while (e < end) {
        const char ch = toml[e];
        if (ch == '.' && e + 1 < end && (std::isalnum(static_cast<unsigned char>(toml[e + 1])) || toml[e + 1] == '_' ||
                                         toml[e + 1] == '-')) {
          ++e;
          while (e < end && (std::isalnum(static_cast<unsigned char>(toml[e])) || toml[e] == '_' || toml[e] == '-')) ++e;
        } else if (ch == '[' && e + 1 < end && std::isdigit(static_cast<unsigned char>(toml[e + 1]))) {
          std::size_t d = e + 1;
          while (d < end && std::isdigit(static_cast<unsigned char>(toml[d]))) ++d;
          if (d >= end || toml[d] != ']') break;
          e = d + 1;
        } else {
          break;
        }
      }
      out.insert(toml.substr(p, e - p));
      p = next_root(toml, e, len);
    }
    line_start = end + 1;
  }
  return out;
}

// A path the TOML names stands for everything under it, except a subnet's or
// a hook library's (their tables hold values that name their own paths).
bool covers(const std::string& path) {
  const std::size_t open = path.rfind('[');
  if (open == std::string::npos || path.back() != ']') return true;
  const std::string list = path.substr(0, open);
  return !(list.size() >= 7 && list.compare(list.size() - 7, 7, "subnet4") == 0) &&
         !(list.size() >= 15 && list.compare(list.size() - 15, 15, "hooks-libraries") == 0);
}

// The values that are neither named by the TOML nor listed: read, and the
// same in dorado without writing anything (or overridden everywhere, or used
// to write something else). Whole subtrees collapse to their path.
bool silent(const Json& node, const std::string& path, const std::set<std::string>& named, const Tracker& t,
            std::vector<std::string>& out) {
  if (t.listed(path)) return false;
  if (named.count(path) && covers(path)) return false;
  if ((node.is_object() || node.is_array()) && !node.empty()) {
    const std::size_t mark = out.size();
    bool all = true;
    if (node.is_object()) {
      for (const auto& [k, v] : node.items()) all = silent(v, at_key(path, k), named, t, out) && all;
    } else {
      for (std::size_t i = 0; i < node.size(); ++i) all = silent(node[i], at_index(path, i), named, t, out) && all;
    }
    if (all && !named.count(path) && path.find('.') != std::string::npos) {
      out.resize(mark);
      out.push_back(path);
      return true;
    }
    return false;
  }
  if (named.count(path)) return false;
  out.push_back(path);
  return true;
}

}  // namespace

Conversion Converter::run() {
  Conversion c;
  t_.use("");
  for (const auto& [k, v] : root_.items()) {
    if (k == "Dhcp4") continue;
    if (k == "DhcpDdns" && d2_root_ == nullptr) {   // Kea's D2 config in the same file: [ddns]'s keys and zones
      d2_ = &v;
      d2_tracker_ = &t_;
      continue;
    }
    t_.skip(k, "", k == "Dhcp6"      ? "dorado serves DHCPv4 only"
                   : k == "DhcpDdns" ? "the D2 config is read from --d2 " + options_.d2_name + " instead"
                                     : "only the Dhcp4 part of the file is converted");
  }
  if (d2_root_ != nullptr) {
    d2_tracker_ = &d2_t_;
    d2_t_.use("");
    for (const auto& [k, v] : d2_root_->items()) {
      if (k == "DhcpDdns") d2_ = &v;
      else d2_t_.skip(k, "", "only the DhcpDdns part of the --d2 file is read");
    }
  }
  read_global(root_["Dhcp4"]);
  global_reservations();
  server_address();
  assign_ids();
  read_ddns();
  check_loop();
  c.findings = t_.collect(root_);
  if (d2_root_ != nullptr) {
    const std::vector<Finding> more = d2_t_.collect(*d2_root_);
    c.findings.insert(c.findings.end(), more.begin(), more.end());
  }
  c.check_errors = check_errors_;
  for (const TomlSubnet& s : out_.subnets) {
    if (s.dropped) continue;
    ++c.counts.subnets;
    for (const auto& p : s.pools) c.counts.pools += p.dropped ? 0 : 1;
    for (const auto& r : s.reservations) c.counts.reservations += r.dropped ? 0 : 1;
    for (const auto& o : s.options) c.counts.options += o.dropped ? 0 : 1;
    for (const auto& r : s.relays) c.counts.relays += r.dropped ? 0 : 1;
  }
  for (const auto& o : out_.options) c.counts.options += o.dropped ? 0 : 1;
  c.counts.ha = out_.ha && !out_.ha_dropped;
  c.counts.ddns = out_.ddns && !out_.ddns_dropped;
  if (c.counts.ddns) {
    for (const auto* zones : {&out_.ddns->forward, &out_.ddns->reverse})
      for (const TomlDdnsZone& z : *zones) c.counts.ddns_zones += z.dropped ? 0 : 1;
  }

  std::vector<std::string> header;
  header.push_back("dorado config converted by dorado-migrate from the Kea DHCPv4 config" +
                   (options_.source_name.empty() ? std::string() : " " + options_.source_name) + ".");
  header.push_back("After each value: the Kea JSON path it comes from. What has no equivalent in dorado");
  const std::size_t n = c.not_converted();
  header.push_back(n == 0 ? "was nothing: everything converted."
                          : "was listed on stderr (" + std::to_string(n) + " entries \"not converted\").");
  if (!c.check_errors.empty())
    header.push_back("This file does not pass dorado --check-config yet: see the errors listed on stderr.");
  header.insert(header.end(), out_.header.begin(), out_.header.end());
  out_.header = std::move(header);
  std::vector<std::string> quiet;
  const std::set<std::string> named = provenance_paths(write_toml(out_));
  silent(root_, "", named, t_, quiet);
  if (d2_root_ != nullptr) silent(*d2_root_, "", named, d2_t_, quiet);
  if (!quiet.empty()) {
    out_.footer.push_back("Read from the Kea config with nothing of their own to write here (what dorado does");
    out_.footer.push_back("anyway, overridden in every subnet, or used for a value above):");
    for (const std::string& q : quiet) out_.footer.push_back("  " + q);
  }
  c.toml = write_toml(out_);
  return c;
}

Conversion convert_kea_config(std::string_view text, const KeaConfigOptions& options) {
  Conversion c;
  if (!options.server_address.empty()) {
    const auto ip = parse_ipv4(options.server_address);
    if (!ip || *ip == 0 || *ip == 0xffffffffu) {
      c.error = "--server-address " + options.server_address + ": not a unicast IPv4 address a.b.c.d";
      return c;
    }
  }
  KeaJson j = parse_kea_json(text);
  if (!j.doc) {
    c.error = "not JSON (as Kea reads it, comments allowed): " + j.error;
    return c;
  }
  const Json& root = *j.doc;
  std::optional<Json> d2;
  if (options.d2_text) {
    const std::string name = "--d2 " + (options.d2_name.empty() ? std::string("file") : options.d2_name);
    KeaJson dj = parse_kea_json(*options.d2_text);
    if (!dj.doc) {
      c.error = name + ": not JSON (as Kea reads it, comments allowed): " + dj.error;
      return c;
    }
    if (!dj.doc->is_object() || !dj.doc->contains("DhcpDdns") || !(*dj.doc)["DhcpDdns"].is_object()) {
      c.error = name + ": not a Kea D2 config (kea-dhcp-ddns.conf): no \"DhcpDdns\" object at the top";
      return c;
    }
    d2 = std::move(dj.doc);
  }
  if (!root.is_object()) {
    c.error = "not a Kea DHCPv4 config: the file is not a JSON object with a \"Dhcp4\" member";
    return c;
  }
  const auto d = root.find("Dhcp4");
  if (d == root.end()) {
    std::string keys;
    for (const auto& [k, v] : root.items()) keys += (keys.empty() ? "" : ", ") + quoted(k);
    c.error = root.contains("Dhcp6")
                  ? "a Kea DHCPv6 config (\"Dhcp6\"), not DHCPv4: dorado serves DHCPv4 only"
                  : "not a Kea DHCPv4 config: no \"Dhcp4\" member at the top" +
                        (keys.empty() ? std::string(" (the object is empty)") : " (it has " + keys + ")");
    return c;
  }
  if (!d->is_object()) {
    c.error = "not a Kea DHCPv4 config: \"Dhcp4\" is not an object";
    return c;
  }
  try {
    return Converter(root, options, d2 ? &*d2 : nullptr).run();
  } catch (const std::exception& e) {   // nlohmann type errors: a bug here, reported, not thrown
    c.error = std::string("internal error while converting: ") + e.what();
    return c;
  }
}

}  // namespace dorado::migrate
