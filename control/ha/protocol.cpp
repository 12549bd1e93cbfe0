#include "ha/protocol.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "store/crc32c.hpp"

namespace dorado::ha {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the link format is little-endian and read with memcpy");

constexpr std::array<std::uint8_t, 4> kMagic = {'D', 'H', 'A', '1'};

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

bool type_valid(std::uint8_t t) noexcept {
  return t >= static_cast<std::uint8_t>(MessageType::hello) &&
         t <= static_cast<std::uint8_t>(MessageType::error);
}

// Writes the frame header at h for `payload` (which follows it).
void write_header(std::uint8_t* h, MessageType type, std::span<const std::uint8_t> payload) noexcept {
  std::memcpy(h, kMagic.data(), kMagic.size());
  h[4] = static_cast<std::uint8_t>(type);
  h[5] = kFrameVersion;
  put<std::uint16_t>(h + 6, 0);
  put<std::uint32_t>(h + 8, static_cast<std::uint32_t>(payload.size()));
  put<std::uint32_t>(h + 12, store::crc32c(payload));
}

// Appends a frame of `type` whose payload (size bytes) fill() writes.
template <typename Fill>
void append_message(MessageType type, std::size_t size, std::vector<std::uint8_t>& out, Fill&& fill) {
  const std::size_t at = out.size();
  out.resize(at + kFrameHeaderSize + size);
  std::uint8_t* p = out.data() + at + kFrameHeaderSize;
  fill(p);
  write_header(out.data() + at, type, {p, size});
}

template <typename T>
Decoded<T> fail(ProtoError e) noexcept {
  Decoded<T> d;
  d.error = e;
  return d;
}

// Payloads of a fixed size: truncated when shorter, trailing_bytes when longer.
ProtoError check_size(std::span<const std::uint8_t> payload, std::size_t size) noexcept {
  if (payload.size() < size) return ProtoError::truncated;
  if (payload.size() > size) return ProtoError::trailing_bytes;
  return ProtoError::none;
}

}  // namespace

const char* message_type_name(MessageType t) noexcept {
  switch (t) {
    case MessageType::hello: return "hello";
    case MessageType::heartbeat: return "heartbeat";
    case MessageType::updates: return "updates";
    case MessageType::ack: return "ack";
    case MessageType::sync_request: return "sync_request";
    case MessageType::sync_begin: return "sync_begin";
    case MessageType::sync_end: return "sync_end";
    case MessageType::command: return "command";
    case MessageType::error: return "error";
  }
  return "?";
}

namespace {
constexpr std::array<std::string_view, 10> kStateNames = {
    "waiting",        "syncing",        "ready",
    "hot-standby",    "load-balancing", "partner-down",
    "communication-recovery",           "in-maintenance",
    "partner-in-maintenance",           "terminated",
};
}  // namespace

const char* ha_state_name(HaState s) noexcept {
  const auto v = static_cast<std::uint8_t>(s);
  if (!ha_state_valid(v)) return "?";
  return kStateNames[v - 1].data();   // string literals: NUL-terminated
}

std::optional<HaState> parse_ha_state(std::string_view text) noexcept {
  for (std::size_t i = 0; i < kStateNames.size(); ++i)
    if (kStateNames[i] == text) return static_cast<HaState>(i + 1);
  return std::nullopt;
}

const char* proto_error_name(ProtoError e) noexcept {
  switch (e) {
    case ProtoError::none: return "none";
    case ProtoError::bad_magic: return "bad magic";
    case ProtoError::bad_version: return "unknown frame version";
    case ProtoError::bad_reserved: return "reserved bytes not zero";
    case ProtoError::bad_type: return "unknown message type";
    case ProtoError::too_long: return "payload too long";
    case ProtoError::bad_crc: return "bad crc";
    case ProtoError::truncated: return "truncated payload";
    case ProtoError::trailing_bytes: return "trailing bytes";
    case ProtoError::bad_protocol_version: return "unsupported protocol version";
    case ProtoError::bad_state: return "bad state";
    case ProtoError::bad_flags: return "bad flags";
    case ProtoError::name_too_long: return "server name too long";
    case ProtoError::text_too_long: return "error text too long";
    case ProtoError::bad_sync_kind: return "bad sync kind";
    case ProtoError::bad_command: return "bad command";
    case ProtoError::bad_record: return "bad record";
    case ProtoError::count_mismatch: return "record count mismatch";
  }
  return "?";
}

