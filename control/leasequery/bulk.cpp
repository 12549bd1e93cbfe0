#include "leasequery/bulk.hpp"

#include <algorithm>
#include <cstring>

#include "engine/client_key.hpp"
#include "wire/dhcp.hpp"

namespace dorado::leasequery {
namespace {

constexpr std::size_t kFixed = 236;   // BOOTP fixed fields, before the cookie
constexpr std::uint8_t kCookie[4] = {99, 130, 83, 99};

// Starts a framed BOOTREPLY of `type` in `out`; returns the offset of its
// 2-byte length (finish() fills it).
std::size_t begin_reply(std::vector<std::uint8_t>& out, wire::MessageType type, std::uint32_t xid) {
  const std::size_t at = out.size();
  out.resize(at + 2 + kFixed, 0);
  std::uint8_t* p = out.data() + at + 2;
  p[0] = 2;   // BOOTREPLY
  wire::store_be32(p + 4, xid);
  out.insert(out.end(), kCookie, kCookie + 4);
  out.insert(out.end(), {wire::opt::message_type, 1, static_cast<std::uint8_t>(type)});
  return at;
}

void put_option(std::vector<std::uint8_t>& out, std::uint8_t code, wire::Bytes value) {
  // Values over 255 bytes never occur here (82 <= 118, 61 <= 159).
  const std::size_t n = std::min<std::size_t>(value.size(), 255);
  out.push_back(code);
  out.push_back(static_cast<std::uint8_t>(n));
  if (n != 0) out.insert(out.end(), value.begin(), value.begin() + static_cast<std::ptrdiff_t>(n));
}

void put_u32(std::vector<std::uint8_t>& out, std::uint8_t code, std::uint32_t v) {
  std::uint8_t b[4];
  wire::store_be32(b, v);
  put_option(out, code, {b, 4});
}

void finish(std::vector<std::uint8_t>& out, std::size_t at) {
  out.push_back(wire::opt::end);
  const std::size_t len = out.size() - at - 2;
  out[at] = static_cast<std::uint8_t>(len >> 8);
  out[at + 1] = static_cast<std::uint8_t>(len);
}

ParsedQuery malformed(ParsedQuery p, std::string why) {
  p.status = StatusCode::malformed_query;
  p.message = std::move(why);
  return p;
}

}  // namespace

void FrameReader::feed(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  if (pos_ != 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

FrameReader::Status FrameReader::next(std::vector<std::uint8_t>& out) {
  if (buffered() < 2) return Status::need_more;
  const std::size_t len = std::size_t{buf_[pos_]} << 8 | buf_[pos_ + 1];
  if (len == 0 || len > kMaxQueryBytes) return Status::bad_length;
  if (buffered() < 2 + len) return Status::need_more;
  out.assign(buf_.begin() + static_cast<std::ptrdiff_t>(pos_ + 2),
             buf_.begin() + static_cast<std::ptrdiff_t>(pos_ + 2 + len));
  pos_ += 2 + len;
  return Status::message;
}

const char* query_kind_name(QueryKind k) noexcept {
  switch (k) {
    case QueryKind::all: return "all";
    case QueryKind::by_address: return "address";
    case QueryKind::by_mac: return "mac";
    case QueryKind::by_client_id: return "client-id";
    case QueryKind::by_relay_id: return "relay-id";
    case QueryKind::by_remote_id: return "remote-id";
  }
  return "?";
}

std::optional<wire::Bytes> relay_sub_option(wire::Bytes v, std::uint8_t code) noexcept {
  std::optional<wire::Bytes> found;
  std::size_t i = 0;
  while (i < v.size()) {
    if (i + 2 > v.size()) return std::nullopt;
    const std::size_t len = v[i + 1];
    if (i + 2 + len > v.size()) return std::nullopt;
    if (v[i] == code && !found) found = v.subspan(i + 2, len);
    i += 2 + len;
  }
  return found;
}

ParsedQuery parse_bulk_query(std::span<const std::uint8_t> message) {
  ParsedQuery p;
  if (message.size() >= 8) {
    p.have_xid = true;
    p.query.xid = wire::load_be32(message.data() + 4);
  }
  wire::DhcpMessage m;
  if (m.parse(message) != wire::Error::ok) return malformed(std::move(p), "not a DHCP message");
  if (m.op != 1) return malformed(std::move(p), "not a BOOTREQUEST");
  if (m.message_type() != wire::MessageType::bulk_lease_query)
    return malformed(std::move(p), "not a DHCPBULKLEASEQUERY (message type 14)");
  BulkQuery& q = p.query;
  int criteria = 0;
  if (m.ciaddr != 0) {
    q.kind = QueryKind::by_address;
    q.address = m.ciaddr;
    ++criteria;
  }
  if (const auto cid = m.client_id()) {
    if (cid->empty() || cid->size() + 1 > engine::kMaxKeyLen) return malformed(std::move(p), "bad client-id (option 61)");
    q.kind = QueryKind::by_client_id;
    q.id.assign(cid->begin(), cid->end());
    ++criteria;
  }
  if (m.hlen != 0) {
    if (m.hlen > 16) return malformed(std::move(p), "hlen over 16");
    q.kind = QueryKind::by_mac;
    q.htype = m.htype;
    const wire::Bytes ch = m.chaddr();
    q.id.assign(ch.begin(), ch.end());
    ++criteria;
  }
  if (const auto rai = m.option(wire::opt::relay_agent_info)) {
    bool well_formed = true;
    for (std::size_t i = 0; i < rai->size(); i += 2 + (*rai)[i + 1]) {
      if (i + 2 > rai->size() || i + 2 + (*rai)[i + 1] > rai->size()) {
        well_formed = false;
        break;
      }
    }
    if (!well_formed) return malformed(std::move(p), "option 82 sub-options malformed");
    const auto relay_id = relay_sub_option(*rai, kSubOptRelayId);
    const auto remote_id = relay_sub_option(*rai, kSubOptRemoteId);
    if (!relay_id && !remote_id)
      return malformed(std::move(p), "option 82 without a relay-id (12) or remote-id (2) sub-option");
    if (relay_id && remote_id) return malformed(std::move(p), "option 82 with both relay-id and remote-id: one query at a time");
    const wire::Bytes id = relay_id ? *relay_id : *remote_id;
    if (id.empty()) return malformed(std::move(p), "empty relay-id / remote-id");
    q.kind = relay_id ? QueryKind::by_relay_id : QueryKind::by_remote_id;
    q.id.assign(id.begin(), id.end());
    ++criteria;
  }
  if (criteria > 1) return malformed(std::move(p), "more than one query criterion (ciaddr, chaddr, option 61, option 82)");
  for (const std::uint8_t code : {kOptQueryStartTime, kOptQueryEndTime}) {
    if (const auto v = m.option(code)) {
      if (v->size() != 4) return malformed(std::move(p), "query-start-time / query-end-time must be 4 bytes");
      (code == kOptQueryStartTime ? q.start_time : q.end_time) = wire::load_be32(v->data());
    }
  }
  if (q.start_time && q.end_time && *q.start_time > *q.end_time)
    return malformed(std::move(p), "query-start-time after query-end-time");
  return p;
}

bool matches(const BulkQuery& q, const engine::LeaseChange& l) noexcept {
  if (l.key_len == 0) return false;
  if (q.start_time && l.start < *q.start_time) return false;
  if (q.end_time && l.start > *q.end_time) return false;
  const auto same = [](wire::Bytes a, const std::vector<std::uint8_t>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  };
  switch (q.kind) {
    case QueryKind::all: return true;
    case QueryKind::by_address: return l.address == q.address;
    case QueryKind::by_mac: {
      if (l.htype != q.htype || q.id.size() > 6) return false;   // leases keep 6 chaddr bytes
      wire::Bytes mine{l.chaddr.b.data(), q.id.size()};
      return same(mine, q.id);
    }
    case QueryKind::by_client_id:
      return l.key[0] == engine::kKeyKindClientId && same({l.key.data() + 1, l.key_len - 1u}, q.id);
    case QueryKind::by_relay_id:
    case QueryKind::by_remote_id: {
      const wire::Bytes relay = engine::relay_info_of(l);
      if (relay.empty()) return false;
      const auto v = relay_sub_option(relay, q.kind == QueryKind::by_relay_id ? kSubOptRelayId : kSubOptRemoteId);
      return v && same(*v, q.id);
    }
  }
  return false;
}

void append_lease_active(std::vector<std::uint8_t>& out, std::uint32_t xid, const engine::LeaseChange& l,
                         engine::Seconds now, wire::Ipv4 server_id) {
  const std::size_t at = begin_reply(out, wire::MessageType::lease_active, xid);
  std::uint8_t* p = out.data() + at + 2;
  p[1] = l.htype;
  p[2] = l.htype == 1 ? 6 : 0;
  wire::store_be32(p + 12, l.address);   // ciaddr
  std::memcpy(p + 28, l.chaddr.b.data(), 6);
  put_u32(out, wire::opt::server_id, server_id);
  put_u32(out, wire::opt::lease_time, l.expires > now ? l.expires - now : 0);
  put_u32(out, kOptClientLastTransactionTime, now > l.start ? now - l.start : 0);
  put_u32(out, kOptBaseTime, now);
  const std::uint8_t state = kDhcpStateActive;
  put_option(out, kOptDhcpState, {&state, 1});
  if (l.key_len > 1 && l.key[0] == engine::kKeyKindClientId)
    put_option(out, wire::opt::client_id, {l.key.data() + 1, l.key_len - 1u});
  if (const wire::Bytes relay = engine::relay_info_of(l); !relay.empty())
    put_option(out, wire::opt::relay_agent_info, relay);
  finish(out, at);
}

void append_done(std::vector<std::uint8_t>& out, std::uint32_t xid, engine::Seconds now, wire::Ipv4 server_id) {
  const std::size_t at = begin_reply(out, wire::MessageType::lease_query_done, xid);
  put_u32(out, wire::opt::server_id, server_id);
  put_u32(out, kOptBaseTime, now);
  finish(out, at);
}

void append_status(std::vector<std::uint8_t>& out, std::uint32_t xid, StatusCode code, std::string_view text,
                   engine::Seconds now, wire::Ipv4 server_id) {
  const std::size_t at = begin_reply(out, wire::MessageType::lease_query_status, xid);
  put_u32(out, wire::opt::server_id, server_id);
  put_u32(out, kOptBaseTime, now);
  std::vector<std::uint8_t> v;
  v.push_back(static_cast<std::uint8_t>(code));
  v.insert(v.end(), text.begin(), text.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(text.size(), 254)));
  put_option(out, kOptStatusCode, v);
  finish(out, at);
}

}  // namespace dorado::leasequery
