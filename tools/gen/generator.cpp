#include "gen/generator.hpp"

#include "wire/l3reply.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace dorado::gen {

namespace {

constexpr std::uint64_t kUs = 1'000'000;
constexpr std::uint32_t kWheelSlots = 1u << 16;   // 65.5 s at 1 ms per tick
constexpr std::uint64_t kTickUs = 1000;
constexpr std::size_t kTxRing = 8192;
// New operations stop while fewer TX slots than this are free: the room is
// kept for what replies trigger (REQUEST after OFFER, ARP answers).
constexpr std::size_t kTxReserve = 256;
constexpr std::uint64_t kRenewMinUs = 60 * kUs;   // RFC 2131 4.4.5: at least 60 s
constexpr std::uint16_t kMaxMessage = 1500;
constexpr std::uint32_t kDefaultLease = 3600;
constexpr std::uint16_t kArpRequest = 1, kArpReply = 2;
// RFC 3927 2.2, seconds (times GenConfig::link_local_scale) and counts.
constexpr double kProbeWait = 1, kProbeMin = 1, kProbeMax = 2, kAnnounceWait = 2,
                 kAnnounceInterval = 2, kRateLimitInterval = 60;
constexpr std::uint8_t kProbeNum = 3, kAnnounceNum = 2, kMaxConflicts = 10;
// Link-local addresses a run can see: sizes the address index.
constexpr std::size_t kLinkLocalCount = std::size_t{kLinkLocalLast - kLinkLocalFirst + 1};

std::size_t pow2_at_least(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The longest name prefix: "PREFIX-" + 8 digits (100 M clients) in 63.
constexpr std::size_t kMaxNamePrefix = 54;
constexpr std::uint8_t kFqdnFlagsS = 0x01, kFqdnFlagsE = 0x04;
// Options 12 and 81 with the longest name: 2 + 63 and 2 + 3 + 1 + 63.
constexpr std::size_t kMaxNamesBytes = 2 + 63 + 2 + 3 + 1 + 63;

std::string check_name_prefix(const std::string& p, const char* option) {
  if (p.empty() || p.size() > kMaxNamePrefix)
    return std::string(option) + ": 1.." + std::to_string(kMaxNamePrefix) + " characters";
  for (const char ch : p) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-';
    if (!ok) return std::string(option) + ": letters, digits and '-' only";
  }
  return {};
}

std::uint64_t mac48(const MacAddr& m) noexcept {
  std::uint64_t v = 0;
  for (auto b : m.b) v = (v << 8) | b;
  return v;
}

}  // namespace

const char* state_name(State s) noexcept {
  switch (s) {
    case State::idle: return "IDLE";
    case State::init: return "INIT";
    case State::selecting: return "SELECTING";
    case State::requesting: return "REQUESTING";
    case State::bound: return "BOUND";
    case State::renewing: return "RENEWING";
    case State::rebinding: return "REBINDING";
    case State::init_reboot: return "INIT-REBOOT";
    case State::rebooting: return "REBOOTING";
    case State::ll_probing: return "LL-PROBING";
    case State::ll_announcing: return "LL-ANNOUNCING";
    case State::link_local: return "LINK-LOCAL";
    case State::done: return "DONE";
    case State::count_: break;
  }
  return "?";
}

Ipv4 link_local_address(std::uint64_t mac48, std::uint64_t attempt) noexcept {
  const std::uint64_t h = splitmix(mac48 ^ splitmix(attempt));
  return kLinkLocalFirst + static_cast<Ipv4>(h % kLinkLocalCount);
}

std::string validate(const GenConfig& c) {
  if (c.clients == 0) return "--clients must be at least 1";
  if (c.clients > 100'000'000) return "--clients: at most 100000000";
  if (c.first_mac + c.clients > (std::uint64_t{1} << 48)) return "--first-mac + --clients overflows 48 bits";
  if (!(c.rate >= 0) || !std::isfinite(c.rate)) return "--rate must be a positive number or 'max'";
  if (!(c.duration_s > 0)) return "--duration must be positive";
  if (c.giaddr != 0 && c.server_ip == 0) return "--giaddr (relay mode) needs --server-ip";
  if (c.vlan > 4095) return "--vlan must be 1..4095";
  if (c.decline_ratio < 0 || c.decline_ratio > 1) return "--decline-ratio must be within 0..1";
  if (c.renew_ratio < 0 || c.renew_ratio > 1) return "--renew-ratio must be within 0..1";
  if (c.retransmit_s.empty() || c.max_tries == 0 || c.max_tries > 255)
    return "retransmission schedule: at least one try, at most 255";
  for (double d : c.retransmit_s)
    if (!(d > 0)) return "retransmission delays must be positive";
  if (c.jitter_s < 0) return "jitter must not be negative";
  if (c.window == 0) return "--window must be at least 1";
  if (!(c.link_local_retry_s > 0) || !std::isfinite(c.link_local_retry_s))
    return "--link-local-retry must be positive";
  if (!(c.link_local_scale > 0) || !std::isfinite(c.link_local_scale))
    return "--link-local-scale must be positive";
  if (c.reboot && c.mode != Mode::storm) return "--reboot applies to --mode storm";
  if (!c.hostname_prefix.empty())
    if (std::string e = check_name_prefix(c.hostname_prefix, "--hostname"); !e.empty()) return e;
  if (!c.fqdn_prefix.empty())
    if (std::string e = check_name_prefix(c.fqdn_prefix, "--fqdn"); !e.empty()) return e;
  return {};
}

TxRing::TxRing(std::size_t capacity_pow2)
    : data_(capacity_pow2 * kSlot), len_(capacity_pow2, 0), mask_(capacity_pow2 - 1) {}