// ---- frames ---------------------------------------------------------------------

Frame next_frame(std::span<const std::uint8_t> received) noexcept {
  Frame f;
  const std::uint8_t* p = received.data();
  // The magic is checked byte by byte as it arrives.
  const std::size_t have_magic = std::min(received.size(), kMagic.size());
  if (have_magic != 0 && std::memcmp(p, kMagic.data(), have_magic) != 0) {
    f.status = FrameStatus::bad;
    f.error = ProtoError::bad_magic;
    return f;
  }
  if (received.size() < kFrameHeaderSize) return f;   // need_more, needed 16
  ProtoError e = ProtoError::none;
  const std::uint32_t length = get<std::uint32_t>(p + 8);
  if (p[5] != kFrameVersion)
    e = ProtoError::bad_version;
  else if (get<std::uint16_t>(p + 6) != 0)
    e = ProtoError::bad_reserved;
  else if (!type_valid(p[4]))
    e = ProtoError::bad_type;
  else if (length > kMaxPayload)
    e = ProtoError::too_long;
  if (e != ProtoError::none) {
    f.status = FrameStatus::bad;
    f.error = e;
    return f;
  }
  f.needed = kFrameHeaderSize + length;
  if (received.size() < f.needed) return f;   // need_more
  const auto payload = received.subspan(kFrameHeaderSize, length);
  if (store::crc32c(payload) != get<std::uint32_t>(p + 12)) {
    f.status = FrameStatus::bad;
    f.error = ProtoError::bad_crc;
    return f;
  }
  f.status = FrameStatus::ok;
  f.type = static_cast<MessageType>(p[4]);
  f.payload = payload;
  f.consumed = f.needed;
  return f;
}

bool encode_frame(MessageType type, std::span<const std::uint8_t> payload,
                  std::vector<std::uint8_t>& out) {
  if (payload.size() > kMaxPayload) return false;
  append_message(type, payload.size(), out, [&](std::uint8_t* p) {
    if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
  });
  return true;
}

// ---- messages -------------------------------------------------------------------------

void encode_hello(const Hello& m, std::vector<std::uint8_t>& out) {
  const std::size_t n = m.name.size();
  append_message(MessageType::hello, kHelloFixedSize + n, out, [&](std::uint8_t* p) {
    put<std::uint16_t>(p + 0, m.protocol_version);
    p[2] = static_cast<std::uint8_t>(m.state);
    p[3] = static_cast<std::uint8_t>(n);
    put<std::uint64_t>(p + 4, m.config_digest);
    put<std::uint64_t>(p + 12, m.journal_id);
    put<std::uint64_t>(p + 20, m.last_seq);
    put<std::uint64_t>(p + 28, m.epoch);
    put<std::uint64_t>(p + 36, m.applied_journal_id);
    put<std::uint64_t>(p + 44, m.applied_seq);
    if (n != 0) std::memcpy(p + kHelloFixedSize, m.name.view().data(), n);
  });
}

