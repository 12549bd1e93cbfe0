// HaSection's helpers and the digest of what an [ha] pair must share. No
// toml11 here (ha.cpp reads the section).
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/values.hpp"

namespace dorado::config {

const HaPeer* HaSection::self() const noexcept {
  if (!enabled) return nullptr;
  for (const HaPeer& p : peers)
    if (p.name == this_server) return &p;
  return nullptr;
}

const HaPeer* HaSection::partner() const noexcept {
  const HaPeer* me = self();
  if (me == nullptr) return nullptr;
  for (const HaPeer& p : peers)
    if (&p != me) return &p;
  return nullptr;
}

std::string_view ha_mode_name(HaMode m) noexcept {
  return m == HaMode::hot_standby ? "hot-standby" : "load-balancing";
}

std::string_view ha_role_name(HaRole r) noexcept {
  switch (r) {
    case HaRole::primary: return "primary";
    case HaRole::secondary: return "secondary";
    case HaRole::standby: return "standby";
  }
  return "?";
}

std::string_view ha_ack_name(HaAck a) noexcept { return a == HaAck::partner ? "partner" : "local"; }

namespace {

using detail::hex_text;
using detail::range_text;

// Shortest text that reads back as the same double (the same on every host).
std::string number(double x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

void options(std::string& out, std::string_view indent, const std::vector<engine::OptionData>& list) {
  for (const engine::OptionData& o : list)
    out += std::string(indent) + "option " + std::to_string(o.code) +
           (o.always_send ? " always_send" : "") + " = " + hex_text(o.value) + "\n";
}

// Appended piece by piece here and below: g++ 12 -O3 warns falsely
// (-Wrestrict) about "literal" + std::string.
std::string names(std::string_view key, const std::vector<std::string>& list) {
  if (list.empty()) return {};
  std::string out(key);
  for (std::size_t i = 0; i < list.size(); ++i) {
    out += i == 0 ? " \"" : ", \"";
    out += list[i];
    out += '"';
  }
  return out;
}

// " lease_time = N", or nothing for 0.
std::string lease_time_text(std::uint32_t t) {
  if (t == 0) return {};
  std::string out(" lease_time = ");
  out += std::to_string(t);
  return out;
}

// A reservation's classes and options, when it has them.
void reservation_policy(std::string& out, const engine::Reservation& r) {
  if (r.classes.empty() && r.options.empty()) return;
  out += "    given";
  out += names(" classes =", r.classes);
  out += '\n';
  options(out, "    ", r.options);
}

}  // namespace

std::string ha_shared_text(const DaemonConfig& c) {
  const engine::EngineConfig& e = c.engine;
  std::string out = "dorado-ha-shared 1\n";
  out += "lease offer_hold = " + std::to_string(e.offer_hold_s) +
         " decline_probation = " + std::to_string(e.decline_probation_s) + "\n";
  options(out, "", e.options);
  for (const engine::SubnetConfig& s : e.subnets) {
    out += "subnet " + std::to_string(s.id) + " " + detail::prefix_text(s.prefix, s.prefix_len) +
           " lease_time = " + std::to_string(s.lease_time) +
           " min = " + std::to_string(s.min_lease_time) +
           " max = " + std::to_string(s.max_lease_time) + " t1 = " + number(s.t1_ratio) +
           " t2 = " + number(s.t2_ratio) + " domain = \"" + s.domain_name + "\"" +
           (s.bootp ? " bootp" : "") + "\n";
    for (const engine::AddressRange& r : s.pools) out += "  pool " + range_text(r) + "\n";
    for (const engine::AddressRange& r : s.exclusions) out += "  exclude " + range_text(r) + "\n";
    for (const engine::Reservation& r : s.reservations) {
      out += "  reservation " + wire::format_ipv4(r.address) +
             " mac = " + (r.mac ? wire::format_mac(*r.mac) : std::string("-")) +
             " client_id = " + (r.client_id.empty() ? std::string("-") : hex_text(r.client_id)) +
             (r.circuit_id.empty() ? std::string() : " circuit_id = " + hex_text(r.circuit_id)) +
             (r.remote_id.empty() ? std::string() : " remote_id = " + hex_text(r.remote_id)) +
             (r.hostname.empty() ? std::string() : " hostname = " + r.hostname) + "\n";
      // Lines added for issue 16's policy only when a config has it, so that
      // the digest of a config without it is what it was.
      reservation_policy(out, r);
    }
    for (const engine::PoolConfig& p : s.pool_tables) {
      out += "  pool_table";
      for (const engine::AddressRange& r : p.ranges) {
        out += ' ';
        out += range_text(r);
      }
      out += names(" classes =", p.classes);
      out += names(" deny =", p.deny);
      out += lease_time_text(p.lease_time);
      out += '\n';
      options(out, "    ", p.options);
    }
    for (engine::Ipv4 ip : s.routers) out += "  router " + wire::format_ipv4(ip) + "\n";
    for (engine::Ipv4 ip : s.dns_servers) out += "  dns " + wire::format_ipv4(ip) + "\n";
    for (engine::Ipv4 ip : s.relays) out += "  relay " + wire::format_ipv4(ip) + "\n";
    options(out, "  ", s.options);
  }
  // Client classes (config order: their bits, and which class's option
  // wins), global reservations, shared networks (issue 16).
  for (const engine::ClassConfig& k : e.classes) {
    out += "class \"";
    out += k.name;
    out += '"';
    out += lease_time_text(k.lease_time);
    out += k.drop ? " drop\n" : "\n";
    for (const engine::ClassMatch& m : k.matches) {
      out += "  match ";
      out += detail::class_match_text(m);
      out += '\n';
    }
    options(out, "  ", k.options);
  }
  for (const engine::Reservation& r : e.global_reservations) {
    out += "global_reservation ";
    out += r.address != 0 ? wire::format_ipv4(r.address) : std::string("-");
    out += " mac = ";
    out += r.mac ? wire::format_mac(*r.mac) : std::string("-");
    out += " client_id = ";
    out += r.client_id.empty() ? std::string("-") : hex_text(r.client_id);
    if (!r.circuit_id.empty()) {
      out += " circuit_id = ";
      out += hex_text(r.circuit_id);
    }
    if (!r.remote_id.empty()) {
      out += " remote_id = ";
      out += hex_text(r.remote_id);
    }
    if (!r.hostname.empty()) {
      out += " hostname = ";
      out += r.hostname;
    }
    out += '\n';
    reservation_policy(out, r);
  }
  for (const engine::SharedNetworkConfig& n : e.shared_networks) {
    out += "shared_network \"";
    out += n.name;
    out += '"';
    for (const std::uint32_t i : n.subnets)
      if (i < e.subnets.size()) {
        out += ' ';
        out += std::to_string(e.subnets[i].id);
      }
    out += "\n";
    options(out, "  ", n.options);
  }
  const HaSection& ha = c.ha;
  if (ha.enabled) {
    out += "ha " + std::string(ha_mode_name(ha.mode)) + " ack = " + std::string(ha_ack_name(ha.ack)) +
           " split = " + std::to_string(ha.split) +
           " mclt = " + std::to_string(ha.mclt) +
           " max_answer_secs = " + std::to_string(ha.max_answer_secs) + "\n";
    std::vector<const HaPeer*> peers;
    for (const HaPeer& p : ha.peers) peers.push_back(&p);
    std::sort(peers.begin(), peers.end(),
              [](const HaPeer* a, const HaPeer* b) { return a->name < b->name; });
    for (const HaPeer* p : peers)
      out += "  peer " + p->name + " " + detail::endpoint_text({p->ip, p->port}) + " " +
             std::string(ha_role_name(p->role)) + "\n";
  }
  return out;
}

std::uint64_t ha_config_digest(const DaemonConfig& c) {
  std::uint64_t h = 0xcbf29ce484222325ull;   // FNV-1a 64 offset basis
  for (const char ch : ha_shared_text(c)) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ull;                   // FNV-1a 64 prime
  }
  return h;
}

}  // namespace dorado::config