MacAddr Generator::client_mac(std::uint32_t i) const noexcept {
  const std::uint64_t v = cfg_.first_mac + i;
  MacAddr m;
  for (int k = 0; k < 6; ++k) m.b[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(v >> (40 - 8 * k));
  return m;
}

namespace {

// Builds one request template with placeholder values and finds where the
// per-client fields landed by parsing it back. `names`: options 12 and 81
// with the widest name (empty: none), last before 82.
Template make_template(wire::MessageType type, bool opt50, bool opt54, bool prl, bool client_id,
                       bool relayed, Ipv4 giaddr, std::span<const wire::OptionValue> names = {}) {
  static const std::uint8_t kPrl[] = {1, 3, 6, 15, 28, 51, 58, 59};
  std::uint8_t max_size[2] = {kMaxMessage >> 8, kMaxMessage & 0xff};
  std::uint8_t placeholder_ip[4] = {0, 0, 0, 1};
  std::uint8_t cid[7] = {1, 0, 0, 0, 0, 0, 0};
  std::vector<wire::OptionValue> opts;
  if (opt50) opts.push_back({wire::opt::requested_ip, wire::Bytes{placeholder_ip}, true});
  if (prl) {
    opts.push_back({wire::opt::max_message_size, wire::Bytes{max_size}, false});
    opts.push_back({wire::opt::parameter_request_list, wire::Bytes{kPrl}, false});
  }
  if (client_id) opts.push_back({wire::opt::client_id, wire::Bytes{cid}, true});
  opts.insert(opts.end(), names.begin(), names.end());
  // Option 82: circuit-id = client index (4 bytes), remote-id = client MAC.
  std::uint8_t rai[14] = {1, 4, 0, 0, 0, 0, 2, 6, 0, 0, 0, 0, 0, 0};
  wire::DhcpOptionsSpec spec;
  spec.type = type;
  spec.server_id = opt54 ? 0xffffffffu : 0;
  spec.options = opts;
  if (relayed) spec.relay_agent_info = wire::Bytes{rai};
  wire::BootpFields b;
  b.op = 1;
  b.hops = relayed ? 1 : 0;
  b.giaddr = relayed ? giaddr : 0;
  Template t;
  t.payload.resize(1024);
  const wire::BuildResult r = wire::build_dhcp_message(t.payload, b, spec);
  if (r.error != wire::Error::ok) throw std::logic_error("dorado-gen: request template does not build");
  t.payload.resize(r.length);
  wire::DhcpMessage m;
  if (m.parse(t.payload) != wire::Error::ok) throw std::logic_error("dorado-gen: template does not parse");
  auto offset = [&](std::uint8_t code) -> std::size_t {
    const auto o = m.option(code);
    return o ? static_cast<std::size_t>(o->data() - t.payload.data()) : 0;
  };
  t.opt50 = offset(wire::opt::requested_ip);
  t.opt54 = offset(wire::opt::server_id);
  t.opt61 = offset(wire::opt::client_id);
  t.opt82 = offset(wire::opt::relay_agent_info);
  for (const wire::OptionValue& o : names) {
    const std::size_t at = offset(o.code) - 2;   // the option's code byte
    if (t.names == 0 || at < t.names) t.names = at;
    t.names_len += 2 + o.value.size();
  }
  if (!names.empty()) {
    // Adjacent, after 50, 54 and 61 and before 82: only 82 moves when a name
    // is shorter than the widest (send()).
    const std::size_t end = t.names + t.names_len;
    if (offset(names.front().code) - 2 != t.names || end > t.payload.size() ||
        std::max({t.opt50, t.opt54, t.opt61}) > t.names || (t.opt82 != 0 && t.opt82 < end))
      throw std::logic_error("dorado-gen: name options not where expected");
  }
  return t;
}

}  // namespace

Generator::Generator(const GenConfig& config, std::uint64_t now_us)
    : cfg_(config),
      clients_(config.clients),
      wheel_(config.clients, kWheelSlots, kTickUs, now_us),
      tx_(kTxRing),
      rng_(splitmix(config.seed)),
      start_us_(now_us) {
  if (const std::string e = validate(cfg_); !e.empty()) throw std::invalid_argument(e);
  using wire::MessageType;
  const bool relay = cfg_.giaddr != 0, cid = cfg_.client_id;
  // The name options with the widest index, as placeholders: write_names()
  // puts each client's name there.
  std::array<std::uint8_t, kMaxNamesBytes> widest{};
  const std::size_t widest_len = write_names(widest.data(), cfg_.clients - 1);
  std::vector<wire::OptionValue> names;
  for (std::size_t at = 0; at < widest_len; at += 2 + std::size_t{widest[at + 1]})
    names.push_back({widest[at], wire::Bytes{widest.data() + at + 2, widest[at + 1]}, true});
  auto& t = templates_;
  t[static_cast<std::size_t>(Kind::discover)] =
      make_template(MessageType::discover, false, false, true, cid, relay, cfg_.giaddr, names);
  t[static_cast<std::size_t>(Kind::request_select)] =
      make_template(MessageType::request, true, true, true, cid, relay, cfg_.giaddr, names);
  t[static_cast<std::size_t>(Kind::request_ciaddr)] =
      make_template(MessageType::request, false, false, true, cid, false, 0, names);
  t[static_cast<std::size_t>(Kind::request_rebind)] =
      make_template(MessageType::request, false, false, true, cid, relay, cfg_.giaddr, names);
  t[static_cast<std::size_t>(Kind::request_reboot)] =
      make_template(MessageType::request, true, false, true, cid, relay, cfg_.giaddr, names);
  t[static_cast<std::size_t>(Kind::decline)] =
      make_template(MessageType::decline, true, true, false, cid, relay, cfg_.giaddr);
  t[static_cast<std::size_t>(Kind::release)] =
      make_template(MessageType::release, false, true, false, cid, false, 0);

  // Leased addresses and the link-local ones claimed (a few per client at
  // most, all within 169.254.1.0-169.254.254.255), at most half full.
  const std::size_t keys = std::size_t{cfg_.clients} + std::min(kLinkLocalCount, 16 * std::size_t{cfg_.clients});
  const std::size_t table = pow2_at_least(std::max<std::size_t>(1024, 2 * keys));
  addr_keys_.assign(table, 0);
  addr_vals_.assign(table, 0);
  states_[static_cast<std::size_t>(State::idle)] = cfg_.clients;
  pending_conflicts_.reserve(kTxRing);

  const bool warmup = cfg_.mode == Mode::renew || (cfg_.mode == Mode::storm && cfg_.reboot);
  if (!warmup) {
    measuring_ = true;
    measure_start_us_ = last_completion_us_ = now_us;
  }
}

std::uint64_t Generator::rand() noexcept {
  // xorshift64*: a few ns, good enough for jitter and ratios.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 0x2545f4914f6cdd1dull;
}

std::uint64_t Generator::retransmit_delay_us(std::uint32_t tries) noexcept {
  const std::size_t k = std::min<std::size_t>(tries - 1, cfg_.retransmit_s.size() - 1);
  const auto base = static_cast<std::int64_t>(cfg_.retransmit_s[k] * kUs);
  const auto j = static_cast<std::int64_t>(cfg_.jitter_s * kUs);
  const std::int64_t r = j == 0 ? 0 : static_cast<std::int64_t>(rand() % static_cast<std::uint64_t>(2 * j + 1)) - j;
  return static_cast<std::uint64_t>(std::max<std::int64_t>(base + r, static_cast<std::int64_t>(kTickUs)));
}

bool Generator::send(std::uint32_t i, Kind k, std::uint64_t now) noexcept {
  const wire::MutableBytes slot = tx_.reserve();
  if (slot.empty()) {
    ++c_.tx_ring_full;
    return false;
  }
  const Client& c = clients_[i];
  const Template& t = templates_[static_cast<std::size_t>(k)];
  const MacAddr mac = client_mac(i);
  const bool relay = cfg_.giaddr != 0;
  const bool unicast = k == Kind::request_ciaddr || k == Kind::release;
  const bool relayed = relay && !unicast;

  wire::Envelope env;
  env.eth_src = relay ? cfg_.port_mac : mac;
  if (cfg_.vlan != 0) {
    env.vlan_count = 1;
    env.vlans[0] = wire::VlanTag{wire::kEtherTypeVlan, cfg_.vlan};
  }
  env.ip_id = ip_id_++;
  if (relayed) {
    env.eth_dst = server_mac_;
    env.ip_src = cfg_.giaddr;
    env.ip_dst = cfg_.server_ip;
    env.src_port = wire::kPortBootps;
    env.dst_port = wire::kPortBootps;
  } else if (unicast) {
    env.eth_dst = server_mac_;
    env.ip_src = c.yiaddr;
    env.ip_dst = c.server_id;
    env.src_port = wire::kPortBootpc;
    env.dst_port = wire::kPortBootps;
  } else {
    env.eth_dst = MacAddr::broadcast();
    env.ip_src = k == Kind::request_rebind ? c.yiaddr : 0;
    env.ip_dst = 0xffffffffu;
    env.src_port = wire::kPortBootpc;
    env.dst_port = wire::kPortBootps;
  }
  const std::size_t hs = wire::header_size(env);
  std::uint8_t* p = slot.data() + hs;
  std::size_t opt82 = t.opt82;
  if (t.names == 0) {
    std::memcpy(p, t.payload.data(), t.payload.size());
  } else {
    // The names of client i, then the rest of the template moved up to
    // them; the message keeps the template's length (zero padding).
    std::memcpy(p, t.payload.data(), t.names);
    const std::size_t len = write_names(p + t.names, i);
    const std::size_t tail = t.names + t.names_len, shift = t.names_len - len;
    std::memcpy(p + t.names + len, t.payload.data() + tail, t.payload.size() - tail);
    std::memset(p + t.payload.size() - shift, 0, shift);
    if (opt82 != 0) opt82 -= shift;
  }
  wire::store_be32(p + 4, c.xid);
  // secs: time since the client began this operation (RFC 2131 table 5).
  const std::uint64_t secs = now > c.op_start_us ? (now - c.op_start_us) / kUs : 0;
  wire::store_be16(p + 8, static_cast<std::uint16_t>(std::min<std::uint64_t>(secs, 0xffff)));
  if (k == Kind::request_ciaddr || k == Kind::request_rebind || k == Kind::release)
    wire::store_be32(p + 12, c.yiaddr);
  std::memcpy(p + 28, mac.b.data(), 6);
  if (t.opt50 != 0) wire::store_be32(p + t.opt50, c.yiaddr);
  if (t.opt54 != 0) wire::store_be32(p + t.opt54, c.server_id);
  if (t.opt61 != 0) std::memcpy(p + t.opt61 + 1, mac.b.data(), 6);
  if (opt82 != 0) {
    wire::store_be32(p + opt82 + 2, i);
    std::memcpy(p + opt82 + 8, mac.b.data(), 6);
  }
  const std::size_t len = wire::wrap_udp_frame(slot, env, t.payload.size());
  tx_.commit(len);
  switch (k) {
    case Kind::discover: ++c_.tx_discover; break;
    case Kind::request_select: ++c_.tx_request; break;
    case Kind::request_ciaddr: ++c_.tx_renew; break;
    case Kind::request_rebind: ++c_.tx_rebind; break;
    case Kind::request_reboot: ++c_.tx_reboot; break;
    case Kind::decline: ++c_.tx_decline; break;
    case Kind::release: ++c_.tx_release; break;
    case Kind::count_: break;
  }
  return true;
}

// Client i's options 12 and/or 81 at `out`; returns their length (0 when
// the config asks for no name).
std::size_t Generator::write_names(std::uint8_t* out, std::uint32_t i) const noexcept {
  char digits[10];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + i % 10);
    i /= 10;
  } while (i != 0);
  std::uint8_t* q = out;
  auto put_name = [&](const std::string& prefix) noexcept {
    std::memcpy(q, prefix.data(), prefix.size());
    q += prefix.size();
    *q++ = '-';
    for (std::size_t k = n; k > 0; --k) *q++ = static_cast<std::uint8_t>(digits[k - 1]);
  };
  const std::string& host = cfg_.hostname_prefix;
  if (!host.empty()) {
    *q++ = wire::opt::hostname;
    *q++ = static_cast<std::uint8_t>(host.size() + 1 + n);
    put_name(host);
  }
  const std::string& fqdn = cfg_.fqdn_prefix;
  if (!fqdn.empty()) {
    // RFC 4702: flags, RCODE1 and RCODE2 (0 from a client), then the name in
    // canonical wire encoding (E=1); one label without the root label: a
    // partial name, which the server qualifies.
    const std::size_t label = fqdn.size() + 1 + n;
    *q++ = wire::opt::client_fqdn;
    *q++ = static_cast<std::uint8_t>(3 + 1 + label);
    *q++ = kFqdnFlagsS | kFqdnFlagsE;
    *q++ = 0;
    *q++ = 0;
    *q++ = static_cast<std::uint8_t>(label);
    put_name(fqdn);
  }
  return static_cast<std::size_t>(q - out);
}