Decoded<Hello> decode_hello(std::span<const std::uint8_t> payload) noexcept {
  // The version first, so a partner speaking another version is told so
  // whatever the rest looks like.
  if (payload.size() < 2) return fail<Hello>(ProtoError::truncated);
  const std::uint8_t* p = payload.data();
  Decoded<Hello> d;
  d.value.protocol_version = get<std::uint16_t>(p);
  if (d.value.protocol_version != kProtocolVersion) {
    d.error = ProtoError::bad_protocol_version;
    return d;
  }
  if (payload.size() < kHelloFixedSize) return fail<Hello>(ProtoError::truncated);
  const std::size_t n = p[3];
  if (n > kMaxServerName) return fail<Hello>(ProtoError::name_too_long);
  if (const ProtoError e = check_size(payload, kHelloFixedSize + n); e != ProtoError::none)
    return fail<Hello>(e);
  if (!ha_state_valid(p[2])) return fail<Hello>(ProtoError::bad_state);
  Hello& h = d.value;
  h.state = static_cast<HaState>(p[2]);
  h.config_digest = get<std::uint64_t>(p + 4);
  h.journal_id = get<std::uint64_t>(p + 12);
  h.last_seq = get<std::uint64_t>(p + 20);
  h.epoch = get<std::uint64_t>(p + 28);
  h.applied_journal_id = get<std::uint64_t>(p + 36);
  h.applied_seq = get<std::uint64_t>(p + 44);
  h.name.assign({reinterpret_cast<const char*>(p + kHelloFixedSize), n});
  return d;
}

void encode_heartbeat(const Heartbeat& m, std::vector<std::uint8_t>& out) {
  append_message(MessageType::heartbeat, kHeartbeatSize, out, [&](std::uint8_t* p) {
    put<std::uint64_t>(p + 0, m.epoch);
    put<std::uint64_t>(p + 8, m.time_ms);
    put<std::uint64_t>(p + 16, m.unsent);
    put<std::uint64_t>(p + 24, m.last_seq);
    put<std::uint64_t>(p + 32, m.applied_seq);
    put<std::uint32_t>(p + 40, m.unacked_clients);
    p[44] = static_cast<std::uint8_t>(m.state);
    p[45] = m.serving ? 1 : 0;
  });
}

Decoded<Heartbeat> decode_heartbeat(std::span<const std::uint8_t> payload) noexcept {
  if (const ProtoError e = check_size(payload, kHeartbeatSize); e != ProtoError::none)
    return fail<Heartbeat>(e);
  const std::uint8_t* p = payload.data();
  if (!ha_state_valid(p[44])) return fail<Heartbeat>(ProtoError::bad_state);
  if ((p[45] & ~1u) != 0) return fail<Heartbeat>(ProtoError::bad_flags);
  Decoded<Heartbeat> d;
  Heartbeat& h = d.value;
  h.epoch = get<std::uint64_t>(p + 0);
  h.time_ms = get<std::uint64_t>(p + 8);
  h.unsent = get<std::uint64_t>(p + 16);
  h.last_seq = get<std::uint64_t>(p + 24);
  h.applied_seq = get<std::uint64_t>(p + 32);
  h.unacked_clients = get<std::uint32_t>(p + 40);
  h.state = static_cast<HaState>(p[44]);
  h.serving = (p[45] & 1u) != 0;
  return d;
}

void encode_ack(const Ack& m, std::vector<std::uint8_t>& out) {
  append_message(MessageType::ack, kAckSize, out,
                 [&](std::uint8_t* p) { put<std::uint64_t>(p, m.applied_seq); });
}

Decoded<Ack> decode_ack(std::span<const std::uint8_t> payload) noexcept {
  if (const ProtoError e = check_size(payload, kAckSize); e != ProtoError::none) return fail<Ack>(e);
  Decoded<Ack> d;
  d.value.applied_seq = get<std::uint64_t>(payload.data());
  return d;
}

void encode_sync_request(const SyncRequest& m, std::vector<std::uint8_t>& out) {
  append_message(MessageType::sync_request, kSyncRequestSize, out, [&](std::uint8_t* p) {
    put<std::uint64_t>(p + 0, m.journal_id);
    put<std::uint64_t>(p + 8, m.from_seq);
  });
}

