// TomlConfig -> dorado's TOML (docs/configuration.md), each value followed by
// a comment that names where it came from in the Kea config.
#include <charconv>
#include <cstdio>
#include <sstream>

#include "migrate/model.hpp"

namespace dorado::migrate {
namespace {

constexpr std::size_t kCommentColumn = 40;

class Out {
 public:
  // `line` then, if `from` is set, padding and "# from".
  void line(const std::string& text, const std::string& from = {}) {
    s_ << text;
    if (!from.empty()) {
      s_ << std::string(text.size() < kCommentColumn ? kCommentColumn - text.size() : 1, ' ') << "# "
         << one_line(from);
    }
    s_ << '\n';
  }
  void comment(const std::string& text) { s_ << "# " << one_line(text) << '\n'; }
  void blank() { s_ << '\n'; }
  std::string str() const { return s_.str(); }

 private:
  // TOML comments take no control characters but tab.
  static std::string one_line(const std::string& s) {
    std::string o;
    for (const char c : s) {
      const auto u = static_cast<unsigned char>(c);
      o += (u < 0x20 && c != '\t') || u == 0x7f ? ' ' : c;
    }
    return o;
  }
  std::ostringstream s_;
};

std::string number(double x) {
  char b[64];
  const auto r = std::to_chars(b, b + sizeof b, x);
  std::string s(b, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string value_text(const DoradoValue& v, std::string& key) {
  using K = DoradoValue::Kind;
  auto list = [](const auto& items, auto text) {
    if (items.size() == 1) return text(items.front());
    std::string s = "[";
    for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + text(items[i]);
    return s + "]";
  };
  switch (v.kind) {
    case K::ip:
      key = "ip";
      return list(v.ips, [](const std::string& ip) { return toml_string(ip); });
    case K::string: key = "string"; return toml_string(v.text);
    case K::u8: key = "u8"; break;
    case K::u16: key = "u16"; break;
    case K::u32: key = "u32"; break;
    case K::hex: key = "hex"; return toml_string(hex_string(v.bytes));
  }
  return list(v.ints, [](std::uint64_t x) { return std::to_string(x); });
}

void write_option(Out& o, const TomlOption& opt, const std::string& table) {
  for (const std::string& c : opt.comments) o.comment("Kea comment: " + c);
  o.line("[[" + table + "]]", opt.from);
  o.line("code = " + std::to_string(opt.code));
  std::string key;
  const std::string value = value_text(opt.value, key);
  o.line(key + " = " + value, opt.value.explain);
  if (opt.always_send) o.line("always_send = true");
}

template <typename T>
void scalar(Out& o, const char* key, const std::optional<Sourced<T>>& v) {
  if (!v) return;
  if constexpr (std::is_same_v<T, bool>)
    o.line(std::string(key) + " = " + (v->value ? "true" : "false"), v->from);
  else if constexpr (std::is_same_v<T, double>)
    o.line(std::string(key) + " = " + number(v->value), v->from);
  else if constexpr (std::is_same_v<T, std::string>)
    o.line(std::string(key) + " = " + toml_string(v->value), v->from);
  else
    o.line(std::string(key) + " = " + std::to_string(v->value), v->from);
}

}  // namespace

std::string toml_string(std::string_view s) {
  std::string o = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\b': o += "\\b"; break;
      case '\t': o += "\\t"; break;
      case '\n': o += "\\n"; break;
      case '\f': o += "\\f"; break;
      case '\r': o += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += ch;
        }
    }
  }
  return o + "\"";
}

