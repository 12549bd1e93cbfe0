// Reply serialisation: build_reply() (every reply, option by option) and
// ReplyCache (the same bytes from options encoded once per subnet and 55).
#include <algorithm>
#include <bit>
#include <bitset>
#include <cstddef>
#include <cstring>
#include <new>
#include <optional>

#include "engine/engine.hpp"
#include "engine/reply_cache.hpp"
#include "wire/build.hpp"

namespace dorado::engine {

namespace {

wire::Envelope envelope_of(const Decision& d, const RxMeta& rx) noexcept {
  wire::Envelope env;
  env.eth_src = rx.local_mac;
  env.eth_dst = d.eth_dst;
  env.vlan_count = rx.vlan_count;
  env.vlans = rx.vlans;
  env.ip_src = d.server_id;
  env.ip_dst = d.ip_dst;
  env.src_port = wire::kPortBootps;
  env.dst_port = d.dst_port;
  env.checksum_offload = rx.tx_checksum_offload;
  return env;
}

// The BOOTP fields of the reply. wire::build_* read op..hops as one word and
// chaddr as one 16-byte copy, so they are stored that way here: a load that
// spans several narrower stores still in the store buffer cannot take its
// bytes from them and waits until they, and every store before them (the
// previous reply's, to its mbuf), have reached the cache. Stored byte by byte
// these two were most of write_head's samples in the pipeline's worker.
wire::BootpFields bootp_of(const Decision& d, const wire::DhcpMessage& request) noexcept {
  static_assert(std::endian::native == std::endian::little);
  static_assert(offsetof(wire::BootpFields, op) == 0 && offsetof(wire::BootpFields, htype) == 1 &&
                offsetof(wire::BootpFields, hlen) == 2 && offsetof(wire::BootpFields, hops) == 3);
  wire::BootpFields b;
  const std::uint32_t head = 2u | std::uint32_t{request.htype} << 8 | std::uint32_t{request.hlen} << 16;
  std::memcpy(reinterpret_cast<unsigned char*>(&b), &head, 4);   // op 2, htype, hlen, hops 0
  b.xid = request.xid;
  b.flags = d.flags;
  b.ciaddr = d.ciaddr;
  b.yiaddr = d.yiaddr;
  b.giaddr = request.giaddr;
  if (request.chaddr_field.size() == b.chaddr.size())   // always, once parsed
    std::memcpy(b.chaddr.data(), request.chaddr_field.data(), b.chaddr.size());
  else
    std::memcpy(b.chaddr.data(), request.chaddr_field.data(),
                std::min(request.chaddr_field.size(), b.chaddr.size()));
  return b;
}

// The options of a reply other than 53, 54 and 82, in the order they are
// added (wire::build_dhcp_message then puts those 55 lists first, in its
// order): 51, 58, 59 (mandatory), 1 (mandatory), the subnet's options 55
// asks for, the subnet's always-send options, 61 echoed (RFC 6842), 81 for
// a client that sent it when [ddns] is on (engine/ddns.hpp; `request` null:
// never). At most one entry per code.
class ReplyOptions {
 public:
  ReplyOptions(const CompiledConfig& config, const Decision& d, wire::Bytes prl,
               std::optional<wire::Bytes> client_id, const wire::DhcpMessage* request) noexcept {
    if (d.lease_options) {
      wire::store_be32(lease_.data(), d.lease_time);
      wire::store_be32(t1_.data(), d.t1);
      wire::store_be32(t2_.data(), d.t2);
      add(wire::opt::lease_time, lease_, true);
      add(wire::opt::renewal_time, t1_, true);
      add(wire::opt::rebinding_time, t2_, true);
    }
    if (d.subnet_options && d.subnet != nullptr && d.reservation != nullptr) [[unlikely]] {
      // The client's reservation first: its options win by code.
      for (const std::uint8_t code : prl)
        for (const CompiledOption& o : config.options_of(*d.reservation))
          if (o.code == code) add(code, config.option_value(o), false);
      for (const CompiledOption& o : config.options_of(*d.reservation))
        if (o.always_send) add(o.code, config.option_value(o), false);
    }
    if (d.subnet_options && d.subnet != nullptr) {
      const CompiledSubnet& s = *d.subnet;
      wire::store_be32(mask_.data(), s.mask);
      add(wire::opt::subnet_mask, mask_, true);
      if (d.classes != 0 || d.pool != kNoPool) [[unlikely]] {
        add_scoped(config, d, s, prl);
      } else {
        for (const std::uint8_t code : prl)
          if (const CompiledOption* o = config.find_option(s, code)) add(code, config.option_value(*o), false);
        if (s.always_send_count != 0)
          for (const CompiledOption& o : config.options_of(s))
            if (o.always_send) add(o.code, config.option_value(o), false);
      }
    }
    if (client_id) add(wire::opt::client_id, *client_id, false);
    if (request != nullptr && d.fqdn != nullptr) [[unlikely]] add(wire::opt::client_fqdn, d.fqdn->bytes(), false);
    // RFC 4039: the ACK to a DISCOVER carries an empty option 80 (never
    // cached: ReplyCache::usable_entry sends these the generic way).
    if (d.rapid_commit) [[unlikely]] add(wire::opt::rapid_commit, wire::Bytes{}, true);
  }
  ReplyOptions(const ReplyOptions&) = delete;
  ReplyOptions& operator=(const ReplyOptions&) = delete;