void Generator::try_send(std::uint32_t i, std::uint64_t now) noexcept {
  Client& c = clients_[i];
  Kind k;
  switch (c.state) {
    case State::selecting: k = Kind::discover; break;
    case State::requesting: k = Kind::request_select; break;
    case State::renewing: k = Kind::request_ciaddr; break;
    case State::rebinding: k = Kind::request_rebind; break;
    case State::rebooting: k = Kind::request_reboot; break;
    default: return;
  }
  if (!send(i, k, now)) {
    wheel_.schedule(i, now + kTickUs);   // TX ring full: try again next tick
    return;
  }
  if (c.tries == 0) c.phase_start_us = now;
  else ++c_.retransmits;
  ++c.tries;
  std::uint64_t next;
  if (c.state == State::renewing || c.state == State::rebinding) {
    // RFC 2131 4.4.5: half the time left until T2 (RENEWING) or the end of
    // the lease (REBINDING), at least 60 s, never past that moment.
    const std::uint64_t until = c.bound_us + std::uint64_t{c.state == State::renewing ? c.t2_s : c.lease_s} * kUs;
    const std::uint64_t left = until > now ? until - now : 0;
    next = std::min(now + std::max(left / 2, kRenewMinUs), std::max(until, now + kTickUs));
  } else {
    next = now + retransmit_delay_us(c.tries);
  }
  wheel_.schedule(i, next);
}

