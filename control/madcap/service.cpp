#include "madcap/service.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "store/store.hpp"

namespace dorado::madcap {

std::vector<CounterRow> counter_rows(const Counters& c) {
  std::vector<CounterRow> rows;
#define X(name, help) rows.push_back(CounterRow{#name, help, c.name});
#include "madcap/counters.def"
#undef X
  return rows;
}

Settings settings_from(const config::DaemonConfig& config) {
  Settings s;
  s.server_address = config.server.address;
  s.listen_address = config.madcap.listen_address;
  s.listen_port = config.madcap.listen_port;
  for (const config::MulticastScope& m : config.multicast_scopes) {
    Scope sc;
    sc.name = m.name;
    sc.zone = m.zone;
    sc.first = m.first;
    sc.last = m.last;
    sc.ttl = m.ttl;
    sc.min_lease_time = m.min_lease_time;
    sc.max_lease_time = m.max_lease_time;
    sc.default_lease_time = m.default_lease_time;
    s.scopes.push_back(std::move(sc));
  }
  return s;
}

// ---- Leases --------------------------------------------------------------------

Leases::Leases(Settings settings) : s_(std::move(settings)) {}

void Leases::reconfigure(Settings settings) {
  s_ = std::move(settings);
  cursor_.clear();
}

const Scope* Leases::scope_by_id(std::uint32_t id) const noexcept {
  for (const Scope& sc : s_.scopes)
    if (sc.first == id) return &sc;
  return nullptr;
}

const Scope* Leases::scope_of(std::uint32_t address) const noexcept {
  for (const Scope& sc : s_.scopes)
    if (address >= sc.first && address <= sc.last) return &sc;
  return nullptr;
}

std::size_t Leases::bound_count() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(by_id_.begin(), by_id_.end(), [](const auto& e) { return e.second.bound; }));
}

// The address for lease `id` in scope `sc`: the one it holds or was
// offered there, else the first free one the client asked for (List of
// Address Ranges), else the next free one after the scope's cursor. 0: none.
std::uint32_t Leases::pick(const Scope& sc, const std::string& id, const Request& r) {
  if (const auto it = by_id_.find(id); it != by_id_.end()) {
    if (it->second.address >= sc.first && it->second.address <= sc.last) return it->second.address;
  }
  for (std::size_t i = 0; i < r.range_count; ++i) {
    const AddrRange& ar = r.ranges[i];
    for (std::uint32_t k = 0; k < ar.count && k < 256; ++k) {
      const std::uint32_t a = ar.first + k;
      if (a < ar.first) break;
      if (a >= sc.first && a <= sc.last && !by_addr_.contains(a)) return a;
    }
  }
  const std::uint64_t size = std::uint64_t{sc.last} - sc.first + 1;
  std::uint32_t& cur = cursor_.try_emplace(sc.first, sc.first).first->second;
  if (cur < sc.first || cur > sc.last) cur = sc.first;
  // Bounded: at most `size` steps, and only while every address is taken.
  if (by_addr_.size() >= size) {
    std::uint64_t taken = 0;
    for (auto it = by_addr_.lower_bound(sc.first); it != by_addr_.end() && it->first <= sc.last; ++it) ++taken;
    if (taken >= size) return 0;
  }
  for (std::uint64_t n = 0; n < size; ++n) {
    const std::uint32_t a = cur;
    cur = cur == sc.last ? sc.first : cur + 1;
    if (!by_addr_.contains(a)) return a;
  }
  return 0;
}

std::uint32_t Leases::lease_time(const Scope& sc, const Request& r) const noexcept {
  std::uint32_t t = r.has(opt::lease_time) ? r.lease_time : sc.default_lease_time;
  return std::clamp(t, sc.min_lease_time, sc.max_lease_time);
}

engine::LeaseChange Leases::change(engine::LeaseOp op, const std::string& id, const Lease& l) const {
  engine::LeaseChange c{};
  c.op = op;
  c.key[0] = kKeyKindMadcap;
  std::memcpy(c.key.data() + 1, id.data(), id.size());
  c.key_len = static_cast<std::uint8_t>(1 + id.size());
  c.address = l.address;
  c.start = l.start;
  c.expires = l.expires;
  return c;
}