std::string write_toml(const TomlConfig& c, bool check) {
  Out o;
  for (const std::string& h : c.header) o.comment(h);
  if (!c.header.empty()) o.blank();

  o.line("[server]");
  o.line("address = " + toml_string(c.server_address.value), c.server_address.from);

  if (!c.eal_args.empty()) {
    o.blank();
    o.line("[dpdk]");
    o.line("eal_args = [");
    for (const auto& a : c.eal_args) o.line("  " + toml_string(a.value) + ",", a.from);
    o.line("]");
  }
  if (c.control_socket) {
    o.blank();
    o.line("[control]");
    o.line("socket = " + toml_string(c.control_socket->value), c.control_socket->from);
  }
  if (c.decline_probation || c.offer_hold) {
    o.blank();
    o.line("[lease]");
    scalar(o, "decline_probation", c.decline_probation);
    scalar(o, "offer_hold", c.offer_hold);
  }
  for (const TomlOption& opt : c.options) {
    if (opt.dropped) continue;
    o.blank();
    write_option(o, opt, "option");
  }
  for (const TomlSubnet& s : c.subnets) {
    if (s.dropped) continue;
    o.blank();
    for (const std::string& cm : s.comments) o.comment("Kea comment: " + cm);
    o.line("[[subnet]]", s.from);
    o.line("id = " + std::to_string(s.id.value), s.id.from);
    o.line("prefix = " + toml_string(s.prefix.value), s.prefix.from);
    std::size_t pools = 0;
    for (const TomlPool& p : s.pools) pools += p.dropped ? 0 : 1;
    if (pools > 0) {
      o.line("pools = [");
      for (const TomlPool& p : s.pools)
        if (!p.dropped) o.line("  " + toml_string(p.range) + ",", p.from);
      o.line("]");
    }
    scalar(o, "lease_time", s.lease_time);
    scalar(o, "min_lease_time", s.min_lease_time);
    scalar(o, "max_lease_time", s.max_lease_time);
    scalar(o, "t1_ratio", s.t1_ratio);
    scalar(o, "t2_ratio", s.t2_ratio);
    scalar(o, "server_id", s.server_id);
    if (c.ddns && !c.ddns_dropped) scalar(o, "qualifying_suffix", s.qualifying_suffix);
    std::size_t relays = 0;
    for (const TomlRelay& r : s.relays) relays += r.dropped ? 0 : 1;
    if (relays > 0) {
      o.line("relay = [");
      for (const TomlRelay& r : s.relays)
        if (!r.dropped) o.line("  " + toml_string(r.address) + ",", r.from);
      o.line("]");
    }
    for (const TomlReservation& r : s.reservations) {
      if (r.dropped) continue;
      o.blank();
      for (const std::string& cm : r.comments) o.comment("Kea comment: " + cm);
      o.line("[[subnet.reservation]]", r.from);
      if (!r.mac.empty()) o.line("mac = " + toml_string(r.mac));
      if (!r.client_id.empty()) o.line("client_id = " + toml_string(r.client_id));
      o.line("address = " + toml_string(r.address));
    }
    for (const TomlOption& opt : s.options) {
      if (opt.dropped) continue;
      o.blank();
      write_option(o, opt, "subnet.option");
    }
  }
  if (c.ha && !c.ha_dropped) {
    const TomlHa& h = *c.ha;
    o.blank();
    o.line("[ha]", h.from);
    o.line("this_server = " + toml_string(h.this_server.value), h.this_server.from);
    o.line("mode = " + toml_string(h.mode.value), h.mode.from);
    o.line("ack = " + toml_string(h.ack.value), h.ack.from);
    o.line("heartbeat_ms = " + std::to_string(h.heartbeat_ms.value), h.heartbeat_ms.from);
    o.line("max_response_delay_ms = " + std::to_string(h.max_response_delay_ms.value), h.max_response_delay_ms.from);
    o.line("max_ack_delay_ms = " + std::to_string(h.max_ack_delay_ms.value), h.max_ack_delay_ms.from);
    o.line("max_unacked_clients = " + std::to_string(h.max_unacked_clients.value), h.max_unacked_clients.from);
    if (h.insecure || check) {
      o.line("insecure = true", h.insecure ? h.insecure_from : "");
    } else {
      o.line("ca = " + toml_string(h.ca.value), h.ca.from);
      o.line("cert = " + toml_string(h.cert.value), h.cert.from);
      o.line("key = " + toml_string(h.key.value), h.key.from);
    }
    for (const TomlHaPeer& p : h.peers) {
      o.blank();
      o.line("[[ha.peer]]", p.from);
      o.line("name = " + toml_string(p.name));
      o.line("address = " + toml_string(p.address));
      o.line("role = " + toml_string(p.role));
    }
  }
  if (c.ddns && !c.ddns_dropped) {
    const TomlDdns& d = *c.ddns;
    o.blank();
    o.line("[ddns]", d.from);
    scalar(o, "qualifying_suffix", d.qualifying_suffix);
    scalar(o, "override_client_update", d.override_client_update);
    scalar(o, "override_no_update", d.override_no_update);
    scalar(o, "replace_client_name", d.replace_client_name);
    scalar(o, "generated_prefix", d.generated_prefix);
    scalar(o, "ttl", d.ttl);
    scalar(o, "update_on_renew", d.update_on_renew);
    scalar(o, "timeout_ms", d.timeout_ms);
    for (const TomlDdnsKey& k : d.keys) {
      if (k.dropped) continue;
      o.blank();
      o.line("[[ddns.tsig_key]]", k.from);
      o.line("name = " + toml_string(k.name));
      o.line("algorithm = " + toml_string(k.algorithm));
      if (!k.secret_file.empty() && !check)
        o.line("secret_file = " + toml_string(k.secret_file));
      else
        o.line("secret = " + toml_string(k.secret_file.empty() ? k.secret : "AAAA"));
    }
    for (const auto* zones : {&d.forward, &d.reverse}) {
      for (const TomlDdnsZone& z : *zones) {
        if (z.dropped) continue;
        o.blank();
        o.line(zones == &d.forward ? "[[ddns.forward_zone]]" : "[[ddns.reverse_zone]]", z.from);
        o.line("name = " + toml_string(z.name));
        std::string servers = "servers = [";
        for (std::size_t i = 0; i < z.servers.size(); ++i) servers += (i ? ", " : "") + toml_string(z.servers[i]);
        o.line(servers + "]");
        if (!z.key.empty()) o.line("key = " + toml_string(z.key));
      }
    }
  }
  if (!c.footer.empty()) o.blank();
  for (const std::string& f : c.footer) o.comment(f);
  return o.str();
}

}  // namespace dorado::migrate
