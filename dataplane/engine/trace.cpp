#include "engine/trace.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace dorado::engine {

static_assert(std::is_trivially_copyable_v<TraceRecord>);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

namespace {

bool equal(wire::Bytes b, const TraceFilter& f) noexcept {
  return b.size() == f.len && std::equal(b.begin(), b.end(), f.bytes.begin());
}

}  // namespace

std::string_view trace_key_name(TraceKey k) noexcept {
  switch (k) {
    case TraceKey::hw_address: return "hw-address";
    case TraceKey::client_id: return "client-id";
    case TraceKey::circuit_id: return "circuit-id";
    case TraceKey::subnet_id: return "subnet-id";
  }
  return "invalid";
}

bool trace_matches(const TraceFilter& f, const CompiledConfig& config, const wire::DhcpMessage& m,
                   const RxMeta& rx) noexcept {
  switch (f.key) {
    case TraceKey::hw_address: return equal(m.chaddr(), f);
    case TraceKey::client_id: {
      const auto id = m.client_id();
      return id && equal(*id, f);
    }
    case TraceKey::circuit_id: {
      if (!m.has(wire::opt::relay_agent_info)) return false;
      const auto rai = m.relay_agent_info();
      return rai && rai->circuit_id && equal(*rai->circuit_id, f);
    }
    case TraceKey::subnet_id: {
      const std::uint32_t s = select_subnet(config, m, rx).index;
      return s != kNil && config.subnets[s].id == f.subnet_id;
    }
  }
  return false;
}

void trace_record(TraceRecord& r, const wire::DhcpMessage& m, const SubnetChoice& subnet,
                  const CompiledConfig& config, const Decision& d, std::uint64_t time_us) noexcept {
  r = TraceRecord{};
  r.time_us = time_us;
  r.xid = m.xid;
  r.ciaddr = m.ciaddr;
  r.giaddr = m.giaddr;
  r.requested = m.requested_ip().value_or(0);
  r.server_id = m.server_id().value_or(0);
  if (const auto t = m.message_type()) r.message_type = static_cast<std::uint8_t>(*t);
  r.htype = m.htype;
  const wire::Bytes ch = m.chaddr();
  r.hlen = static_cast<std::uint8_t>(std::min(ch.size(), r.chaddr.size()));
  std::memcpy(r.chaddr.data(), ch.data(), r.hlen);
  if (const auto id = m.client_id()) {
    r.client_id_len = static_cast<std::uint8_t>(id->size());
    std::memcpy(r.client_id.data(), id->data(), std::min(id->size(), r.client_id.size()));
  }
  r.subnet_by = subnet.by;
  r.selector = subnet.selector;
  if (subnet.index != kNil) r.subnet_id = config.subnets[subnet.index].id;
  r.verdict = d.verdict;
  r.drop = d.drop;
  if (d.verdict == Verdict::reply) {
    r.reply_type = d.type;
    r.nak = d.nak;
    if (d.subnet != nullptr) r.subnet_id = d.subnet->id;   // the one the reply is from
    r.yiaddr = d.yiaddr;
    r.lease_time = d.lease_options ? d.lease_time : 0;
    r.reply_ip = d.ip_dst;
    r.reply_port = d.dst_port;
    r.reply_flags = d.flags;
    r.reply_mac = d.eth_dst;
  }
}

TraceRing::TraceRing() : records_(std::make_unique<TraceRecord[]>(kTraceCapacity)) {}

void TraceRing::restart(std::uint64_t session, std::uint32_t limit) noexcept {
  limit_ = std::min(limit, kTraceCapacity);
  published_ = 0;
  claimed_ = 0;
  count_.store(0, std::memory_order_relaxed);
  limit_reader_.store(limit_, std::memory_order_relaxed);
  session_.store(session, std::memory_order_release);   // the reader sees count 0 with it
}

std::vector<TraceRecord> TraceRing::read(std::uint64_t session) const {
  if (session_.load(std::memory_order_acquire) != session) return {};
  const std::uint32_t n = count_.load(std::memory_order_acquire);
  return std::vector<TraceRecord>(records_.get(), records_.get() + n);
}

}  // namespace dorado::engine