void Leases::forget(const std::string& id) {
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  by_addr_.erase(it->second.address);
  by_id_.erase(it);
}

Leases::Outcome Leases::handle(const Request& r, std::uint32_t now, std::span<std::uint8_t> out, Counters& n) {
  Outcome o;
  const auto type = static_cast<MsgType>(r.type);
  switch (type) {
    case MsgType::discover: ++n.discovers; break;
    case MsgType::request: ++n.requests; break;
    case MsgType::renew: ++n.renews; break;
    case MsgType::release: ++n.releases; break;
    case MsgType::getinfo: ++n.getinfos; break;
    default: ++n.drop_bad_type; return o;
  }
  // A Server Identifier that is not ours: the message is for another server
  // (a REQUEST naming it also means our offer was not taken).
  if (r.has(opt::server_id) && r.server_id != s_.server_address) {
    if (type == MsgType::request && r.lease_id_len != 0) {
      const std::string id(reinterpret_cast<const char*>(r.lease_id.data()), r.lease_id_len);
      if (const auto it = by_id_.find(id); it != by_id_.end() && !it->second.bound) forget(id);
    }
    ++n.drop_other_server;
    return o;
  }
  if (r.lease_id_len == 0 && type != MsgType::getinfo) {
    ++n.drop_no_lease_id;
    return o;
  }
  const std::string id(reinterpret_cast<const char*>(r.lease_id.data()), r.lease_id_len);

  auto reply = [&](MsgType t) {
    Writer w(out, t, r.xid);
    if (r.lease_id_len != 0) w.option(opt::lease_id, r.lease_key());
    w.server_id(s_.server_address);
    return w;
  };
  auto nak = [&](ErrorCode code, std::span<const std::uint8_t> data = {}) {
    Writer w = reply(MsgType::nak);
    w.error(code, data);
    o.reply_size = w.finish();
    if (o.reply_size) ++n.naks;
  };
  // Options a reply carries when the client listed them (Option Request List).
  auto requested = [&](Writer& w) {
    for (std::size_t i = 0; i < r.requested_count; ++i) {
      switch (r.requested[i]) {
        case opt::current_time: w.u32(opt::current_time, now); break;
        case opt::feature_list: {   // no optional feature is supported
          const std::uint8_t none[6] = {};
          w.option(opt::feature_list, none);
          break;
        }
        case opt::scope_list: {
          w.open(opt::scope_list);
          w.put8(static_cast<std::uint8_t>(std::min<std::size_t>(s_.scopes.size(), 255)));
          for (std::size_t k = 0; k < s_.scopes.size() && k < 255; ++k) {
            const Scope& sc = s_.scopes[k];
            w.put32(sc.first);
            w.put32(sc.last);
            w.put8(sc.ttl);
            w.put8(1);     // one name
            w.put8(0x80);  // flags: the default name
            w.put8(2);
            w.put(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>("en"), 2));
            const std::string& label = sc.zone.empty() ? sc.name : sc.zone;
            w.put8(static_cast<std::uint8_t>(label.size()));
            w.put(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()));
          }
          w.close();
          break;
        }
        default: break;
      }
    }
  };

  // Required optional features: none is supported.
  if (r.feature_count[2] != 0) {
    std::array<std::uint8_t, 2 * kMaxFeatures> codes{};
    for (std::size_t i = 0; i < r.feature_count[2]; ++i) {
      codes[2 * i] = static_cast<std::uint8_t>(r.required_features[i] >> 8);
      codes[2 * i + 1] = static_cast<std::uint8_t>(r.required_features[i]);
    }
    nak(ErrorCode::unsupported_feature, std::span<const std::uint8_t>(codes.data(), 2u * r.feature_count[2]));
    return o;
  }

  if (type == MsgType::getinfo) {
    Writer w = reply(MsgType::ack);
    requested(w);
    o.reply_size = w.finish();
    if (o.reply_size) ++n.acks;
    return o;
  }

  if (type == MsgType::renew || type == MsgType::release) {
    const auto it = by_id_.find(id);
    if (it == by_id_.end() || !it->second.bound || it->second.expires <= now) {
      nak(ErrorCode::lease_id_not_recognized);
      return o;
    }
    Lease& l = it->second;
    const Scope* sc = scope_of(l.address);
    if (type == MsgType::release) {
      Lease gone = l;
      gone.expires = now;
      o.changes.push_back(change(engine::LeaseOp::reclaim, id, gone));
      forget(id);
      Writer w = reply(MsgType::ack);
      o.reply_size = w.finish();
      if (o.reply_size) ++n.acks;
      ++n.leases_released;
      return o;
    }
    if (!sc) {   // its scope was removed by a reload: no renewal
      nak(ErrorCode::request_not_completed);
      return o;
    }
    l.expires = now + lease_time(*sc, r);
    o.changes.push_back(change(engine::LeaseOp::renew, id, l));
    Writer w = reply(MsgType::ack);
    w.scope(sc->first, r.scope_type);
    w.u32(opt::lease_time, l.expires - now);
    const AddrRange one{l.address, 1};
    w.address_ranges(std::span<const AddrRange>(&one, 1));
    requested(w);
    o.reply_size = w.finish();
    if (o.reply_size) ++n.acks;
    ++n.leases_renewed;
    return o;
  }

  // DISCOVER and REQUEST.
  if (!r.has(opt::mcast_scope)) {
    ++n.drop_no_scope;
    return o;
  }
  const Scope* sc = scope_by_id(r.scope_id);
  if (!sc) {
    ++n.drop_unknown_scope;
    return o;
  }
  // One address per lease here: a client that needs more is told no.
  if (r.has(opt::addr_count) && r.addr_min > 1) {
    if (type == MsgType::request) nak(ErrorCode::request_not_completed);
    else ++n.drop_scope_full;
    return o;
  }
  if (r.has(opt::min_lease_time) && r.min_lease_time > sc->max_lease_time) {
    if (type == MsgType::request) nak(ErrorCode::request_not_completed);
    else ++n.drop_scope_full;
    return o;
  }
  const std::uint32_t address = pick(*sc, id, r);
  if (address == 0) {
    if (type == MsgType::request) nak(ErrorCode::request_not_completed);
    else ++n.drop_scope_full;
    return o;
  }
  const std::uint32_t duration = lease_time(*sc, r);
  if (const auto it = by_id_.find(id); it != by_id_.end() && it->second.address != address) forget(id);
  Lease& l = by_id_[id];
  by_addr_[address] = id;
  l.address = address;
  l.start = now;
  if (type == MsgType::discover) {
    if (!l.bound) l.expires = now + kOfferHoldSeconds;
  } else {
    l.expires = now + duration;
    l.bound = true;
    o.changes.push_back(change(engine::LeaseOp::commit, id, l));
  }
  Writer w = reply(type == MsgType::discover ? MsgType::offer : MsgType::ack);
  w.scope(sc->first, r.scope_type);
  w.u32(opt::lease_time, duration);
  const AddrRange one{address, 1};
  w.address_ranges(std::span<const AddrRange>(&one, 1));
  requested(w);
  o.reply_size = w.finish();
  if (o.reply_size) ++(type == MsgType::discover ? n.offers : n.acks);
  if (type == MsgType::request) ++n.leases_granted;
  return o;
}

