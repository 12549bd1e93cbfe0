#include "madcap/message.hpp"

#include <cstring>

namespace dorado::madcap {
namespace {

std::uint16_t be16(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// Reads one known option's value into `r`; returns the error, if any.
ParseError read_option(std::uint16_t code, const std::uint8_t* v, std::size_t len, Request& r) noexcept {
  auto fixed = [&](std::size_t n) { return len == n; };
  switch (code) {
    case opt::lease_time:
    case opt::start_time:
    case opt::current_time:
    case opt::retry_time:
    case opt::min_lease_time:
    case opt::max_start_time: {
      if (!fixed(4)) return ParseError::bad_length;
      const std::uint32_t x = be32(v);
      switch (code) {
        case opt::lease_time: r.lease_time = x; break;
        case opt::start_time: r.start_time = x; break;
        case opt::current_time: r.current_time = x; break;
        case opt::retry_time: r.retry_time = x; break;
        case opt::min_lease_time: r.min_lease_time = x; break;
        default: r.max_start_time = x; break;
      }
      return ParseError::none;
    }
    case opt::server_id:
      if (!fixed(6) || be16(v) != kFamilyIpv4) return ParseError::bad_length;
      r.server_id = be32(v + 2);
      return ParseError::none;
    case opt::lease_id:
      if (len == 0) return ParseError::bad_length;
      if (len > kMaxLeaseId) return ParseError::too_many;
      std::memcpy(r.lease_id.data(), v, len);
      r.lease_id_len = static_cast<std::uint8_t>(len);
      return ParseError::none;
    case opt::mcast_scope:
      if (len == 4) {
        r.scope_id = be32(v);
        r.scope_type = -1;
      } else if (len == 5) {
        r.scope_type = v[0];
        r.scope_id = be32(v + 1);
      } else {
        return ParseError::bad_length;
      }
      return ParseError::none;
    case opt::option_request:
      if (len % 2 != 0) return ParseError::bad_length;
      if (len / 2 > kMaxRequested) return ParseError::too_many;
      for (std::size_t i = 0; i < len / 2; ++i) r.requested[i] = be16(v + 2 * i);
      r.requested_count = static_cast<std::uint8_t>(len / 2);
      return ParseError::none;
    case opt::addr_count:
      if (!fixed(4)) return ParseError::bad_length;
      r.addr_min = be16(v);
      r.addr_desired = be16(v + 2);
      return ParseError::none;
    case opt::addr_list:
      if (len == 0 || len % 6 != 0) return ParseError::bad_length;
      if (len / 6 > kMaxRanges) return ParseError::too_many;
      for (std::size_t i = 0; i < len / 6; ++i) r.ranges[i] = AddrRange{be32(v + 6 * i), be16(v + 6 * i + 4)};
      r.range_count = static_cast<std::uint8_t>(len / 6);
      return ParseError::none;
    case opt::feature_list: {
      std::size_t at = 0;
      for (std::size_t list = 0; list < 3; ++list) {
        if (len - at < 2) return ParseError::bad_length;
        const std::size_t n = be16(v + at);
        at += 2;
        if (n > kMaxFeatures) return ParseError::too_many;
        if (len - at < 2 * n) return ParseError::bad_length;
        r.feature_count[list] = static_cast<std::uint8_t>(n);
        if (list == 2)
          for (std::size_t i = 0; i < n; ++i) r.required_features[i] = be16(v + at + 2 * i);
        at += 2 * n;
      }
      return at == len ? ParseError::none : ParseError::bad_length;
    }
    case opt::error:
      if (len < 2) return ParseError::bad_length;
      r.error_code = be16(v);
      return ParseError::none;
    default:   // language, scope list: a client has no business sending the
               // list; both are skipped
      return ParseError::none;
  }
}

}  // namespace

const char* msg_type_name(std::uint8_t t) noexcept {
  static constexpr const char* kNames[] = {"unknown", "DISCOVER", "OFFER", "REQUEST", "RENEW",
                                          "ACK",     "NAK",      "RELEASE", "GETINFO"};
  return t < sizeof kNames / sizeof kNames[0] ? kNames[t] : "unknown";
}

const char* parse_error_name(ParseError e) noexcept {
  switch (e) {
    case ParseError::none: return "none";
    case ParseError::short_header: return "short_header";
    case ParseError::bad_version: return "bad_version";
    case ParseError::bad_family: return "bad_family";
    case ParseError::truncated_option: return "truncated_option";
    case ParseError::no_end: return "no_end";
    case ParseError::duplicate_option: return "duplicate_option";
    case ParseError::bad_length: return "bad_length";
    case ParseError::too_many: return "too_many";
  }
  return "invalid";
}

Parsed parse(std::span<const std::uint8_t> d) noexcept {
  Parsed p;
  if (d.size() < kHeaderSize) {
    p.error = ParseError::short_header;
    return p;
  }
  if (d[0] != kVersion) {
    p.error = ParseError::bad_version;
    return p;
  }
  if (be16(d.data() + 2) != kFamilyIpv4) {
    p.error = ParseError::bad_family;
    return p;
  }
  Request& r = p.request;
  r.type = d[1];
  r.xid = be32(d.data() + 4);
  std::size_t at = kHeaderSize;
  while (true) {
    if (d.size() - at < 4) {
      p.error = at == d.size() ? ParseError::no_end : ParseError::truncated_option;
      return p;
    }
    const std::uint16_t code = be16(d.data() + at);
    const std::size_t len = be16(d.data() + at + 2);
    at += 4;
    if (code == opt::end) return p;   // its length is not looked at; what follows is padding
    if (d.size() - at < len) {
      p.error = ParseError::truncated_option;
      return p;
    }
    if (code < opt::kKnown) {
      if (r.has(code)) {
        p.error = ParseError::duplicate_option;
        return p;
      }
      r.present |= 1u << code;
      if (const ParseError e = read_option(code, d.data() + at, len, r); e != ParseError::none) {
        p.error = e;
        return p;
      }
    }
    at += len;
  }
}

// ---- Writer -------------------------------------------------------------------

Writer::Writer(std::span<std::uint8_t> out, MsgType type, std::uint32_t xid) noexcept : out_(out) {
  if (!room(kHeaderSize)) return;
  out_[0] = kVersion;
  out_[1] = static_cast<std::uint8_t>(type);
  out_[2] = 0;
  out_[3] = kFamilyIpv4;
  at_ = 4;
  put32(xid);
}

bool Writer::room(std::size_t n) noexcept {
  if (overflow_ || out_.size() - at_ < n) {
    overflow_ = true;
    return false;
  }
  return true;
}

void Writer::put8(std::uint8_t v) noexcept {
  if (room(1)) out_[at_++] = v;
}
void Writer::put16(std::uint16_t v) noexcept {
  put8(static_cast<std::uint8_t>(v >> 8));
  put8(static_cast<std::uint8_t>(v));
}
void Writer::put32(std::uint32_t v) noexcept {
  put16(static_cast<std::uint16_t>(v >> 16));
  put16(static_cast<std::uint16_t>(v));
}
void Writer::put(std::span<const std::uint8_t> bytes) noexcept {
  if (!room(bytes.size())) return;
  if (!bytes.empty()) std::memcpy(out_.data() + at_, bytes.data(), bytes.size());
  at_ += bytes.size();
}

void Writer::open(std::uint16_t code) noexcept {
  put16(code);
  put16(0);
  open_at_ = overflow_ ? 0 : at_;
}

void Writer::close() noexcept {
  if (overflow_ || open_at_ == 0) return;
  const std::size_t len = at_ - open_at_;
  if (len > 0xffff) {
    overflow_ = true;
    return;
  }
  out_[open_at_ - 2] = static_cast<std::uint8_t>(len >> 8);
  out_[open_at_ - 1] = static_cast<std::uint8_t>(len);
  open_at_ = 0;
}

void Writer::option(std::uint16_t code, std::span<const std::uint8_t> value) noexcept {
  open(code);
  put(value);
  close();
}

void Writer::u32(std::uint16_t code, std::uint32_t value) noexcept {
  open(code);
  put32(value);
  close();
}

void Writer::server_id(std::uint32_t address) noexcept {
  open(opt::server_id);
  put16(kFamilyIpv4);
  put32(address);
  close();
}

void Writer::scope(std::uint32_t scope_id, std::int16_t scope_type) noexcept {
  open(opt::mcast_scope);
  if (scope_type >= 0) put8(static_cast<std::uint8_t>(scope_type));
  put32(scope_id);
  close();
}

void Writer::address_ranges(std::span<const AddrRange> ranges) noexcept {
  open(opt::addr_list);
  for (const AddrRange& r : ranges) {
    put32(r.first);
    put16(r.count);
  }
  close();
}

void Writer::error(ErrorCode code, std::span<const std::uint8_t> data) noexcept {
  open(opt::error);
  put16(static_cast<std::uint16_t>(code));
  put(data);
  close();
}

std::size_t Writer::finish() noexcept {
  put16(opt::end);
  put16(0);
  return overflow_ ? 0 : at_;
}

}  // namespace dorado::madcap