void Generator::begin_exchange(std::uint32_t i, State s, std::uint64_t now) noexcept {
  Client& c = clients_[i];
  set_state(c, s);
  c.tries = 0;
  c.xid = static_cast<std::uint32_t>(rand() >> 32);
  try_send(i, now);
}

void Generator::end_operation(std::uint32_t i, bool ok, std::uint64_t now) noexcept {
  Client& c = clients_[i];
  if (c.op == op_none) return;
  if (in_flight_ > 0) --in_flight_;
  if (ok) {
    ++c_.completed;
    const std::uint64_t us = now - c.op_start_us;
    h_.operation.add(us);
    switch (c.op) {
      case op_dora: ++c_.completed_dora; h_.dora.add(us); break;
      case op_renew: ++c_.completed_renew; h_.renew.add(us); break;
      case op_reboot: ++c_.completed_reboot; h_.reboot.add(us); break;
      default: break;
    }
    last_completion_us_ = now;
  }
  c.op = op_none;
}

bool Generator::start_operation(std::uint32_t i, std::uint64_t now) noexcept {
  Client& c = clients_[i];
  State s;
  std::uint8_t op;
  switch (c.state) {
    case State::idle:
    case State::init:
    case State::link_local: s = State::selecting; op = op_dora; break;
    case State::bound:
      if (cfg_.mode == Mode::storm && cfg_.reboot) {
        s = State::rebooting;   // INIT-REBOOT: sends the REQUEST at once
        op = op_reboot;
      } else {
        s = State::renewing;
        op = op_renew;
      }
      break;
    default: return false;    // busy or done
  }
  c.op = op;
  c.op_start_us = now;
  ++c_.offered;
  ++in_flight_;
  begin_exchange(i, s, now);
  return true;
}

void Generator::fire(std::uint32_t i, std::uint64_t now) noexcept {
  Client& c = clients_[i];
  switch (c.state) {
    case State::selecting:
      if (c.tries < cfg_.max_tries) return try_send(i, now);
      // No OFFER after every try: a link-local address (RFC 3927), and
      // DISCOVER again later. A try from LINK-LOCAL keeps its address.
      ++c_.timeouts;
      end_operation(i, false, now);
      if (c.ll_addr != 0) {
        set_state(c, State::link_local);
        wheel_.schedule(i, std::max(c.bound_us, now));
        return;
      }
      return fall_back(i, now);
    case State::requesting:
    case State::rebooting:
      if (c.tries < cfg_.max_tries) return try_send(i, now);
      ++c_.timeouts;   // RFC 2131 3.1 step 5 / 3.2: back to INIT
      return begin_exchange(i, State::selecting, now);
    case State::bound:   // T1
      if (c.op == op_none) {
        c.op = op_renew;
        c.op_start_us = now;
        ++c_.offered;
        ++in_flight_;
      }
      return begin_exchange(i, State::renewing, now);
    case State::renewing:
      if (now >= c.bound_us + std::uint64_t{c.t2_s} * kUs) {
        ++c_.timeouts;
        return begin_exchange(i, State::rebinding, now);
      }
      return try_send(i, now);
    case State::rebinding:
      if (now >= c.bound_us + std::uint64_t{c.lease_s} * kUs) {
        ++c_.timeouts;
        ++c_.lease_expired;
        return begin_exchange(i, State::selecting, now);
      }
      return try_send(i, now);
    case State::ll_probing:
    case State::ll_announcing:
      return ll_fire(i, now);
    case State::link_local:
      // Every link_local_retry_s (start to start) while the address is held.
      ++c_.ll_dhcp_retries;
      c.bound_us = now + static_cast<std::uint64_t>(cfg_.link_local_retry_s * kUs);
      start_operation(i, now);
      return;
    case State::idle:
    case State::init:
    case State::init_reboot:
    case State::done:
    case State::count_:
      return;
  }
}

void Generator::set_state(Client& c, State s) noexcept {
  const bool held = ll_holds(c);
  --states_[static_cast<std::size_t>(c.state)];
  c.state = s;
  ++states_[static_cast<std::size_t>(s)];
  ll_held_ = ll_held_ - (held ? 1 : 0) + (ll_holds(c) ? 1 : 0);
}

void Generator::set_ll_addr(Client& c, Ipv4 a) noexcept {
  const bool held = ll_holds(c);
  c.ll_addr = a;
  ll_held_ = ll_held_ - (held ? 1 : 0) + (ll_holds(c) ? 1 : 0);
}