std::vector<engine::LeaseChange> Leases::expire(std::uint32_t now, Counters& n) {
  std::vector<engine::LeaseChange> out;
  std::vector<std::string> gone;
  for (const auto& [id, l] : by_id_) {
    if (l.expires > now) continue;
    gone.push_back(id);
    if (l.bound) {
      out.push_back(change(engine::LeaseOp::reclaim, id, l));
      ++n.leases_expired;
    }
  }
  for (const std::string& id : gone) forget(id);
  return out;
}

bool Leases::restore(const engine::LeaseChange& c, std::uint32_t now) {
  if (c.key_len < 2 || c.key[0] != kKeyKindMadcap) return false;
  if (c.op != engine::LeaseOp::commit && c.op != engine::LeaseOp::renew) return false;
  if (c.expires <= now || !scope_of(c.address) || by_addr_.contains(c.address)) return false;
  const std::string id(reinterpret_cast<const char*>(c.key.data() + 1), c.key_len - 1u);
  if (by_id_.contains(id)) return false;
  Lease& l = by_id_[id];
  l.address = c.address;
  l.start = c.start;
  l.expires = c.expires;
  l.bound = true;
  by_addr_[c.address] = id;
  return true;
}

// ---- Service -------------------------------------------------------------------

Service::Service(Settings settings, store::Store& store, std::function<void(const std::string&)> log)
    : leases_(std::move(settings)), store_(store), log_(std::move(log)) {}

