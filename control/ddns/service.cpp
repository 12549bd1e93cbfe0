#include "ddns/service.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <random>

#include "ddns/message.hpp"
#include "ddns/state_log.hpp"
#include "engine/ddns.hpp"
#include "wire/text.hpp"

namespace dorado::ddns {
namespace {

using engine::kDdnsForward;
using engine::kDdnsReverse;
using engine::LeaseChange;
using engine::LeaseOp;

constexpr std::uint64_t kFirstBackoffMs = 1000;
constexpr std::size_t kMaxAnswer = 65535;
// DNS rcodes this service acts on (RFC 1035, RFC 2136 section 2.2).
constexpr std::uint8_t kNoError = 0, kServFail = 2, kNxDomain = 3, kYxDomain = 6, kNxRrset = 8;

std::string key_string(const LeaseChange& c) {
  return std::string(reinterpret_cast<const char*>(c.key.data()), c.key_len);
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Is `name` `zone` or below it (both lower case, no trailing dot)?
bool in_zone(const std::string& name, const std::string& zone) {
  if (zone.empty()) return true;
  if (name.size() == zone.size()) return name == zone;
  return name.size() > zone.size() && name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
         name[name.size() - zone.size() - 1] == '.';
}

std::uint32_t unix_now() { return static_cast<std::uint32_t>(std::time(nullptr)); }

}  // namespace

std::vector<CounterRow> counter_rows(const Counters& c) {
  std::vector<CounterRow> rows;
#define DORADO_DDNS_ROW(name, help) rows.push_back({#name, help, c.name});
  DORADO_DDNS_COUNTERS(DORADO_DDNS_ROW)
#undef DORADO_DDNS_ROW
  return rows;
}

Settings settings_from(const config::DaemonConfig& config) {
  Settings s;
  s.ddns = config.ddns;
  s.update_on_renew = config.engine.ddns.update_on_renew;
  for (const auto& sub : config.engine.subnets)
    s.suffixes[sub.id] = lower(sub.qualifying_suffix.empty() ? config.engine.ddns.qualifying_suffix : sub.qualifying_suffix);
  s.state_dir = config.store.dir;
  return s;
}

struct Service::Impl {
  // ---- configuration ----
  struct Zone {
    std::string name;
    std::vector<config::DdnsServer> servers;
    std::optional<TsigKey> key;
  };
  Settings settings;
  std::vector<Zone> forward, reverse;

  // ---- state ----
  struct Want {
    std::string fqdn;
    std::vector<std::uint8_t> dhcid;
    std::uint8_t flags = 0;
    std::uint32_t ttl = 0;
  };
  struct Entry {
    std::string key;           // the client key of the lease it follows
    Want want;
    bool conflict = false;     // want.fqdn belongs to another client
    bool no_zone_fwd = false, no_zone_rev = false;
    std::uint8_t force = 0;    // flags to add again even if registered (resend, update_on_renew)
    bool queued = false;       // in `ready` or `delayed`
    bool busy = false;         // a transaction in flight
    bool retrying = false;     // the next send is a retry
    std::uint64_t since_ms = 0;      // waiting since (queue age)
    std::uint64_t backoff_ms = 0;
  };
  store::Store& store;
  Log log;
  std::unique_ptr<StateLog> state_log;
  RegisteredMap have;
  std::unordered_map<wire::Ipv4, Entry> entries;
  std::unordered_map<std::string, wire::Ipv4> by_key;
  std::deque<wire::Ipv4> ready;
  std::multimap<std::uint64_t, wire::Ipv4> delayed;
  std::deque<std::pair<std::uint64_t, LeaseChange>> tapped;   // seq, change: acted on once durable
  Counters counters;
  std::uint64_t now_ms = 0;

  // ---- transport ----
  struct Txn {
    wire::Ipv4 address = 0;
    UpdateRequest req;
    BuiltUpdate msg;
    const Zone* zone = nullptr;
    std::optional<TsigKey> key;   // a copy: a reload may replace the zones meanwhile
    std::vector<config::DdnsServer> servers;
    std::size_t server = 0;
    std::uint64_t deadline_ms = 0;
    int tcp_fd = -1;              // asking again over TCP (the UDP answer was truncated)
    bool tcp_connected = false;
    std::vector<std::uint8_t> tcp_out, tcp_in;
    std::size_t tcp_sent = 0;
  };
  int udp = -1;
  std::unordered_map<std::uint16_t, Txn> in_flight;   // by message id
  std::mt19937 rng{std::random_device{}()};
  std::uint64_t log_window_ms = 0;
  unsigned log_suppressed = 0;
  std::uint64_t next_wait_report_ms = 0;