// An address in use: after the probes (LL-ANNOUNCING on), also while a
// DHCP try from LINK-LOCAL runs.
bool Generator::ll_holds(const Client& c) const noexcept {
  return c.ll_addr != 0 && c.state != State::ll_probing;
}

std::uint64_t Generator::ll_us(double rfc_s) const noexcept {
  return std::max(static_cast<std::uint64_t>(rfc_s * cfg_.link_local_scale * kUs), kTickUs);
}

std::uint64_t Generator::ll_uniform_us(double lo_s, double hi_s) noexcept {
  const auto lo = static_cast<std::uint64_t>(lo_s * cfg_.link_local_scale * kUs);
  const auto hi = static_cast<std::uint64_t>(hi_s * cfg_.link_local_scale * kUs);
  return std::max(lo + (hi > lo ? rand() % (hi - lo + 1) : 0), kTickUs);
}

// The DISCOVER's last try went unanswered: claim a link-local address, and
// DISCOVER again link_local_retry_s from now.
void Generator::fall_back(std::uint32_t i, std::uint64_t now) noexcept {
  Client& c = clients_[i];
  ++c_.link_local;
  c.bound_us = now + static_cast<std::uint64_t>(cfg_.link_local_retry_s * kUs);
  start_claim(i, now);
}

// RFC 3927 2.1-2.2: pick an address (the first from the MAC alone, after a
// conflict another one), wait 0..PROBE_WAIT (RATE_LIMIT_INTERVAL after
// MAX_CONFLICTS conflicts), then probe.
void Generator::start_claim(std::uint32_t i, std::uint64_t now) noexcept {
  Client& c = clients_[i];
  const Ipv4 old = c.ll_addr;
  const std::uint64_t mac = cfg_.first_mac + i;
  Ipv4 a = link_local_address(mac, c.ll_conflicts == 0 ? 0 : rand() | 1);
  while (a == old) a = link_local_address(mac, rand() | 1);
  set_state(c, State::ll_probing);
  set_ll_addr(c, a);
  c.tries = 0;
  if (valid_owner(a) == TimerWheel::kNone) learn_address(a, i);
  wheel_.schedule(i, now + (c.ll_conflicts >= kMaxConflicts ? ll_us(kRateLimitInterval)
                                                            : ll_uniform_us(0, kProbeWait)));
}

// LL-PROBING: PROBE_NUM probes PROBE_MIN..PROBE_MAX apart, then
// ANNOUNCE_WAIT; LL-ANNOUNCING: ANNOUNCE_NUM announcements
// ANNOUNCE_INTERVAL apart, then LINK-LOCAL until the next DHCP try. In
// relay mode the clients' link is not the port's: their ARP goes to the
// other clients only.
void Generator::ll_fire(std::uint32_t i, std::uint64_t now) noexcept {
  Client& c = clients_[i];
  const bool wire = cfg_.giaddr == 0;
  if (c.state == State::ll_probing) {
    if (c.tries < kProbeNum) {
      if (wire && !send_arp(client_mac(i), kArpRequest, 0, c.ll_addr)) {
        wheel_.schedule(i, now + kTickUs);   // TX ring full
        return;
      }
      ++c.tries;
      ++c_.tx_arp_probe;
      wheel_.schedule(i, now + (c.tries < kProbeNum ? ll_uniform_us(kProbeMin, kProbeMax) : ll_us(kAnnounceWait)));
      if (ll_loopback(i, 0, c.ll_addr)) ll_conflict(i, now);
      return;
    }
    // ANNOUNCE_WAIT after the last probe and no conflict: the address is ours.
    set_state(c, State::ll_announcing);
    c.tries = 0;
  }
  if (wire && !send_arp(client_mac(i), kArpRequest, c.ll_addr, c.ll_addr)) {
    wheel_.schedule(i, now + kTickUs);
    return;
  }
  if (c.tries == 0) {
    ++c_.ll_claimed;
    c.ll_conflicts = 0;
  }
  ++c.tries;
  ++c_.tx_arp_announce;
  if (c.tries < kAnnounceNum) {
    wheel_.schedule(i, now + ll_us(kAnnounceInterval));
  } else {
    set_state(c, State::link_local);
    wheel_.schedule(i, std::max(c.bound_us, now));
  }
  if (ll_loopback(i, c.ll_addr, c.ll_addr)) ll_conflict(i, now);
}

// Client i's probe (spa 0) or announcement (spa = tpa) as the other
// clients see it: all share one link. The client that holds or claims the
// address in the index either conflicts (it is probing it too, or sees
// its address announced; handled after the timer walk) or answers a probe,
// which is i's conflict (returns true). The index then names i.
bool Generator::ll_loopback(std::uint32_t i, Ipv4 spa, Ipv4 tpa) noexcept {
  const std::uint32_t j = valid_owner(tpa);
  if (j == i) return false;
  if (j != TimerWheel::kNone && clients_[j].ll_addr == tpa) {
    if (clients_[j].state != State::ll_probing && spa == 0) return true;   // j defends its address
    if (pending_conflicts_.size() < pending_conflicts_.capacity()) pending_conflicts_.emplace_back(j, tpa);
  } else if (j != TimerWheel::kNone) {
    return false;   // a leased address (a server that hands out 169.254/16)
  }
  learn_address(tpa, i);
  return false;
}

// RFC 3927 2.2.1 and 2.5 (a: no defence): another address, probed anew.
// During a DHCP try from LINK-LOCAL the address is dropped; if the try
// ends without a lease the client claims a new one.
void Generator::ll_conflict(std::uint32_t i, std::uint64_t now) noexcept {
  Client& c = clients_[i];
  ++c_.ll_conflicts;
  if (c.ll_conflicts < 0xff) ++c.ll_conflicts;
  if (c.state == State::ll_probing || c.state == State::ll_announcing || c.state == State::link_local)
    return start_claim(i, now);
  set_ll_addr(c, 0);
}