Service::~Service() {
  if (fd_ >= 0) ::close(fd_);
}

Service::Created Service::create(Settings settings, store::Store& store,
                                 std::function<void(const std::string&)> log, std::uint32_t now) {
  Created c;
  std::unique_ptr<Service> s(new Service(settings, store, std::move(log)));
  s->fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd_ < 0) {
    c.error = std::string("madcap: socket: ") + std::strerror(errno);
    return c;
  }
  const int one = 1;
  ::setsockopt(s->fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(settings.listen_port);
  a.sin_addr.s_addr = htonl(settings.listen_address);
  if (::bind(s->fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    char ip[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    c.error = "madcap: cannot listen on " + std::string(ip) + ":" + std::to_string(settings.listen_port) + ": " +
              std::strerror(errno);
    return c;
  }
  socklen_t len = sizeof a;
  ::getsockname(s->fd_, reinterpret_cast<sockaddr*>(&a), &len);
  s->port_ = ntohs(a.sin_port);
  std::size_t restored = 0, skipped = 0;
  std::vector<engine::LeaseChange> stale;
  store.for_each_lease([&](const store::StoredLease& l) {
    if (l.key_len == 0 || l.key[0] != kKeyKindMadcap) return;
    if (s->leases_.restore(l, now)) {
      ++restored;
    } else {
      ++skipped;
      engine::LeaseChange gone = l;
      gone.op = engine::LeaseOp::reclaim;
      stale.push_back(gone);
    }
  });
  if (!stale.empty()) store.take_replicated(stale);   // expired or out of every scope: out of the store
  c.service = std::move(s);
  if (c.service->log_)
    c.service->log_("madcap: listening on port " + std::to_string(c.service->port_) + ", " +
                    std::to_string(restored) + " lease(s) from the store, " + std::to_string(skipped) +
                    " ended or outside every scope (removed)");
  return c;
}

void Service::reconfigure(Settings settings) { leases_.reconfigure(std::move(settings)); }

void Service::send_ready() {
  const std::uint64_t durable = store_.durable_seq();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < held_.size(); ++i) {
    Held& h = held_[i];
    if (h.seq > durable) {
      if (kept != i) held_[kept] = std::move(h);
      ++kept;
      continue;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(h.to_port);
    to.sin_addr.s_addr = htonl(h.to_address);
    if (::sendto(fd_, h.bytes.data(), h.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0)
      ++counters_.drop_send_error;
  }
  held_.resize(kept);
}

void Service::tick(std::uint32_t now) {
  // At most 64 datagrams a tick: the control loop has other work.
  for (int i = 0; i < 64; ++i) {
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t got = ::recvfrom(fd_, in_.data(), in_.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (got < 0) break;
    ++counters_.received;
    if (static_cast<std::size_t>(got) > kMaxMessage) {
      ++counters_.drop_malformed;
      continue;
    }
    const Parsed p = parse(std::span<const std::uint8_t>(in_.data(), static_cast<std::size_t>(got)));
    if (p.error != ParseError::none) {
      ++counters_.drop_malformed;
      continue;
    }
    Leases::Outcome o = leases_.handle(p.request, now, out_, counters_);
    if (o.reply_size == 0) continue;
    Held h;
    h.seq = o.changes.empty() ? 0 : store_.take_replicated(o.changes);
    h.to_address = ntohl(from.sin_addr.s_addr);
    h.to_port = ntohs(from.sin_port);
    h.bytes.assign(out_.data(), out_.data() + o.reply_size);
    held_.push_back(std::move(h));
  }
  if (now != last_expiry_) {
    last_expiry_ = now;
    if (std::vector<engine::LeaseChange> gone = leases_.expire(now, counters_); !gone.empty())
      store_.take_replicated(gone);
  }
  if (!held_.empty()) send_ready();
}

}  // namespace dorado::madcap