Decoded<SyncRequest> decode_sync_request(std::span<const std::uint8_t> payload) noexcept {
  if (const ProtoError e = check_size(payload, kSyncRequestSize); e != ProtoError::none)
    return fail<SyncRequest>(e);
  Decoded<SyncRequest> d;
  d.value.journal_id = get<std::uint64_t>(payload.data() + 0);
  d.value.from_seq = get<std::uint64_t>(payload.data() + 8);
  return d;
}

void encode_sync_begin(const SyncBegin& m, std::vector<std::uint8_t>& out) {
  append_message(MessageType::sync_begin, kSyncBeginSize, out, [&](std::uint8_t* p) {
    p[0] = static_cast<std::uint8_t>(m.kind);
    put<std::uint64_t>(p + 1, m.from_seq);
    put<std::uint64_t>(p + 9, m.to_seq);
    put<std::uint64_t>(p + 17, m.leases);
  });
}

Decoded<SyncBegin> decode_sync_begin(std::span<const std::uint8_t> payload) noexcept {
  if (const ProtoError e = check_size(payload, kSyncBeginSize); e != ProtoError::none)
    return fail<SyncBegin>(e);
  const std::uint8_t* p = payload.data();
  if (p[0] != static_cast<std::uint8_t>(SyncKind::journal_tail) &&
      p[0] != static_cast<std::uint8_t>(SyncKind::full))
    return fail<SyncBegin>(ProtoError::bad_sync_kind);
  Decoded<SyncBegin> d;
  d.value.kind = static_cast<SyncKind>(p[0]);
  d.value.from_seq = get<std::uint64_t>(p + 1);
  d.value.to_seq = get<std::uint64_t>(p + 9);
  d.value.leases = get<std::uint64_t>(p + 17);
  return d;
}

void encode_sync_end(const SyncEnd& m, std::vector<std::uint8_t>& out) {
  append_message(MessageType::sync_end, kSyncEndSize, out,
                 [&](std::uint8_t* p) { put<std::uint64_t>(p, m.to_seq); });
}

Decoded<SyncEnd> decode_sync_end(std::span<const std::uint8_t> payload) noexcept {
  if (const ProtoError e = check_size(payload, kSyncEndSize); e != ProtoError::none)
    return fail<SyncEnd>(e);
  Decoded<SyncEnd> d;
  d.value.to_seq = get<std::uint64_t>(payload.data());
  return d;
}

void encode_command(const Command& m, std::vector<std::uint8_t>& out) {
  append_message(MessageType::command, kCommandSize, out,
                 [&](std::uint8_t* p) { p[0] = static_cast<std::uint8_t>(m.code); });
}

Decoded<Command> decode_command(std::span<const std::uint8_t> payload) noexcept {
  if (const ProtoError e = check_size(payload, kCommandSize); e != ProtoError::none)
    return fail<Command>(e);
  const std::uint8_t c = payload[0];
  if (c != static_cast<std::uint8_t>(CommandCode::maintenance_start) &&
      c != static_cast<std::uint8_t>(CommandCode::maintenance_cancel))
    return fail<Command>(ProtoError::bad_command);
  Decoded<Command> d;
  d.value.code = static_cast<CommandCode>(c);
  return d;
}

void encode_error(const ErrorMsg& m, std::vector<std::uint8_t>& out) {
  const std::size_t n = m.text.size();
  append_message(MessageType::error, kErrorFixedSize + n, out, [&](std::uint8_t* p) {
    put<std::uint16_t>(p + 0, m.code);
    put<std::uint16_t>(p + 2, static_cast<std::uint16_t>(n));
    if (n != 0) std::memcpy(p + kErrorFixedSize, m.text.view().data(), n);
  });
}

Decoded<ErrorMsg> decode_error(std::span<const std::uint8_t> payload) noexcept {
  if (payload.size() < kErrorFixedSize) return fail<ErrorMsg>(ProtoError::truncated);
  const std::uint8_t* p = payload.data();
  const std::size_t n = get<std::uint16_t>(p + 2);
  if (n > kMaxErrorText) return fail<ErrorMsg>(ProtoError::text_too_long);
  if (const ProtoError e = check_size(payload, kErrorFixedSize + n); e != ProtoError::none)
    return fail<ErrorMsg>(e);
  Decoded<ErrorMsg> d;
  d.value.code = get<std::uint16_t>(p);
  d.value.text.assign({reinterpret_cast<const char*>(p + kErrorFixedSize), n});
  return d;
}