// The client that holds or claims `ip` (a lease or a link-local address),
// or kNone.
std::uint32_t Generator::valid_owner(Ipv4 ip) const noexcept {
  const std::uint32_t j = lookup_address(ip);
  if (j == TimerWheel::kNone) return j;
  const Client& c = clients_[j];
  if (c.ll_addr == ip) return j;
  const bool leased = c.state == State::bound || c.state == State::renewing || c.state == State::rebinding;
  return leased && c.yiaddr == ip ? j : TimerWheel::kNone;
}

void Generator::bind(std::uint32_t i, const wire::DhcpMessage& m, std::uint64_t now) noexcept {
  Client& c = clients_[i];
  c.yiaddr = m.yiaddr;
  if (const auto sid = m.server_id()) c.server_id = *sid;
  c.lease_s = m.lease_time().value_or(kDefaultLease);
  c.t1_s = m.renewal_time().value_or(c.lease_s / 2);
  c.t2_s = m.rebinding_time().value_or(static_cast<std::uint32_t>(std::uint64_t{c.lease_s} * 7 / 8));
  c.bound_us = now;
  set_state(c, State::bound);
  if (c.ll_addr != 0) {   // a lease: the link-local address is given up
    ++c_.ll_released;
    set_ll_addr(c, 0);
  }
  learn_address(c.yiaddr, i);
  end_operation(i, true, now);
  if (cfg_.decline_ratio > 0 &&
      static_cast<double>(rand() >> 11) * 0x1.0p-53 < cfg_.decline_ratio) {
    send(i, Kind::decline, now);
    ++c_.declines;
    set_state(c, State::done);
    wheel_.cancel(i);
    return;
  }
  if (cfg_.release) {
    send(i, Kind::release, now);
    ++c_.releases;
    set_state(c, State::done);
    wheel_.cancel(i);
    return;
  }
  wheel_.schedule(i, now + std::uint64_t{c.t1_s} * kUs);
}

void Generator::handle_dhcp(const wire::DhcpMessage& m, const wire::Frame& f,
                            std::uint64_t now) noexcept {
  if (m.op != 2) {
    ++c_.rx_ignored;
    return;
  }
  if (m.htype != 1 || m.hlen != 6) {
    ++c_.rx_foreign;
    return;
  }
  const std::uint64_t v = mac48(m.chaddr_mac());
  if (v < cfg_.first_mac || v - cfg_.first_mac >= cfg_.clients) {
    ++c_.rx_foreign;
    return;
  }
  const auto i = static_cast<std::uint32_t>(v - cfg_.first_mac);
  Client& c = clients_[i];
  const auto type = m.message_type();
  if (!type) {
    ++c_.rx_unparsable;   // a BOOTP reply: not something a DHCP client can use
    return;
  }
  if (m.xid != c.xid) {
    ++c_.rx_stale;
    return;
  }
  if (cfg_.giaddr == 0 && !server_mac_known_) {
    server_mac_ = f.eth.src;
    server_mac_known_ = true;
  }
  switch (*type) {
    case wire::MessageType::offer:
      ++c_.rx_offer;
      if (c.state != State::selecting) {
        ++c_.rx_stale;
        return;
      }
      h_.discover_offer.add(now - c.phase_start_us);
      c.yiaddr = m.yiaddr;
      c.server_id = m.server_id().value_or(f.ip.src);
      set_state(c, State::requesting);   // same xid (RFC 2131 4.4.1)
      c.tries = 0;
      return try_send(i, now);
    case wire::MessageType::ack:
      ++c_.rx_ack;
      if (c.state == State::requesting || c.state == State::rebooting) {
        h_.request_ack.add(now - c.phase_start_us);
      } else if (c.state != State::renewing && c.state != State::rebinding) {
        ++c_.rx_stale;
        return;
      }
      return bind(i, m, now);
    case wire::MessageType::nak:
      ++c_.rx_nak;
      if (c.state != State::requesting && c.state != State::rebooting &&
          c.state != State::renewing && c.state != State::rebinding) {
        ++c_.rx_stale;
        return;
      }
      ++c_.naks;   // RFC 2131 3.1 step 5: restart from INIT
      return begin_exchange(i, State::selecting, now);
    default:
      ++c_.rx_ignored;
      return;
  }
}

void Generator::learn_address(Ipv4 ip, std::uint32_t i) noexcept {
  if (ip == 0) return;
  const std::size_t mask = addr_keys_.size() - 1;
  for (std::size_t h = (ip * 0x9e3779b1u) & mask;; h = (h + 1) & mask) {
    if (addr_keys_[h] == ip) {
      addr_vals_[h] = i;
      return;
    }
    if (addr_keys_[h] == 0) {
      if (addr_used_ * 4 >= addr_keys_.size() * 3) return;   // full: that address goes unanswered
      addr_keys_[h] = ip;
      addr_vals_[h] = i;
      ++addr_used_;
      return;
    }
  }
}

std::uint32_t Generator::lookup_address(Ipv4 ip) const noexcept {
  const std::size_t mask = addr_keys_.size() - 1;
  for (std::size_t h = (ip * 0x9e3779b1u) & mask;; h = (h + 1) & mask) {
    if (addr_keys_[h] == ip) return addr_vals_[h];
    if (addr_keys_[h] == 0) return TimerWheel::kNone;
  }
}