  Impl(store::Store& st, Log l) : store(st), log(std::move(l)) {}
  ~Impl() {
    for (auto& [id, t] : in_flight)
      if (t.tcp_fd >= 0) ::close(t.tcp_fd);
    if (udp >= 0) ::close(udp);
  }

  void configure(const Settings& s) {
    settings = s;
    std::unordered_map<std::string, TsigKey> keys;
    for (const auto& k : s.ddns.tsig_keys) {
      TsigKey t;
      t.name = k.name;
      t.algorithm = tsig_algorithm_from_name(k.algorithm).value_or(TsigAlgorithm::hmac_sha256);
      t.secret = k.secret;
      keys[k.name] = std::move(t);
    }
    auto zones = [&](const std::vector<config::DdnsZone>& in, std::vector<Zone>& out) {
      out.clear();
      for (const auto& z : in) {
        Zone o{lower(z.name), z.servers, std::nullopt};
        if (!z.key.empty())
          if (auto it = keys.find(z.key); it != keys.end()) o.key = it->second;
        out.push_back(std::move(o));
      }
    };
    zones(s.ddns.forward_zones, forward);
    zones(s.ddns.reverse_zones, reverse);
  }

  // Longest suffix match (docs/dns.md "Zones").
  const Zone* zone_for(const std::string& name, const std::vector<Zone>& zones) const {
    const Zone* best = nullptr;
    for (const Zone& z : zones)
      if (in_zone(name, z.name) && (!best || z.name.size() > best->name.size())) best = &z;
    return best;
  }

  void log_limited(const std::string& line) {
    if (now_ms >= log_window_ms + 1000) {
      std::string suffix;
      if (log_suppressed) suffix = " (" + std::to_string(log_suppressed) + " similar lines suppressed)";
      log("ddns: " + line + suffix);
      log_window_ms = now_ms;
      log_suppressed = 0;
    } else {
      ++log_suppressed;
    }
  }

  // ---- want / have ----
  Want want_from(const LeaseChange& c) const {
    Want w;
    if (c.key_len == 0 || c.hostname_len == 0 || (c.ddns & engine::kDdnsFlagsMask) == 0) return w;
    const auto sfx = settings.suffixes.find(c.subnet_id);
    const std::string fqdn = lower(engine::qualify({c.hostname.data(), c.hostname_len},
                                                   sfx == settings.suffixes.end() ? std::string_view{} : sfx->second));
    if (fqdn.empty()) return w;
    w.dhcid = dhcid_rdata({c.key.data(), c.key_len}, fqdn);
    if (w.dhcid.empty()) return w;
    w.fqdn = fqdn;
    w.flags = c.ddns & engine::kDdnsFlagsMask;
    const std::uint32_t lease = c.expires > c.start ? c.expires - c.start : 0;
    w.ttl = settings.ddns.ttl ? settings.ddns.ttl : std::max<std::uint32_t>(1, lease / 3);
    return w;
  }

  void queue(wire::Ipv4 address, Entry& e) {
    if (e.queued || e.busy) return;
    e.queued = true;
    e.since_ms = now_ms;
    e.backoff_ms = 0;
    ready.push_back(address);
  }

  void set_want(wire::Ipv4 address, const std::string& key, Want w) {
    if (auto k = by_key.find(key); k != by_key.end() && k->second != address) {
      // The client moved: its old address's names go.
      if (auto old = entries.find(k->second); old != entries.end() && old->second.key == key) {
        old->second.want = {};
        queue(k->second, old->second);
      }
    }
    Entry& e = entries[address];
    if (!e.key.empty() && e.key != key)
      if (auto k = by_key.find(e.key); k != by_key.end() && k->second == address) by_key.erase(k);
    e.key = key;
    e.want = std::move(w);
    e.conflict = e.no_zone_fwd = e.no_zone_rev = false;
    e.force = 0;
    if (!key.empty()) by_key[key] = address;
    queue(address, e);
  }