// ---- updates ----------------------------------------------------------------------

Decoded<UpdatesReader> decode_updates(std::span<const std::uint8_t> payload) noexcept {
  if (payload.size() < kUpdatesHeaderSize) return fail<UpdatesReader>(ProtoError::truncated);
  Decoded<UpdatesReader> d;
  UpdatesReader& r = d.value;
  r.epoch_ = get<std::uint64_t>(payload.data());
  r.count_ = get<std::uint32_t>(payload.data() + 8);
  r.records_ = payload.subspan(kUpdatesHeaderSize);
  if (r.count_ > r.records_.size() / store::kRecordMinSize) {
    d.error = ProtoError::count_mismatch;
    r.done_ = true;
    r.error_ = d.error;
  }
  return d;
}

bool UpdatesReader::next(store::DecodedRecord& out) noexcept {
  if (done_) return false;
  const auto rest = records_.subspan(offset_);
  if (index_ == count_) {
    done_ = true;
    if (!rest.empty()) error_ = ProtoError::trailing_bytes;
    return false;
  }
  if (rest.empty()) {
    done_ = true;
    error_ = ProtoError::count_mismatch;
    return false;
  }
  out = store::decode_record(rest);
  if (out.status != store::Status::ok) {
    done_ = true;
    error_ = ProtoError::bad_record;
    record_error_ = out.error;
    return false;
  }
  offset_ += out.size;
  ++index_;
  return true;
}

ProtoError UpdatesReader::validate() const noexcept {
  UpdatesReader copy = *this;
  store::DecodedRecord r;
  while (copy.next(r)) {
  }
  return copy.error_;
}

UpdatesWriter::UpdatesWriter(std::vector<std::uint8_t>& out, std::uint64_t epoch,
                             std::size_t max_payload)
    : out_(out),
      start_(out.size()),
      max_payload_(std::clamp(max_payload, kUpdatesHeaderSize, kMaxPayload)) {
  out_.resize(start_ + kFrameHeaderSize + kUpdatesHeaderSize);
  put<std::uint64_t>(out_.data() + start_ + kFrameHeaderSize, epoch);
  put<std::uint32_t>(out_.data() + start_ + kFrameHeaderSize + 8, 0);
}

std::size_t UpdatesWriter::payload_size() const noexcept {
  return (finished_ ? size_ : out_.size() - start_) - kFrameHeaderSize;
}

bool UpdatesWriter::fits(std::size_t record_bytes) const noexcept {
  return !finished_ && count_ < std::numeric_limits<std::uint32_t>::max() &&
         record_bytes <= max_payload_ - payload_size();
}

bool UpdatesWriter::add(std::uint64_t seq, const engine::LeaseChange& c) {
  const std::size_t size = store::record_size(c);
  if (!fits(size)) return false;
  const std::size_t at = out_.size();
  out_.resize(at + size);
  store::encode_record(seq, c, {out_.data() + at, size});
  ++count_;
  return true;
}

bool UpdatesWriter::add_encoded(std::span<const std::uint8_t> record) {
  if (!fits(record.size())) return false;
  out_.insert(out_.end(), record.begin(), record.end());
  ++count_;
  return true;
}

std::size_t UpdatesWriter::finish() noexcept {
  if (!finished_) {
    finished_ = true;
    size_ = out_.size() - start_;
    std::uint8_t* h = out_.data() + start_;
    std::uint8_t* p = h + kFrameHeaderSize;
    put<std::uint32_t>(p + 8, count_);
    write_header(h, MessageType::updates, {p, size_ - kFrameHeaderSize});
  }
  return size_;
}

}  // namespace dorado::ha