void Generator::handle_arp(wire::Bytes frame, const wire::Frame& f, std::uint64_t now) noexcept {
  ++c_.rx_arp;
  if (cfg_.giaddr == 0 && (f.arp.op == kArpRequest || f.arp.op == kArpReply)) {
    // RFC 3927 2.2.1, 2.5: an ARP from another MAC with a client's
    // link-local address as sender, or a probe for the address a client
    // is probing.
    const bool probe = f.arp.spa == 0 && f.arp.op == kArpRequest;
    const Ipv4 a = probe ? f.arp.tpa : f.arp.spa;
    const std::uint32_t j = a == 0 ? TimerWheel::kNone : valid_owner(a);
    if (j != TimerWheel::kNone && clients_[j].ll_addr == a && f.arp.sha != client_mac(j) &&
        (!probe || clients_[j].state == State::ll_probing)) {
      ll_conflict(j, now);
      return;
    }
  }
  if (f.arp.op == kArpReply) {
    if (cfg_.giaddr != 0 && f.arp.spa == cfg_.server_ip) {
      server_mac_ = f.arp.sha;
      server_mac_known_ = true;
    }
    return;
  }
  if (f.arp.op != kArpRequest) return;
  MacAddr mac;
  if (cfg_.giaddr != 0 && wire::is_arp_request_for(f, cfg_.giaddr)) {
    mac = cfg_.port_mac;
  } else {
    const std::uint32_t i = lookup_address(f.arp.tpa);
    if (i == TimerWheel::kNone || !wire::is_arp_request_for(f, f.arp.tpa)) return;
    const Client& c = clients_[i];
    const bool holds = (c.yiaddr == f.arp.tpa &&
                        (c.state == State::bound || c.state == State::renewing || c.state == State::rebinding)) ||
                       (cfg_.giaddr == 0 && c.ll_addr == f.arp.tpa && ll_holds(c));
    if (!holds) return;
    mac = cfg_.giaddr != 0 ? cfg_.port_mac : client_mac(i);
  }
  const wire::MutableBytes slot = tx_.reserve();
  if (slot.empty() || frame.size() > slot.size()) {
    ++c_.tx_ring_full;
    return;
  }
  std::memcpy(slot.data(), frame.data(), frame.size());
  wire::make_arp_reply(slot, f, mac, f.arp.tpa);
  tx_.commit(frame.size());
  ++c_.tx_arp_reply;
}

void Generator::send_arp_request() noexcept {
  if (send_arp(cfg_.port_mac, kArpRequest, cfg_.giaddr, cfg_.server_ip)) ++c_.tx_arp_request;
}

// A broadcast ARP frame from `sha`, target MAC zero; false when the TX
// ring is full.
bool Generator::send_arp(const MacAddr& sha, std::uint16_t op, Ipv4 spa, Ipv4 tpa) noexcept {
  const wire::MutableBytes slot = tx_.reserve();
  if (slot.empty()) {
    ++c_.tx_ring_full;
    return false;
  }
  std::uint8_t* p = slot.data();
  std::memset(p, 0, 64);
  std::memcpy(p, MacAddr::broadcast().b.data(), 6);
  std::memcpy(p + 6, sha.b.data(), 6);
  p += 12;
  if (cfg_.vlan != 0) {
    wire::store_be16(p, wire::kEtherTypeVlan);
    wire::store_be16(p + 2, cfg_.vlan);
    p += 4;
  }
  wire::store_be16(p, wire::kEtherTypeArp);
  std::uint8_t* a = p + 2;
  wire::store_be16(a, 1);                  // Ethernet
  wire::store_be16(a + 2, wire::kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  wire::store_be16(a + 6, op);
  std::memcpy(a + 8, sha.b.data(), 6);
  wire::store_be32(a + 14, spa);
  wire::store_be32(a + 24, tpa);
  tx_.commit(60);                          // minimum frame without FCS, zero-padded
  return true;
}

void Generator::receive(wire::Bytes frame, std::uint64_t now_us) noexcept {
  const wire::Frame f = wire::parse_frame(frame);
  if (f.error != wire::Error::ok) {
    // A frame the codec refuses (truncated, bad checksum, ...): a drop.
    ++c_.rx_unparsable;
    return;
  }
  if (cfg_.vlan != 0 ? (f.eth.vlan_count != 1 || f.eth.vlans[0].vid() != cfg_.vlan)
                     : f.eth.vlan_count != 0) {
    ++c_.rx_ignored;
    return;
  }
  if (f.kind == wire::FrameKind::arp) return handle_arp(frame, f, now_us);
  if (f.kind != wire::FrameKind::ipv4_udp) {
    ++c_.rx_ignored;
    return;
  }
  // Relay mode: relayed replies come to giaddr:67; replies to renewing
  // clients (unicast, not relayed) to their address, port 68.
  const bool ours = f.udp.dst_port == wire::kPortBootpc ||
                    (cfg_.giaddr != 0 && f.udp.dst_port == wire::kPortBootps && f.ip.dst == cfg_.giaddr);
  if (!ours) {
    ++c_.rx_ignored;
    return;
  }
  if (msg_.parse(f.udp_payload(frame)) != wire::Error::ok) {
    ++c_.rx_unparsable;
    return;
  }
  handle_dhcp(msg_, f, now_us);
}

void Generator::start_measuring(std::uint64_t now) noexcept {
  warmup_ = c_;
  c_ = Counters{};
  h_ = Histograms{};
  measuring_ = true;
  measure_start_us_ = last_completion_us_ = now;
  ops_started_ = 0;
}

void Generator::start_new_operations(std::uint64_t now) noexcept {
  if (cfg_.giaddr != 0 && !server_mac_known_) {
    if (now >= next_arp_us_) {
      send_arp_request();
      next_arp_us_ = now + kUs;
    }
    return;
  }
  if (!measuring_) {
    // Warm-up: every client gets a lease first, as fast as the window allows.
    while (next_new_ < cfg_.clients && in_flight_ < cfg_.window && tx_.room() > kTxReserve)
      start_operation(next_new_++, now);
    const bool timed_out = now - start_us_ >= static_cast<std::uint64_t>(cfg_.duration_s * kUs);
    if ((next_new_ < cfg_.clients || in_flight_ != 0) && !timed_out) return;
    start_measuring(now);
  }
  std::uint64_t budget;
  if (cfg_.mode == Mode::storm) {
    budget = ~std::uint64_t{0};
  } else if (cfg_.rate > 0) {
    const double due = cfg_.rate * static_cast<double>(now - measure_start_us_) / kUs + 1;
    budget = due > static_cast<double>(ops_started_) ? static_cast<std::uint64_t>(due) - ops_started_ : 0;
  } else {
    budget = in_flight_ < cfg_.window ? cfg_.window - in_flight_ : 0;
  }
  const bool reuse = cfg_.mode == Mode::renew || (cfg_.mode == Mode::storm && cfg_.reboot);
  while (budget > 0 && tx_.room() > kTxReserve) {
    bool started = false;
    if (reuse) {
      if (next_op_ >= cfg_.clients) break;
      started = start_operation(next_op_++, now);
    } else if (cfg_.mode == Mode::mixed) {
      const bool renew = next_new_ >= cfg_.clients ||
                         static_cast<double>(rand() >> 11) * 0x1.0p-53 < cfg_.renew_ratio;
      if (renew) {
        // The next bound, idle client after the cursor (bounded search).
        for (int k = 0; k < 64 && next_new_ > 0 && !started; ++k) {
          const std::uint32_t i = next_op_++ % next_new_;
          if (clients_[i].state == State::bound && clients_[i].op == op_none) started = start_operation(i, now);
        }
      }
      if (!started) {
        if (next_new_ >= cfg_.clients) break;
        started = start_operation(next_new_++, now);
      }
    } else {
      if (next_new_ >= cfg_.clients) break;
      started = start_operation(next_new_++, now);
    }
    if (started) {
      ++ops_started_;
      --budget;
    }
  }
}

void Generator::poll(std::uint64_t now_us) noexcept {
  // A timer sends at most one frame: never fire more than the TX ring takes
  // (a timer that cannot send re-arms itself, and a backlog of them would be
  // walked again and again for nothing).
  const std::size_t room = tx_.room();
  if (room > kTxReserve / 2)
    wheel_.advance(now_us, [&](std::uint32_t i) noexcept { fire(i, now_us); }, room - kTxReserve / 2);
  for (const auto& [j, a] : pending_conflicts_)
    if (clients_[j].ll_addr == a) ll_conflict(j, now_us);
  pending_conflicts_.clear();
  start_new_operations(now_us);
}

bool Generator::finished(std::uint64_t now_us) const noexcept {
  if (!measuring_) return false;
  if (now_us - measure_start_us_ >= static_cast<std::uint64_t>(cfg_.duration_s * kUs)) return true;
  if (in_flight_ != 0) return false;
  // Link-local clients go on claiming and DISCOVERing until --duration.
  if (ll_held_ != 0 || states_[static_cast<std::size_t>(State::ll_probing)] != 0 ||
      states_[static_cast<std::size_t>(State::link_local)] != 0)
    return false;
  switch (cfg_.mode) {
    case Mode::dora: return next_new_ >= cfg_.clients;
    case Mode::storm: return cfg_.reboot ? next_op_ >= cfg_.clients : next_new_ >= cfg_.clients;
    case Mode::renew: return next_op_ >= cfg_.clients;
    case Mode::mixed: return false;
  }
  return false;
}

namespace {

nlohmann::json latency_json(const runtime::LatencyHistogram& h) {
  const runtime::LatencySummary s = h.summary();
  return {{"count", s.count}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99},
          {"p999", s.p999}, {"max", s.max}};
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::dora: return "dora";
    case Mode::renew: return "renew";
    case Mode::mixed: return "mixed";
    case Mode::storm: return "storm";
  }
  return "?";
}