  void set_have(wire::Ipv4 address, const Registered& r) {
    if (r.flags == 0) have.erase(address);
    else have[address] = r;
    state_log->put(address, r);
  }

  // One kind of record (kRegisteredForward or kRegisteredReverse) is no
  // longer registered for `address`.
  void forget(wire::Ipv4 address, std::uint8_t which) {
    const auto h = have.find(address);
    if (h == have.end()) return;
    Registered r = h->second;
    r.flags &= static_cast<std::uint8_t>(~which);
    set_have(address, r);
  }

  // Addresses with work waiting or in flight, and since when the oldest waits.
  struct Waiting {
    std::uint64_t count = 0;
    std::uint64_t oldest_ms = 0;
  };
  Waiting waiting(std::uint64_t now) const {
    Waiting w{0, now};
    for (const auto& [address, e] : entries)
      if (e.queued || e.busy) {
        ++w.count;
        w.oldest_ms = std::min(w.oldest_ms, e.since_ms);
      }
    return w;
  }

  // One durable lease change.
  void apply(const LeaseChange& c) {
    if (c.key_len == 0) return;   // probation records: no client, no name
    const std::string key = key_string(c);
    switch (c.op) {
      case LeaseOp::commit: {
        Want w = want_from(c);
        // Most leases have no name: nothing to follow unless the address or
        // the client had one (its records must go).
        if (!w.flags && !entries.count(c.address) && !by_key.count(key)) return;
        set_want(c.address, key, std::move(w));
        return;
      }
      case LeaseOp::renew: {
        auto it = entries.find(c.address);
        if (it != entries.end() && it->second.key == key) {
          if (settings.update_on_renew && it->second.want.flags) {
            it->second.force |= it->second.want.flags;
            queue(c.address, it->second);
          }
          return;
        }
        // A lease this service has no entry for (the partner's, before a
        // failover): make sure its names are there (an add that finds its
        // own DHCID changes nothing).
        if (Want w = want_from(c); w.flags) set_want(c.address, key, std::move(w));
        return;
      }
      case LeaseOp::release:
      case LeaseOp::expire:
      case LeaseOp::reclaim:
      case LeaseOp::decline: {
        auto it = entries.find(c.address);
        if (it != entries.end() && it->second.key == key) {
          it->second.want = {};
          it->second.force = 0;
          queue(c.address, it->second);
          return;
        }
        if (it != entries.end() && !it->second.key.empty()) return;   // the address follows another client now
        // Not followed here (registered by the partner, or ended before a
        // restart whose removal already ran): remove under this client's
        // DHCID, from the name the lease had (a removal that finds nothing
        // changes nothing). Written to the StateLog first, so a crash does
        // not lose it.
        const Want w = want_from(c);
        if (!w.flags) return;
        if (!have.count(c.address)) {
          std::uint8_t flags = 0;
          if (w.flags & kDdnsForward) flags |= kRegisteredForward;
          if (w.flags & kDdnsReverse) flags |= kRegisteredReverse;
          set_have(c.address, Registered{w.fqdn, w.dhcid, flags});
        }
        set_want(c.address, key, {});
        return;
      }
    }
  }