  std::span<const wire::OptionValue> list() const noexcept { return {storage_.v, n_}; }

 private:
  // Options with client classes and a pool table (engine/classes.hpp),
  // most specific first: the classes (config order), the pool, the subnet
  // (which holds the global ones it did not override). For a code 55 asks
  // for, the first level that has it gives it; an always-send option is
  // sent unless a more specific level has the same code (even not
  // always-send: that level's value wins, and only when asked for).
  [[gnu::noinline]] void add_scoped(const CompiledConfig& config, const Decision& d, const CompiledSubnet& s,
                                    wire::Bytes prl) noexcept {
    const CompiledPool* pool = d.pool != kNoPool ? &config.pools[d.pool] : nullptr;
    auto find_in = [&](std::span<const CompiledOption> list, std::uint8_t code) -> const CompiledOption* {
      for (const CompiledOption& o : list)
        if (o.code == code) return &o;
      return nullptr;
    };
    for (const std::uint8_t code : prl) {
      const CompiledOption* found = nullptr;
      for (ClassSet set = d.classes; set != 0 && found == nullptr; set &= set - 1) {
        const CompiledClass& k = config.classes.list[static_cast<std::size_t>(std::countr_zero(set))];
        if (k.option_codes.test(code)) found = find_in(config.options_of(k), code);
      }
      if (found == nullptr && pool != nullptr && pool->option_codes.test(code))
        found = find_in(config.options_of(*pool), code);
      if (found == nullptr) found = config.find_option(s, code);
      if (found != nullptr) add(code, config.option_value(*found), false);
    }
    std::bitset<256> shadow;   // codes a more specific level has (the reservation's first)
    if (d.reservation != nullptr)
      for (const CompiledOption& o : config.options_of(*d.reservation)) shadow.set(o.code);
    auto always = [&](std::span<const CompiledOption> list) {
      for (const CompiledOption& o : list)
        if (o.always_send && !shadow.test(o.code)) add(o.code, config.option_value(o), false);
      for (const CompiledOption& o : list) shadow.set(o.code);
    };
    for (ClassSet set = d.classes; set != 0; set &= set - 1)
      always(config.options_of(config.classes.list[static_cast<std::size_t>(std::countr_zero(set))]));
    if (pool != nullptr) always(config.options_of(*pool));
    always(config.options_of(s));
  }

  void add(std::uint8_t code, wire::Bytes value, bool mandatory) noexcept {
    if (added_.test(code) || n_ == kMaxOptions) return;
    added_.set(code);
    new (&storage_.v[n_++]) wire::OptionValue{code, value, mandatory};
  }