nlohmann::json counters_json(const Counters& c) {
  return {{"offered", c.offered}, {"completed", c.completed}, {"naks", c.naks},
          {"timeouts", c.timeouts}, {"link_local_fallbacks", c.link_local}};
}

}  // namespace

std::string Generator::json_report(std::uint64_t now_us) const {
  const double elapsed = static_cast<double>(now_us - measure_start_us_) / kUs;
  const double active = static_cast<double>(last_completion_us_ - measure_start_us_) / kUs;
  const double per_sec = active > 0 ? static_cast<double>(c_.completed) / active : 0;
  nlohmann::json j;
  j["mode"] = mode_name(cfg_.mode);
  j["clients"] = cfg_.clients;
  if (cfg_.rate > 0) j["rate"] = cfg_.rate; else j["rate"] = "max";
  j["relay"] = cfg_.giaddr != 0;
  j["elapsed_s"] = elapsed;
  j["active_s"] = active;
  j["offered"] = c_.offered;
  j["completed"] = c_.completed;
  j["completed_dora"] = c_.completed_dora;
  j["completed_renew"] = c_.completed_renew;
  j["completed_reboot"] = c_.completed_reboot;
  j["in_flight"] = in_flight_;
  j["dora_per_sec"] = std::round(per_sec * 10) / 10;
  j["naks"] = c_.naks;
  j["timeouts"] = c_.timeouts;
  j["link_local_fallbacks"] = c_.link_local;
  j["link_local"] = {{"held", ll_held_}, {"claimed", c_.ll_claimed}, {"conflicts", c_.ll_conflicts},
                     {"dhcp_retries", c_.ll_dhcp_retries}, {"released", c_.ll_released}};
  nlohmann::json states = nlohmann::json::object();
  for (std::size_t s = 0; s < kStates; ++s) states[state_name(static_cast<State>(s))] = states_[s];
  j["states"] = states;
  j["lease_expired"] = c_.lease_expired;
  j["retransmits"] = c_.retransmits;
  j["declines"] = c_.declines;
  j["releases"] = c_.releases;
  j["drops"] = c_.rx_unparsable;
  j["tx"] = {{"discover", c_.tx_discover}, {"request", c_.tx_request}, {"renew", c_.tx_renew},
             {"rebind", c_.tx_rebind}, {"reboot", c_.tx_reboot}, {"decline", c_.tx_decline},
             {"release", c_.tx_release}, {"arp_request", c_.tx_arp_request},
             {"arp_reply", c_.tx_arp_reply}, {"arp_probe", c_.tx_arp_probe},
             {"arp_announce", c_.tx_arp_announce}, {"ring_full", c_.tx_ring_full}};
  j["rx"] = {{"offer", c_.rx_offer}, {"ack", c_.rx_ack}, {"nak", c_.rx_nak}, {"arp", c_.rx_arp},
             {"unparsable", c_.rx_unparsable}, {"foreign", c_.rx_foreign},
             {"stale", c_.rx_stale}, {"ignored", c_.rx_ignored}};
  j["latency_us"] = latency_json(h_.operation);
  j["discover_offer_us"] = latency_json(h_.discover_offer);
  j["request_ack_us"] = latency_json(h_.request_ack);
  j["dora_us"] = latency_json(h_.dora);
  j["renew_us"] = latency_json(h_.renew);
  j["reboot_us"] = latency_json(h_.reboot);
  if (cfg_.mode == Mode::renew || (cfg_.mode == Mode::storm && cfg_.reboot))
    j["warmup"] = counters_json(warmup_);
  return j.dump();
}

}  // namespace dorado::gen
