#include "store/format.hpp"

#include <algorithm>
#include <bit>
#include <string_view>

#include "engine/ddns.hpp"
#include "store/crc32c.hpp"

namespace dorado::store {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the formats are little-endian and read with memcpy");

constexpr std::array<std::uint8_t, 8> kSegmentMagic = {'D', 'O', 'R', 'A', 'D', 'O', 'J', '1'};
constexpr std::array<std::uint8_t, 8> kSnapshotMagic = {'D', 'O', 'R', 'A', 'D', 'O', 'S', '1'};
constexpr std::array<std::uint8_t, 8> kTrailerMagic = {'D', 'O', 'R', 'A', 'D', 'O', 'S', 'E'};

template <typename T>
void put(std::uint8_t* p, T v) noexcept {
  std::memcpy(p, &v, sizeof v);
}
template <typename T>
T get(const std::uint8_t* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool all_zero(std::span<const std::uint8_t> s) noexcept {
  return std::all_of(s.begin(), s.end(), [](std::uint8_t b) { return b == 0; });
}

DecodedRecord fail(Status s, FormatError e) noexcept {
  DecodedRecord d;
  d.status = s;
  d.error = e;
  return d;
}

std::uint32_t header_crc(const std::uint8_t* h) noexcept {
  return crc32c(std::span<const std::uint8_t>{h + 16, 16}, crc32c({h, 12}));
}

}  // namespace

const char* format_error_name(FormatError e) noexcept {
  switch (e) {
    case FormatError::none: return "none";
    case FormatError::short_header: return "short header";
    case FormatError::zero_filled: return "zero-filled";
    case FormatError::short_body: return "short body";
    case FormatError::bad_length: return "bad length";
    case FormatError::bad_crc: return "bad crc";
    case FormatError::bad_type: return "unknown record type";
    case FormatError::bad_version: return "unknown record version";
    case FormatError::key_too_long: return "key too long";
    case FormatError::hostname_too_long: return "hostname too long";
    case FormatError::bad_op: return "bad op";
    case FormatError::bad_seq: return "seq out of order";
    case FormatError::bad_magic: return "bad magic";
    case FormatError::bad_file_version: return "unknown file version";
    case FormatError::bad_header_crc: return "bad header crc";
    case FormatError::bad_trailer_crc: return "bad trailer crc";
    case FormatError::count_mismatch: return "lease count mismatch";
    case FormatError::bad_records_crc: return "bad records crc";
    case FormatError::relay_info_too_long: return "relay info too long";
  }
  return "?";
}

std::size_t encode_record(std::uint64_t seq, const engine::LeaseChange& c,
                          std::span<std::uint8_t> out) noexcept {
  const std::size_t size = record_size(c);
  std::uint8_t* p = out.data();
  put<std::uint16_t>(p + 4, static_cast<std::uint16_t>(size - kRecordHeaderSize));
  p[6] = kRecordTypeLease;
  const std::uint8_t ddns = c.ddns & engine::kDdnsFlagsMask;
  const wire::Bytes relay = engine::relay_info_of(c);
  p[7] = !relay.empty() ? kRecordVersionRelay : ddns != 0 ? kRecordVersionDdns : kRecordVersion;
  put<std::uint64_t>(p + 8, seq);
  p[16] = static_cast<std::uint8_t>(c.op);
  p[17] = c.htype;
  p[18] = c.key_len;
  p[19] = static_cast<std::uint8_t>(c.hostname_len | ddns << 6);
  put<std::uint32_t>(p + 20, c.subnet_id);
  put<std::uint32_t>(p + 24, c.address);
  put<std::uint32_t>(p + 28, c.start);
  put<std::uint32_t>(p + 32, c.expires);
  std::memcpy(p + 36, c.chaddr.b.data(), 6);
  std::memcpy(p + kRecordMinSize, c.key.data(), c.key_len);
  std::memcpy(p + kRecordMinSize + c.key_len, c.hostname.data(), c.hostname_len);
  if (!relay.empty()) {
    std::uint8_t* r = p + kRecordMinSize + c.key_len + c.hostname_len;
    r[0] = static_cast<std::uint8_t>(relay.size());
    std::memcpy(r + 1, relay.data(), relay.size());
  }
  put<std::uint32_t>(p, crc32c({p + 4, size - 4}));
  return size;
}

DecodedRecord decode_record(std::span<const std::uint8_t> data) noexcept {
  if (data.empty()) return fail(Status::end, FormatError::none);
  if (data.size() < kRecordHeaderSize) return fail(Status::torn, FormatError::short_header);
  const std::uint8_t* p = data.data();
  if (all_zero({p, kRecordHeaderSize})) return fail(Status::torn, FormatError::zero_filled);
  const std::size_t body = get<std::uint16_t>(p + 4);
  if (body < kRecordFixedBody || body > kMaxRecordSize - kRecordHeaderSize)
    return fail(Status::corrupt, FormatError::bad_length);
  const std::size_t size = kRecordHeaderSize + body;
  if (size > data.size()) return fail(Status::torn, FormatError::short_body);
  if (crc32c({p + 4, size - 4}) != get<std::uint32_t>(p)) {
    // The write stopped inside this record when its last byte and all that
    // follows are zero (pages allocated, never written).
    if (all_zero(data.subspan(size - 1))) return fail(Status::torn, FormatError::zero_filled);
    return fail(Status::corrupt, FormatError::bad_crc);
  }
  if (p[6] != kRecordTypeLease) return fail(Status::corrupt, FormatError::bad_type);
  const std::uint8_t version = p[7];
  if (version != kRecordVersion && version != kRecordVersionDdns && version != kRecordVersionRelay)
    return fail(Status::corrupt, FormatError::bad_version);
  const std::uint8_t op = p[16];
  const std::uint8_t key_len = p[18];
  std::uint8_t hostname_len = p[19];
  std::uint8_t ddns = 0;
  if (version != kRecordVersion) {
    ddns = static_cast<std::uint8_t>(hostname_len >> 6);
    hostname_len &= 63u;
    if (version == kRecordVersionDdns && ddns == 0) return fail(Status::corrupt, FormatError::bad_version);
  }
  if (key_len > engine::kMaxKeyLen) return fail(Status::corrupt, FormatError::key_too_long);
  if (hostname_len > engine::kMaxHostnameLen)
    return fail(Status::corrupt, FormatError::hostname_too_long);
  std::size_t relay_len = 0;
  if (version == kRecordVersionRelay) {
    const std::size_t at = kRecordMinSize + key_len + hostname_len;   // relay_len byte
    if (body < kRecordFixedBody + key_len + hostname_len + 1)
      return fail(Status::corrupt, FormatError::bad_length);
    relay_len = p[at];
    if (relay_len == 0) return fail(Status::corrupt, FormatError::bad_version);
    if (relay_len > engine::kMaxRelayInfoLen || key_len + relay_len > engine::kMaxKeyLen)
      return fail(Status::corrupt, FormatError::relay_info_too_long);
  }
  if (body != kRecordFixedBody + key_len + hostname_len + (relay_len != 0 ? 1 + relay_len : 0))
    return fail(Status::corrupt, FormatError::bad_length);
  if (op < static_cast<std::uint8_t>(engine::LeaseOp::commit) ||
      op > static_cast<std::uint8_t>(engine::LeaseOp::reclaim))
    return fail(Status::corrupt, FormatError::bad_op);

  DecodedRecord d;
  d.status = Status::ok;
  d.size = size;
  d.seq = get<std::uint64_t>(p + 8);
  engine::LeaseChange& c = d.change;
  c.op = static_cast<engine::LeaseOp>(op);
  c.htype = p[17];
  c.key_len = key_len;
  c.hostname_len = hostname_len;
  c.ddns = ddns;
  c.subnet_id = get<std::uint32_t>(p + 20);
  c.address = get<std::uint32_t>(p + 24);
  c.start = get<std::uint32_t>(p + 28);
  c.expires = get<std::uint32_t>(p + 32);
  std::memcpy(c.chaddr.b.data(), p + 36, 6);
  std::memcpy(c.key.data(), p + kRecordMinSize, key_len);
  std::memcpy(c.hostname.data(), p + kRecordMinSize + key_len, hostname_len);
  if (relay_len != 0) {
    c.relay_len = static_cast<std::uint8_t>(relay_len);
    std::memcpy(c.key.data() + key_len, p + kRecordMinSize + key_len + hostname_len + 1, relay_len);
  }
  return d;
}

std::array<std::uint8_t, kFileHeaderSize> encode_file_header(const FileHeader& h) noexcept {
  std::array<std::uint8_t, kFileHeaderSize> b{};
  const auto& magic = h.kind == FileKind::segment ? kSegmentMagic : kSnapshotMagic;
  std::memcpy(b.data(), magic.data(), 8);
  put<std::uint32_t>(b.data() + 8, kFileVersion);
  put<std::uint64_t>(b.data() + 16, h.seq);
  put<std::uint64_t>(b.data() + 24, h.created);
  put<std::uint32_t>(b.data() + 12, header_crc(b.data()));
  return b;
}

DecodedHeader decode_file_header(FileKind expected, std::span<const std::uint8_t> data) noexcept {
  DecodedHeader d;
  d.header.kind = expected;
  if (data.size() < kFileHeaderSize) {
    d.status = Status::torn;
    d.error = FormatError::short_header;
    return d;
  }
  const std::uint8_t* p = data.data();
  const auto& magic = expected == FileKind::segment ? kSegmentMagic : kSnapshotMagic;
  if (std::memcmp(p, magic.data(), 8) != 0) {
    d.status = all_zero({p, kFileHeaderSize}) ? Status::torn : Status::corrupt;
    d.error = all_zero({p, kFileHeaderSize}) ? FormatError::zero_filled : FormatError::bad_magic;
    return d;
  }
  if (get<std::uint32_t>(p + 12) != header_crc(p)) {
    d.status = Status::corrupt;
    d.error = FormatError::bad_header_crc;
    return d;
  }
  if (get<std::uint32_t>(p + 8) != kFileVersion) {
    d.status = Status::corrupt;
    d.error = FormatError::bad_file_version;
    return d;
  }
  d.header.seq = get<std::uint64_t>(p + 16);
  d.header.created = get<std::uint64_t>(p + 24);
  return d;
}

std::array<std::uint8_t, kSnapshotTrailerSize> encode_snapshot_trailer(const SnapshotTrailer& t) noexcept {
  std::array<std::uint8_t, kSnapshotTrailerSize> b{};
  std::memcpy(b.data(), kTrailerMagic.data(), 8);
  put<std::uint64_t>(b.data() + 8, t.leases);
  put<std::uint32_t>(b.data() + 16, t.records_crc);
  put<std::uint32_t>(b.data() + 20, crc32c({b.data(), 20}));
  return b;
}

DecodedTrailer decode_snapshot_trailer(std::span<const std::uint8_t> data) noexcept {
  DecodedTrailer d;
  if (data.size() < kSnapshotTrailerSize) {
    d.status = Status::torn;
    d.error = FormatError::short_body;
    return d;
  }
  const std::uint8_t* p = data.data();
  if (std::memcmp(p, kTrailerMagic.data(), 8) != 0) {
    d.status = Status::torn;   // most likely a file cut short
    d.error = FormatError::bad_magic;
    return d;
  }
  if (get<std::uint32_t>(p + 20) != crc32c({p, 20})) {
    d.status = Status::corrupt;
    d.error = FormatError::bad_trailer_crc;
    return d;
  }
  d.trailer.leases = get<std::uint64_t>(p + 8);
  d.trailer.records_crc = get<std::uint32_t>(p + 16);
  return d;
}

std::uint32_t snapshot_records_crc(std::span<const std::uint8_t> records) noexcept {
  return crc32c(records);
}

namespace {

template <std::size_t N>
std::array<char, N> make_name(const char* prefix, std::uint64_t seq, const char* suffix) noexcept {
  std::array<char, N> out{};
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t i = 0;
  for (const char* p = prefix; *p; ++p) out[i++] = *p;
  for (int shift = 60; shift >= 0; shift -= 4) out[i++] = kHex[(seq >> shift) & 0xf];
  for (const char* p = suffix; *p; ++p) out[i++] = *p;
  out[i] = '\0';
  return out;
}

ParsedName parse_name(const char* name, std::string_view prefix, std::string_view suffix) noexcept {
  const std::string_view s(name);
  ParsedName r;
  if (s.size() != prefix.size() + 16 + suffix.size() || !s.starts_with(prefix) || !s.ends_with(suffix))
    return r;
  for (const char c : s.substr(prefix.size(), 16)) {
    int v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      return r;
    r.seq = (r.seq << 4) | static_cast<std::uint64_t>(v);
  }
  r.ok = true;
  return r;
}

}  // namespace

std::array<char, 29> segment_name(std::uint64_t first_seq) noexcept {
  return make_name<29>("journal-", first_seq, ".log");
}
std::array<char, 31> snapshot_name(std::uint64_t seq) noexcept {
  return make_name<31>("snapshot-", seq, ".snap");
}
ParsedName parse_segment_name(const char* name) noexcept { return parse_name(name, "journal-", ".log"); }
ParsedName parse_snapshot_name(const char* name) noexcept { return parse_name(name, "snapshot-", ".snap"); }

}  // namespace dorado::store