  // At most one entry per option code, plus headroom for the fixed ones.
  // Left uninitialised (placement-new per entry): zeroing 96 entries would
  // cost more than filling the dozen a reply usually has.
  static constexpr std::size_t kMaxOptions = 96;
  union Storage {
    Storage() noexcept {}
    wire::OptionValue v[kMaxOptions];
  } storage_;
  std::size_t n_ = 0;
  std::bitset<256> added_;
  std::array<std::uint8_t, 4> lease_{}, t1_{}, t2_{}, mask_{};
};

// Entry index of (subnet, lease, option 55): 8 bytes of 55 per step.
std::size_t slot_of(std::uint32_t subnet, bool lease, wire::Bytes prl, std::uint64_t scope) noexcept {
  std::uint64_t h = ((std::uint64_t{subnet} << 1 | (lease ? 1u : 0u)) ^ scope) * 0x9E3779B97F4A7C15ull ^ prl.size();
  std::size_t i = 0;
  for (; i + 8 <= prl.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, prl.data() + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  if (i < prl.size()) {
    std::uint64_t w = 0;
    std::memcpy(&w, prl.data() + i, prl.size() - i);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  h *= 0xc4ceb9fe1a85ec53ull;
  return static_cast<std::size_t>(h >> 56) & (ReplyCache::kEntries - 1);
}

// RFC 5107: option 54 of a reply to a relayed request is the relay's
// server identifier override (option 82 sub-option 11) when it sent one;
// the IPv4 source stays the server's id (envelope_of). 82 itself is echoed
// unchanged (RFC 3046).
Ipv4 option54_of(const Decision& d, wire::Bytes relay_agent_info) noexcept {
  const Ipv4 o = wire::server_id_override(relay_agent_info);
  return o != 0 ? o : d.server_id;
}

}  // namespace

wire::Envelope reply_envelope(const Decision& d, const RxMeta& rx) noexcept { return envelope_of(d, rx); }

wire::BootpFields reply_bootp_fields(const Decision& d, const wire::DhcpMessage& request) noexcept {
  return bootp_of(d, request);
}

wire::BuildResult build_reply(const CompiledConfig& config, const Decision& d,
                              const wire::DhcpMessage& request, const RxMeta& rx,
                              wire::MutableBytes out) noexcept {
  if (d.bootp) [[unlikely]] return build_bootreply(config, d, request, rx, out);
  const ReplyOptions opts(config, d, request.parameter_request_list(), request.client_id(), &request);
  wire::DhcpOptionsSpec spec;
  spec.type = d.type;
  spec.server_id = d.server_id;
  spec.parameter_request_list = request.parameter_request_list();
  spec.options = opts.list();
  if (auto rai = request.option(wire::opt::relay_agent_info)) {
    spec.relay_agent_info = *rai;
    spec.server_id = option54_of(d, *rai);
  }
  spec.max_message_size = request.max_message_size().value_or(0);
  return wire::build_dhcp_frame(out, envelope_of(d, rx), bootp_of(d, request), spec);
}

// ---- ReplyCache -----------------------------------------------------------------------

static_assert((ReplyCache::kEntries & (ReplyCache::kEntries - 1)) == 0);
static_assert(ReplyCache::kMaxPrl <= 255);

ReplyCache::ReplyCache() : entries_(new Entry[kEntries]) {}

void ReplyCache::clear() noexcept {
  for (std::size_t i = 0; i < kEntries; ++i) entries_[i].state = State::empty;
}

// Encodes the options of (subnet, lease, 55) with the generic builder and
// keeps the bytes between 54 and END, or marks the entry `generic` when they
// do not fit it or the builder dropped any (a large option set).
void ReplyCache::fill(Entry& e, const CompiledConfig& config, std::uint32_t subnet, const Decision& d,
                      wire::Bytes prl) noexcept {
  e.config = &config;
  e.subnet = subnet;
  e.pool = d.pool;
  e.classes = d.classes;
  e.lease = d.lease_options;
  e.prl_len = static_cast<std::uint8_t>(prl.size());
  if (!prl.empty()) std::memcpy(e.prl.data(), prl.data(), prl.size());   // no 55: data() may be null
  e.state = State::generic;
  e.fqdn_generic = std::find(prl.begin(), prl.end(), wire::opt::client_fqdn) != prl.end();

  const ReplyOptions opts(config, d, prl, std::nullopt, nullptr);
  std::size_t expected = 0;
  for (const wire::OptionValue& o : opts.list()) expected += wire::encoded_option_size(o.value.size());
  if (expected > kMaxBlock) return;

  wire::DhcpOptionsSpec spec;
  spec.type = wire::MessageType::ack;
  spec.server_id = 0;   // 54 is written per reply, in front of the block
  spec.parameter_request_list = prl;
  spec.max_message_size = 1500;   // room for all: the reply's own size is checked per reply
  spec.options = opts.list();
  std::array<std::uint8_t, 1024> message;   // one 576-byte message at most
  const wire::BuildResult r = wire::build_dhcp_message(message, wire::BootpFields{}, spec);
  if (r.error != wire::Error::ok) return;

  // Walk what was written after 53 up to END; note where 51/58/59 went.
  constexpr std::size_t kStart = wire::kBootpFixedSize + 4 + 3;   // cookie, 53
  std::size_t at = kStart;
  std::array<int, 3> found{-1, -1, -1};
  while (at < r.length && message[at] != wire::opt::end) {
    if (at + 2 > r.length) return;
    const std::uint8_t code = message[at];
    const std::size_t len = message[at + 1];
    const std::size_t value = at + 2 - kStart;
    if (code == wire::opt::client_fqdn) e.fqdn_generic = true;
    if (len == 4) {
      if (code == wire::opt::lease_time && found[0] < 0) found[0] = static_cast<int>(value);
      if (code == wire::opt::renewal_time && found[1] < 0) found[1] = static_cast<int>(value);
      if (code == wire::opt::rebinding_time && found[2] < 0) found[2] = static_cast<int>(value);
    }
    at += 2 + len;
  }
  const std::size_t len = at - kStart;
  if (at >= r.length || len != expected) return;   // something was dropped
  if (d.lease_options && (found[0] < 0 || found[1] < 0 || found[2] < 0)) return;
  std::memcpy(e.block.data(), message.data() + kStart, len);
  e.block_len = static_cast<std::uint16_t>(len);
  for (std::size_t i = 0; i < 3; ++i) e.lease_at[i] = static_cast<std::uint16_t>(std::max(found[i], 0));
  e.state = State::usable;
}

// The entry to build `d`'s reply from (filled now if missing), or nullptr
// when the reply must be built the generic way.
const ReplyCache::Entry* ReplyCache::usable_entry(const CompiledConfig& config, const Decision& d,
                                                  wire::Bytes prl, bool client_id_sent) noexcept {
  if (d.verdict != Verdict::reply || !d.subnet_options || d.subnet == nullptr || d.bootp || d.rapid_commit ||
      d.reservation != nullptr || prl.size() > kMaxPrl ||
      (client_id_sent && std::find(prl.begin(), prl.end(), wire::opt::client_id) != prl.end()))
    return nullptr;
  const auto subnet = static_cast<std::uint32_t>(d.subnet - config.subnets.data());
  if (subnet >= config.subnets.size()) return nullptr;   // not this config's subnet: cannot happen
  // Classes and pool table (engine/classes.hpp) are part of the key; 0 and
  // kNoPool without them.
  const std::uint64_t scope = d.classes * 0xff51afd7ed558ccdull ^ d.pool;
  Entry& e = entries_[slot_of(subnet, d.lease_options, prl, scope == kNoPool ? 0 : scope)];
  if (e.state == State::empty || e.config != &config || e.subnet != subnet || e.lease != d.lease_options ||
      e.classes != d.classes || e.pool != d.pool ||
      e.prl_len != prl.size() || (!prl.empty() && std::memcmp(e.prl.data(), prl.data(), prl.size()) != 0)) {
    fill(e, config, subnet, d, prl);
    ++stats_.fills;
  } else {
    ++stats_.hits;
  }
  return e.state == State::usable ? &e : nullptr;
}

template <bool kFqdn>
wire::BuildResult ReplyCache::build_cached_as(const CompiledConfig& config, const Decision& d,
                                              const wire::DhcpMessage& request, const RxMeta& rx,
                                              wire::MutableBytes out, bool in_place) noexcept {
  constexpr wire::BuildResult kGeneric{wire::Error::mandatory_too_large, 0, 0};
  const wire::Bytes prl = request.parameter_request_list();
  const std::optional<wire::Bytes> client_id = request.client_id();
  // An empty client-id is echoed as "61 0" by build_reply; EncodedOptionsSpec
  // takes empty as "none", so such a client goes the generic way.
  if (client_id && client_id->empty()) return kGeneric;
  const Entry* e = usable_entry(config, d, prl, client_id.has_value());
  if (e == nullptr) return kGeneric;
  // Option 81 (a client that sent it, [ddns]): written by the frame
  // builder after 61, as build_reply adds it, unless the entry says it
  // cannot go there (Entry::fqdn_generic). The value is in the shard's
  // ring, not in the request, so writing in place cannot overwrite it.
  wire::Bytes fqdn{};
  if constexpr (kFqdn) {
    fqdn = d.fqdn->bytes();   // set: build_cached() comes here only then
    if (e->fqdn_generic || fqdn.size() > 255) return kGeneric;
  }
  const std::array<wire::Patch32, 3> patches{{{e->lease_at[0], d.lease_time},
                                              {e->lease_at[1], d.t1},
                                              {e->lease_at[2], d.t2}}};
  wire::EncodedOptionsSpec spec;
  spec.type = d.type;
  spec.server_id = d.server_id;
  spec.encoded = wire::Bytes{e->block.data(), e->block_len};
  if (d.lease_options) spec.patches = patches;
  spec.client_id = client_id ? *client_id : wire::Bytes{};
  if (auto rai = request.option(wire::opt::relay_agent_info)) {
    spec.relay_agent_info = *rai;
    spec.server_id = option54_of(d, *rai);
  }
  spec.max_message_size = request.max_message_size().value_or(0);
  // Written over the request: 61 and 82 are echoed after the head and the
  // cached block, which may already cover them. One option instance each
  // (255 bytes) is kept aside; longer ones (concatenated) go the generic way.
  std::array<std::uint8_t, 255> id_copy, rai_copy;
  if (in_place) {
    if (spec.client_id.size() > id_copy.size() || spec.relay_agent_info.size() > rai_copy.size())
      return kGeneric;
    auto keep = [](wire::Bytes& v, std::array<std::uint8_t, 255>& copy) noexcept {
      if (v.empty()) return;
      std::memcpy(copy.data(), v.data(), v.size());
      v = wire::Bytes{copy.data(), v.size()};
    };
    keep(spec.client_id, id_copy);
    keep(spec.relay_agent_info, rai_copy);
  }
  // Over option 57's size (mandatory_too_large): the generic way drops
  // optional options to fit.
  if constexpr (kFqdn) return wire::build_dhcp_frame_encoded(out, envelope_of(d, rx), bootp_of(d, request), spec, fqdn);
  return wire::build_dhcp_frame_encoded(out, envelope_of(d, rx), bootp_of(d, request), spec);
}

// Option 81 to write (with [ddns], a client that sent it): the same way,
// out of line, so that without it build_cached() is what it was (one
// branch).
wire::BuildResult ReplyCache::build_cached(const CompiledConfig& config, const Decision& d,
                                           const wire::DhcpMessage& request, const RxMeta& rx,
                                           wire::MutableBytes out, bool in_place) noexcept {
  if (d.fqdn != nullptr) [[unlikely]] return build_cached_fqdn(config, d, request, rx, out, in_place);
  return build_cached_as<false>(config, d, request, rx, out, in_place);
}

wire::BuildResult ReplyCache::build_cached_fqdn(const CompiledConfig& config, const Decision& d,
                                                const wire::DhcpMessage& request, const RxMeta& rx,
                                                wire::MutableBytes out, bool in_place) noexcept {
  return build_cached_as<true>(config, d, request, rx, out, in_place);
}

// Both return one named result (built in the caller's object): copying
// build_cached's result out loaded 16 bytes its fields had just been stored
// in, narrower (a store-forwarding stall: 80% of build_over's samples).
wire::BuildResult ReplyCache::build(const CompiledConfig& config, const Decision& d,
                                    const wire::DhcpMessage& request, const RxMeta& rx,
                                    wire::MutableBytes out) noexcept {
  wire::BuildResult r = build_cached(config, d, request, rx, out, false);
  if (r.error == wire::Error::mandatory_too_large) {
    ++stats_.generic;
    r = build_reply(config, d, request, rx, out);
  }
  return r;
}

wire::BuildResult ReplyCache::build_over(const CompiledConfig& config, const Decision& d,
                                         const wire::DhcpMessage& request, const RxMeta& rx,
                                         wire::MutableBytes frame, wire::MutableBytes scratch) noexcept {
  wire::BuildResult r = build_cached(config, d, request, rx, frame, true);
  if (r.error == wire::Error::mandatory_too_large) {
    ++stats_.generic;
    r = build_reply(config, d, request, rx, scratch);
    if (r.error == wire::Error::ok) {
      if (r.length <= frame.size())
        std::memcpy(frame.data(), scratch.data(), r.length);
      else
        r = {wire::Error::buffer_too_small, 0, 0};
    }
  }
  return r;
}

}  // namespace dorado::engine