  // ---- the next update for an address ----
  struct Step {
    UpdateKind kind;
    const Zone* zone;   // null: no zone configured for it
  };
  std::optional<Step> next_step(wire::Ipv4 address, const Entry& e) const {
    const auto hit = have.find(address);
    const Registered* h = hit == have.end() ? nullptr : &hit->second;
    const Want& w = e.want;
    if (h && (h->flags & kRegisteredForward)) {
      const bool keep = (w.flags & kDdnsForward) && !e.conflict && h->fqdn == w.fqdn && h->dhcid == w.dhcid;
      if (!keep) return Step{UpdateKind::remove_forward, zone_for(h->fqdn, forward)};
    }
    // A name another client holds gets no PTR from this lease either (it
    // would point at a name that resolves to the other client's address).
    const bool lost_name = e.conflict && (w.flags & kDdnsForward);
    if (h && (h->flags & kRegisteredReverse)) {
      const bool keep = (w.flags & kDdnsReverse) && h->fqdn == w.fqdn && !lost_name;
      if (!keep) return Step{UpdateKind::remove_reverse, zone_for(reverse_name(address), reverse)};
    }
    const bool fwd_done = h && (h->flags & kRegisteredForward) && !(e.force & kDdnsForward);
    const bool rev_done = h && (h->flags & kRegisteredReverse) && !(e.force & kDdnsReverse);
    if ((w.flags & kDdnsForward) && !e.conflict && !e.no_zone_fwd && !fwd_done)
      return Step{UpdateKind::add_forward, zone_for(w.fqdn, forward)};
    if ((w.flags & kDdnsReverse) && !e.no_zone_rev && !rev_done && !lost_name)
      return Step{UpdateKind::add_reverse, zone_for(reverse_name(address), reverse)};
    return std::nullopt;
  }

  void finish(wire::Ipv4 address) {
    auto it = entries.find(address);
    if (it == entries.end()) return;
    Entry& e = it->second;
    e.queued = e.busy = e.retrying = false;
    e.force = 0;
    if (!e.want.flags && !have.count(address)) {
      if (auto k = by_key.find(e.key); k != by_key.end() && k->second == address) by_key.erase(k);
      entries.erase(it);
    }
  }

  // Starts the address's next update, or finishes it (nothing left to do).
  void start(wire::Ipv4 address) {
    auto it = entries.find(address);
    if (it == entries.end()) return;
    Entry& e = it->second;
    e.queued = false;
    for (int guard = 0; guard < 6; ++guard) {
      const std::optional<Step> step = next_step(address, e);
      if (!step) return finish(address);
      if (!step->zone) {
        ++counters.no_zone;
        switch (step->kind) {
          case UpdateKind::add_forward: e.no_zone_fwd = true; break;
          case UpdateKind::add_reverse: e.no_zone_rev = true; break;
          // No zone to remove it from any more: forget it.
          case UpdateKind::remove_forward: forget(address, kRegisteredForward); break;
          default: forget(address, kRegisteredReverse); break;
        }
        continue;
      }
      send_step(address, e, *step);
      return;
    }
    finish(address);
  }

  void send_step(wire::Ipv4 address, Entry& e, const Step& step) {
    Txn t;
    t.address = address;
    t.zone = step.zone;
    t.key = step.zone->key;
    t.servers = step.zone->servers;
    t.req.kind = step.kind;
    t.req.zone = step.zone->name;
    t.req.address = address;
    t.req.reverse = reverse_name(address);
    const auto h = have.find(address);
    if (step.kind == UpdateKind::remove_forward || step.kind == UpdateKind::remove_reverse) {
      t.req.fqdn = h->second.fqdn;
      t.req.dhcid = h->second.dhcid;
    } else {
      t.req.fqdn = e.want.fqdn;
      t.req.dhcid = e.want.dhcid;
      t.req.ttl = e.want.ttl;
    }
    e.busy = true;
    if (e.retrying) ++counters.update_retried;
    e.retrying = false;
    launch(std::move(t));
  }

  std::uint16_t fresh_id() {
    for (;;) {
      const auto id = static_cast<std::uint16_t>(rng());
      if (!in_flight.count(id)) return id;
    }
  }

  // Builds (a fresh id each try) and sends over UDP to the current server.
  void launch(Txn t) {
    const std::uint16_t id = fresh_id();
    t.msg = build_update(t.req, id, t.key ? &*t.key : nullptr, unix_now());
    if (!t.msg.error.empty()) {
      ++counters.send_errors;
      log_limited("cannot build the " + std::string(update_kind_name(t.req.kind)) + " update for " + t.req.fqdn +
                  ": " + t.msg.error);
      return fail(t.address, settings.ddns.max_retry_interval_s * 1000ull);
    }
    const config::DdnsServer& srv = t.servers[t.server];
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(srv.port);
    to.sin_addr.s_addr = htonl(srv.ip);
    ++counters.update_sent;
    t.deadline_ms = now_ms + settings.ddns.timeout_ms;
    if (::sendto(udp, t.msg.wire.data(), t.msg.wire.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0)
      ++counters.send_errors;   // counts as a try: it times out and moves on
    in_flight.emplace(id, std::move(t));
  }

  // The address waits (back-off) and tries again.
  void fail(wire::Ipv4 address, std::uint64_t backoff_ms) {
    auto it = entries.find(address);
    if (it == entries.end()) return;
    Entry& e = it->second;
    e.busy = false;
    e.retrying = true;
    e.queued = true;
    e.backoff_ms = backoff_ms;
    delayed.emplace(now_ms + backoff_ms, address);
  }
  void fail_backoff(wire::Ipv4 address) {
    auto it = entries.find(address);
    if (it == entries.end()) return;
    const std::uint64_t max = settings.ddns.max_retry_interval_s * 1000ull;
    const std::uint64_t next = it->second.backoff_ms ? std::min(max, it->second.backoff_ms * 2) : kFirstBackoffMs;
    fail(address, std::min(max, next));
  }

  // The next server of the zone, or the back-off when all were tried.
  void next_server(Txn t) {
    if (t.tcp_fd >= 0) {
      ::close(t.tcp_fd);
      t.tcp_fd = -1;
    }
    if (++t.server < t.servers.size()) {
      ++counters.update_retried;
      launch(std::move(t));
      return;
    }
    fail_backoff(t.address);
  }

  void on_answer(std::uint16_t id, std::span<const std::uint8_t> bytes) {
    auto it = in_flight.find(id);
    if (it == in_flight.end()) return;
    Txn& t = it->second;
    const Answer a = parse_answer(bytes, t.msg, t.key ? &*t.key : nullptr, unix_now());
    if (!a.valid || (t.key && a.rcode == kNoError && !a.tsig_verified)) {
      ++counters.answer_unverified;   // not this update's answer: wait for the real one (or time out)
      return;
    }
    if (a.truncated && t.tcp_fd < 0) return start_tcp(it);
    Txn done = std::move(t);
    in_flight.erase(it);
    handle(std::move(done), a);
  }

  void handle(Txn t, const Answer& a) {
    const wire::Ipv4 address = t.address;
    auto eit = entries.find(address);
    if (eit == entries.end()) return;
    Entry& e = eit->second;
    e.busy = false;
    const UpdateKind k = t.req.kind;
    Registered h;
    if (auto hit = have.find(address); hit != have.end()) h = hit->second;
    if (a.tsig_error == 0 && a.rcode == kNoError) {
      ++counters.update_ok;
      switch (k) {
        case UpdateKind::add_forward:
        case UpdateKind::replace_forward:
          h.fqdn = t.req.fqdn;
          h.dhcid = t.req.dhcid;
          h.flags |= kRegisteredForward;
          e.force &= static_cast<std::uint8_t>(~kDdnsForward);
          break;
        case UpdateKind::add_reverse:
          if (h.flags == 0) h.dhcid = t.req.dhcid;
          h.fqdn = t.req.fqdn;
          h.flags |= kRegisteredReverse;
          e.force &= static_cast<std::uint8_t>(~kDdnsReverse);
          break;
        case UpdateKind::remove_forward: h.flags &= static_cast<std::uint8_t>(~kRegisteredForward); break;
        case UpdateKind::remove_reverse: h.flags &= static_cast<std::uint8_t>(~kRegisteredReverse); break;
      }
      set_have(address, h);
      return start(address);
    }
    if (a.tsig_error == 0) {
      if (k == UpdateKind::add_forward && a.rcode == kYxDomain) {
        // The name is in use: ours (our DHCID there) or another client's.
        Txn r;
        r.address = address;
        r.zone = t.zone;
        r.key = std::move(t.key);
        r.servers = std::move(t.servers);
        r.server = t.server;
        r.req = std::move(t.req);
        r.req.kind = UpdateKind::replace_forward;
        e.busy = true;
        return launch(std::move(r));
      }
      if (k == UpdateKind::replace_forward && a.rcode == kNxRrset) {
        ++counters.update_conflict;
        e.conflict = true;
        log_limited("conflict: " + t.req.fqdn + " is held by another client (its DHCID differs): left alone");
        return start(address);
      }
      if (k == UpdateKind::remove_forward && (a.rcode == kNxRrset || a.rcode == kNxDomain)) {
        ++counters.update_ok;   // already gone, or no longer this client's: nothing to remove
        forget(address, kRegisteredForward);
        return start(address);
      }
      if (a.rcode == kServFail) {
        e.busy = true;
        return next_server(std::move(t));
      }
    }
    const std::string reason(rcode_name(a.tsig_error ? a.tsig_error : a.rcode));
    ++counters.update_refused;
    ++counters.refused_by_rcode[reason];
    log_limited("refused (" + reason + "): " + std::string(update_kind_name(k)) + " " +
                (k == UpdateKind::add_reverse || k == UpdateKind::remove_reverse ? t.req.reverse : t.req.fqdn) +
                " in zone " + t.req.zone + (a.error.empty() ? "" : " (" + a.error + ")"));
    fail(address, settings.ddns.max_retry_interval_s * 1000ull);
  }

  // ---- TCP (answers with TC set) ----
  void start_tcp(std::unordered_map<std::uint16_t, Txn>::iterator it) {
    Txn& t = it->second;
    const config::DdnsServer& srv = t.servers[t.server];
    t.tcp_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t.tcp_fd < 0) {
      ++counters.send_errors;
      Txn moved = std::move(t);
      in_flight.erase(it);
      return next_server(std::move(moved));
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(srv.port);
    to.sin_addr.s_addr = htonl(srv.ip);
    const int rc = ::connect(t.tcp_fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    t.tcp_connected = rc == 0;
    if (rc != 0 && errno != EINPROGRESS) {
      ++counters.send_errors;
      Txn moved = std::move(t);
      in_flight.erase(it);
      return next_server(std::move(moved));
    }
    t.tcp_out.clear();
    t.tcp_out.push_back(static_cast<std::uint8_t>(t.msg.wire.size() >> 8));
    t.tcp_out.push_back(static_cast<std::uint8_t>(t.msg.wire.size()));
    t.tcp_out.insert(t.tcp_out.end(), t.msg.wire.begin(), t.msg.wire.end());
    t.tcp_sent = 0;
    t.tcp_in.clear();
    t.deadline_ms = now_ms + settings.ddns.timeout_ms;
  }

  void poll_tcp() {
    std::vector<std::uint16_t> ids;
    for (auto& [id, t] : in_flight)
      if (t.tcp_fd >= 0) ids.push_back(id);
    for (std::uint16_t id : ids) {
      auto it = in_flight.find(id);
      Txn& t = it->second;
      bool failed = false;
      if (!t.tcp_connected) {
        pollfd p{t.tcp_fd, POLLOUT, 0};
        if (::poll(&p, 1, 0) <= 0) continue;
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(t.tcp_fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) failed = true;
        t.tcp_connected = !failed;
      }
      while (!failed && t.tcp_sent < t.tcp_out.size()) {
        const ssize_t n = ::send(t.tcp_fd, t.tcp_out.data() + t.tcp_sent, t.tcp_out.size() - t.tcp_sent, MSG_NOSIGNAL);
        if (n > 0) t.tcp_sent += static_cast<std::size_t>(n);
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        else failed = true;
      }
      std::uint8_t buf[4096];
      while (!failed && t.tcp_sent == t.tcp_out.size()) {
        const ssize_t n = ::recv(t.tcp_fd, buf, sizeof buf, 0);
        if (n > 0) t.tcp_in.insert(t.tcp_in.end(), buf, buf + n);
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        else failed = true;   // closed before a whole answer
        if (t.tcp_in.size() >= 2) {
          const std::size_t len = std::size_t{t.tcp_in[0]} << 8 | t.tcp_in[1];
          if (t.tcp_in.size() >= 2 + len) {
            std::vector<std::uint8_t> answer(t.tcp_in.begin() + 2, t.tcp_in.begin() + 2 + static_cast<long>(len));
            ::close(t.tcp_fd);
            t.tcp_fd = -1;
            // Verified like a UDP answer; a second TC is not followed.
            on_answer(id, answer);
            break;
          }
        }
      }
      if (failed) {
        ++counters.send_errors;
        Txn moved = std::move(it->second);
        in_flight.erase(it);
        next_server(std::move(moved));
      }
    }
  }

  void receive_udp() {
    static std::uint8_t buf[kMaxAnswer];
    for (int n = 0; n < 1024; ++n) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t got = ::recvfrom(udp, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (got < 0) return;
      if (got < 12) continue;
      const auto id = static_cast<std::uint16_t>(buf[0] << 8 | buf[1]);
      auto it = in_flight.find(id);
      if (it == in_flight.end() || it->second.tcp_fd >= 0) continue;
      const config::DdnsServer& srv = it->second.servers[it->second.server];
      if (ntohl(from.sin_addr.s_addr) != srv.ip || ntohs(from.sin_port) != srv.port) continue;   // not from it
      on_answer(id, {buf, static_cast<std::size_t>(got)});
    }
  }

  void expire_tries() {
    std::vector<std::uint16_t> late;
    for (const auto& [id, t] : in_flight)
      if (t.deadline_ms <= now_ms) late.push_back(id);
    for (std::uint16_t id : late) {
      auto it = in_flight.find(id);
      Txn t = std::move(it->second);
      in_flight.erase(it);
      ++counters.update_timeout;
      const config::DdnsServer& srv = t.servers[t.server];
      char ip[16];
      ip[wire::format_ipv4(srv.ip, ip)] = '\0';
      log_limited("no answer from " + std::string(ip) + ":" + std::to_string(srv.port) + " within " +
                  std::to_string(settings.ddns.timeout_ms) + " ms (" + std::string(update_kind_name(t.req.kind)) +
                  " " + t.req.fqdn + "): trying again");
      next_server(std::move(t));
    }
  }

  void tick(std::uint64_t now) {
    now_ms = now;
    // Lease changes, once durable.
    const std::uint64_t durable = store.durable_seq();
    while (!tapped.empty() && tapped.front().first <= durable) {
      apply(tapped.front().second);
      tapped.pop_front();
    }
    receive_udp();
    poll_tcp();
    expire_tries();
    while (!delayed.empty() && delayed.begin()->first <= now_ms) {
      const wire::Ipv4 a = delayed.begin()->second;
      delayed.erase(delayed.begin());
      ready.push_back(a);
    }
    while (in_flight.size() < settings.max_in_flight && !ready.empty()) {
      const wire::Ipv4 a = ready.front();
      ready.pop_front();
      auto it = entries.find(a);
      if (it == entries.end() || it->second.busy) continue;
      start(a);
    }
    if (state_log->dirty())
      if (std::string e = state_log->sync(have); !e.empty()) log_limited("cannot write ddns-state: " + e);
    report_waiting();
  }

  // At most every kWaitReportMs: how many addresses wait and for how long,
  // while the oldest has waited longer than kWaitReportMs.
  static constexpr std::uint64_t kWaitReportMs = 10'000;
  void report_waiting() {
    if (now_ms < next_wait_report_ms) return;
    next_wait_report_ms = now_ms + kWaitReportMs;
    const Waiting w = waiting(now_ms);
    if (w.count == 0 || now_ms - w.oldest_ms < kWaitReportMs) return;
    log("ddns: " + std::to_string(w.count) + " address(es) wait for DNS updates, the oldest for " +
        std::to_string((now_ms - w.oldest_ms) / 1000) + " s (" + std::to_string(counters.update_timeout) + " timeouts, " +
        std::to_string(counters.update_refused) + " refusals so far; see ddns.* in statistic-get-all)");
  }
};

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Service::~Service() {
  if (!impl_) return;
  impl_->store.set_tap({}, store::Store::TapSlot::ddns);
  if (impl_->state_log->dirty()) impl_->state_log->sync(impl_->have);
}

Service::Created Service::create(const Settings& settings, store::Store& store, Log log, std::uint64_t now_ms,
                                 std::uint32_t now_unix) {
  Created c;
  auto m = std::make_unique<Impl>(store, std::move(log));
  m->now_ms = now_ms;
  m->configure(settings);
  StateLog::Opened o = StateLog::open(settings.state_dir);
  if (!o.log) {
    c.error = "ddns: " + o.error;
    return c;
  }
  m->state_log = std::move(o.log);
  m->have = std::move(o.entries);
  if (o.truncated) m->log("ddns: ddns-state had a torn tail (a crash mid-write): cut off; those updates are redone");
  m->udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (m->udp < 0) {
    c.error = std::string("ddns: socket: ") + std::strerror(errno);
    return c;
  }
  // What the leases ask for, and what is registered: the difference is the work.
  store.for_each_lease([&](const store::StoredLease& l) {
    if ((l.op == LeaseOp::commit || l.op == LeaseOp::renew) && l.expires > now_unix)
      if (Impl::Want w = m->want_from(l); w.flags) {
        Impl::Entry& e = m->entries[l.address];
        e.key = key_string(l);
        e.want = std::move(w);
        m->by_key[e.key] = l.address;
      }
  });
  for (const auto& [address, r] : m->have) m->entries.try_emplace(address);
  std::size_t work = 0;
  for (auto& [address, e] : m->entries)
    if (m->next_step(address, e)) {
      m->queue(address, e);
      ++work;
    }
  for (auto it = m->entries.begin(); it != m->entries.end();) {
    if (!it->second.queued && !it->second.want.flags && !m->have.count(it->first)) it = m->entries.erase(it);
    else ++it;
  }
  m->log("ddns: " + std::to_string(m->have.size()) + " addresses registered, " + std::to_string(work) +
         " with updates to do, " + std::to_string(m->forward.size()) + " forward and " +
         std::to_string(m->reverse.size()) + " reverse zone(s)");
  Impl* raw = m.get();
  store.set_tap(
      [raw](unsigned, std::uint64_t seq, const LeaseChange& ch, std::span<const std::uint8_t>) {
        LeaseChange c = ch;
        if (c.key_len == 0) return;
        if (c.hostname_len == 0 && c.op != LeaseOp::commit) {
          // Renewals, releases and expiries carry no name: the lease's record
          // before this one has it (the store applies this one after the tap).
          if (auto prev = raw->store.find_lease({c.key.data(), c.key_len}); prev && prev->address == c.address) {
            c.hostname = prev->hostname;
            c.hostname_len = prev->hostname_len;
            c.ddns = prev->ddns;
          }
        }
        raw->tapped.emplace_back(seq, c);
      },
      store::Store::TapSlot::ddns);
  c.service.reset(new Service(std::move(m)));
  return c;
}

void Service::tick(std::uint64_t now_ms) { impl_->tick(now_ms); }

void Service::reconfigure(const Settings& settings) {
  Impl& m = *impl_;
  m.configure(settings);
  for (auto& [address, e] : m.entries)
    if (e.no_zone_fwd || e.no_zone_rev) {
      e.no_zone_fwd = e.no_zone_rev = false;
      m.queue(address, e);
    }
}

bool Service::resend(wire::Ipv4 address, std::string& why, std::string& fqdn) {
  Impl& m = *impl_;
  auto it = m.entries.find(address);
  const auto h = m.have.find(address);
  if (it == m.entries.end() && h == m.have.end()) {
    why = "no DNS name is known for this address (no lease with a name and DNS flags)";
    return false;
  }
  Impl::Entry& e = m.entries[address];
  e.force = e.want.flags;
  e.conflict = e.no_zone_fwd = e.no_zone_rev = false;
  fqdn = e.want.flags ? e.want.fqdn : h != m.have.end() ? h->second.fqdn : std::string();
  m.queue(address, e);
  return true;
}

std::optional<LeaseDns> Service::registered(wire::Ipv4 address) const {
  const auto h = impl_->have.find(address);
  if (h == impl_->have.end()) return std::nullopt;
  return LeaseDns{h->second.fqdn, (h->second.flags & kRegisteredForward) != 0,
                  (h->second.flags & kRegisteredReverse) != 0};
}

Status Service::status(std::uint64_t now_ms) const {
  const Impl& m = *impl_;
  Status s;
  s.counters = m.counters;
  s.registered = m.have.size();
  s.in_flight = m.in_flight.size();
  const Impl::Waiting w = m.waiting(now_ms);
  s.queue_depth = w.count;
  s.oldest_wait_s = w.count ? static_cast<double>(now_ms - w.oldest_ms) / 1000.0 : 0.0;
  return s;
}

}  // namespace dorado::ddns
