// The bytes of the HA replication link (issue 14): the messages two dorado
// servers of a failover pair exchange over their TCP connection. Pure
// encode/decode over byte spans: no I/O, no exceptions, no logging, and the
// decoders do not allocate (a libFuzzer target drives every decoder:
// tests/fuzz/ha_fuzz.cpp). Encoders append whole framed messages to a
// std::vector (the control thread's send buffer). All integers are
// little-endian.
//
// Every message is a 16-byte frame header followed by its payload:
//
//   off size field
//     0   4  magic        "DHA1"
//     4   1  type         MessageType, 1 (hello) .. 9 (error)
//     5   1  version      kFrameVersion (1)
//     6   2  reserved     0
//     8   4  length       payload bytes, 0 .. kMaxPayload (4 MiB)
//    12   4  crc32c       over the payload (store/crc32c.hpp; 0 when empty)
//
// Payloads (a payload's length is exactly its fields; longer is an error):
//
// hello (1), 52 + n bytes: the first message each side sends.
//     0   2  protocol_version    kProtocolVersion (1)
//     2   1  state               HaState, 1 .. 10
//     3   1  name_len            n, 0 .. kMaxServerName (64)
//     4   8  config_digest       caller-computed hash of the shared config
//    12   8  journal_id          identity of the sender's lease journal
//    20   8  last_seq            sender's highest journal seq
//    28   8  epoch
//    36   8  applied_journal_id  partner journal the sender applied from (0: none)
//    44   8  applied_seq         highest partner seq durably applied (0: none)
//    52   n  name                this server's name, no terminator
//
// heartbeat (2), 46 bytes:
//     0   8  epoch
//     8   8  time_ms            unix milliseconds
//    16   8  unsent             records the partner has not acknowledged yet
//    24   8  last_seq
//    32   8  applied_seq
//    40   4  unacked_clients
//    44   1  state              HaState
//    45   1  flags              bit 0: this server is serving clients; others 0
//
// updates (3), 12 + records bytes:
//     0   8  epoch
//     8   4  count              records that follow
//    12      count journal records back to back, exactly as the journal
//            writes them (store/format.hpp: store::encode_record, each with
//            its own crc32c and seq)
//
// ack (4), 8 bytes:
//     0   8  applied_seq        every sender record <= this seq is durable here
//
// sync_request (5), 16 bytes:
//     0   8  journal_id         sender journal applied from (0: none)
//     8   8  from_seq           highest seq applied; stream everything after it
//
// sync_begin (6), 25 bytes:
//     0   1  kind               SyncKind: 1 journal tail, 2 full transfer
//     1   8  from_seq
//     9   8  to_seq             the sender's last seq when the sync began
//    17   8  leases             full transfer: records that follow; tail: 0
//
// sync_end (7), 8 bytes:
//     0   8  to_seq
//
// command (8), 1 byte:
//     0   1  code               CommandCode: 1 maintenance_start, 2 maintenance_cancel
//
// error (9), 4 + n bytes: sent before closing the link.
//     0   2  code               ErrorCode (any value is carried)
//     2   2  text_len           n, 0 .. kMaxErrorText (256)
//     4   n  text               no terminator
//
// Receiving: next_frame() over the bytes received so far says need_more, ok
// (one whole, checked frame: its type and payload) or bad (close the link).
// The caller then decodes the payload with the decoder of its type. Decoders
// reject short or long payloads, out-of-range enums, reserved bits set and
// over-long names; what they accept re-encodes to the same bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/lease.hpp"
#include "store/format.hpp"

namespace dorado::ha {

inline constexpr std::size_t kFrameHeaderSize = 16;
inline constexpr std::uint8_t kFrameVersion = 1;
inline constexpr std::uint16_t kProtocolVersion = 1;
inline constexpr std::size_t kMaxPayload = std::size_t{4} << 20;   // 4 MiB
inline constexpr std::size_t kMaxServerName = 64;
inline constexpr std::size_t kMaxErrorText = 256;

// Payload sizes (hello and error: without the name / text).
inline constexpr std::size_t kHelloFixedSize = 52;
inline constexpr std::size_t kHeartbeatSize = 46;
inline constexpr std::size_t kUpdatesHeaderSize = 12;
inline constexpr std::size_t kAckSize = 8;
inline constexpr std::size_t kSyncRequestSize = 16;
inline constexpr std::size_t kSyncBeginSize = 25;
inline constexpr std::size_t kSyncEndSize = 8;
inline constexpr std::size_t kCommandSize = 1;
inline constexpr std::size_t kErrorFixedSize = 4;

enum class MessageType : std::uint8_t {
  hello = 1,
  heartbeat,
  updates,
  ack,
  sync_request,
  sync_begin,
  sync_end,
  command,
  error,
};
const char* message_type_name(MessageType t) noexcept;   // "hello", ..., "?" out of range

// The HA states, spelled as Kea's (ha_state_name) so operators recognise them.
enum class HaState : std::uint8_t {
  waiting = 1,
  syncing,
  ready,
  hot_standby,
  load_balancing,
  partner_down,
  communication_recovery,
  in_maintenance,
  partner_in_maintenance,
  terminated,
};
// "waiting", "syncing", "ready", "hot-standby", "load-balancing",
// "partner-down", "communication-recovery", "in-maintenance",
// "partner-in-maintenance", "terminated"; "?" out of range.
const char* ha_state_name(HaState s) noexcept;
// Exactly those spellings (case-sensitive); anything else: nullopt.
std::optional<HaState> parse_ha_state(std::string_view text) noexcept;
constexpr bool ha_state_valid(std::uint8_t v) noexcept {
  return v >= static_cast<std::uint8_t>(HaState::waiting) &&
         v <= static_cast<std::uint8_t>(HaState::terminated);
}

enum class SyncKind : std::uint8_t { journal_tail = 1, full = 2 };
enum class CommandCode : std::uint8_t { maintenance_start = 1, maintenance_cancel = 2 };

// Codes for the error message. The decoder carries any value (a newer
// partner may send codes this list lacks).
enum class ErrorCode : std::uint16_t {
  unspecified = 0,
  protocol = 1,            // a malformed message or one out of order
  version_mismatch = 2,    // hello's protocol_version not supported
  config_mismatch = 3,     // hello's config_digest differs
  unknown_server = 4,      // hello's name is not the configured partner
  shutting_down = 5,
  internal = 6,
};

enum class ProtoError : std::uint8_t {
  none,
  // frame header (next_frame: bad)
  bad_magic,
  bad_version,            // frame version != kFrameVersion
  bad_reserved,           // reserved bytes not 0
  bad_type,               // not a MessageType
  too_long,               // payload length > kMaxPayload
  bad_crc,
  // payloads
  truncated,              // payload shorter than its fields
  trailing_bytes,         // payload longer than its fields (updates: bytes after `count` records)
  bad_protocol_version,   // hello: protocol_version != kProtocolVersion
  bad_state,              // not an HaState
  bad_flags,              // heartbeat: reserved flag bits set
  name_too_long,          // hello: name_len > kMaxServerName
  text_too_long,          // error: text_len > kMaxErrorText
  bad_sync_kind,
  bad_command,
  bad_record,             // updates: a record store::decode_record rejects
  count_mismatch,         // updates: fewer records than `count`
};
const char* proto_error_name(ProtoError e) noexcept;

// Text of at most N bytes held inline (no allocation), for names and error
// texts. Bytes are carried as they are (no encoding check).
template <std::size_t N>
class BoundedText {
 public:
  static constexpr std::size_t kCapacity = N;

  constexpr BoundedText() = default;

  // Copies min(s.size(), N) bytes; true when all of s fit.
  bool assign(std::string_view s) noexcept {
    len_ = static_cast<std::uint16_t>(s.size() < N ? s.size() : N);
    bytes_.fill(0);
    if (len_ != 0) std::memcpy(bytes_.data(), s.data(), len_);
    return s.size() <= N;
  }
  std::string_view view() const noexcept { return {bytes_.data(), len_}; }
  std::size_t size() const noexcept { return len_; }
  bool empty() const noexcept { return len_ == 0; }
  friend bool operator==(const BoundedText& a, const BoundedText& b) noexcept {
    return a.view() == b.view();
  }

 private:
  std::array<char, N> bytes_{};
  std::uint16_t len_ = 0;
};

// ---- frames ---------------------------------------------------------------------

enum class FrameStatus : std::uint8_t { need_more, ok, bad };

struct Frame {
  FrameStatus status = FrameStatus::need_more;
  ProtoError error = ProtoError::none;         // status bad: why
  MessageType type = MessageType::hello;       // status ok
  std::span<const std::uint8_t> payload;       // status ok: inside the input span
  std::size_t consumed = 0;                    // status ok: header + payload bytes
  std::size_t needed = kFrameHeaderSize;       // need_more: bytes the whole frame (or
                                               // its header, while unknown) takes
};

// Looks at the start of `received` (the bytes received so far, not yet
// consumed). need_more: read more and call again with all of them (the
// header is checked as soon as its bytes are there, so a wrong magic, version
// or length is bad before the payload arrives); ok: handle the frame, then
// drop `consumed` bytes; bad: close the link. Stateless; the CRC is computed
// once, when the whole payload is there.
Frame next_frame(std::span<const std::uint8_t> received) noexcept;

// Appends a frame header for `type` and `payload`, then the payload. false
// (nothing appended) when payload is longer than kMaxPayload.
bool encode_frame(MessageType type, std::span<const std::uint8_t> payload,
                  std::vector<std::uint8_t>& out);

// ---- messages -------------------------------------------------------------------------

struct Hello {
  std::uint16_t protocol_version = kProtocolVersion;
  BoundedText<kMaxServerName> name;
  std::uint64_t config_digest = 0;
  std::uint64_t journal_id = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t epoch = 0;
  HaState state = HaState::waiting;
  std::uint64_t applied_journal_id = 0;
  std::uint64_t applied_seq = 0;
  bool operator==(const Hello&) const = default;
};

struct Heartbeat {
  HaState state = HaState::waiting;
  std::uint64_t epoch = 0;
  std::uint64_t time_ms = 0;
  std::uint64_t unsent = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t applied_seq = 0;
  std::uint32_t unacked_clients = 0;
  bool serving = false;            // flags bit 0
  bool operator==(const Heartbeat&) const = default;
};

struct Ack {
  std::uint64_t applied_seq = 0;
  bool operator==(const Ack&) const = default;
};

struct SyncRequest {
  std::uint64_t journal_id = 0;
  std::uint64_t from_seq = 0;
  bool operator==(const SyncRequest&) const = default;
};

struct SyncBegin {
  SyncKind kind = SyncKind::journal_tail;
  std::uint64_t from_seq = 0;
  std::uint64_t to_seq = 0;
  std::uint64_t leases = 0;
  bool operator==(const SyncBegin&) const = default;
};

struct SyncEnd {
  std::uint64_t to_seq = 0;
  bool operator==(const SyncEnd&) const = default;
};

struct Command {
  CommandCode code = CommandCode::maintenance_start;
  bool operator==(const Command&) const = default;
};

struct ErrorMsg {
  std::uint16_t code = 0;          // ErrorCode
  BoundedText<kMaxErrorText> text;
  bool operator==(const ErrorMsg&) const = default;
};

// Encoders append one whole framed message to `out`. Enum fields must hold
// named values (the decoders reject others).
void encode_hello(const Hello& m, std::vector<std::uint8_t>& out);
void encode_heartbeat(const Heartbeat& m, std::vector<std::uint8_t>& out);
void encode_ack(const Ack& m, std::vector<std::uint8_t>& out);
void encode_sync_request(const SyncRequest& m, std::vector<std::uint8_t>& out);
void encode_sync_begin(const SyncBegin& m, std::vector<std::uint8_t>& out);
void encode_sync_end(const SyncEnd& m, std::vector<std::uint8_t>& out);
void encode_command(const Command& m, std::vector<std::uint8_t>& out);
void encode_error(const ErrorMsg& m, std::vector<std::uint8_t>& out);

template <typename T>
struct Decoded {
  T value{};                       // meaningful when error == none (hello with
                                   // bad_protocol_version: protocol_version only)
  ProtoError error = ProtoError::none;
  bool ok() const noexcept { return error == ProtoError::none; }
};

// Decoders take a frame's payload (Frame::payload).
Decoded<Hello> decode_hello(std::span<const std::uint8_t> payload) noexcept;
Decoded<Heartbeat> decode_heartbeat(std::span<const std::uint8_t> payload) noexcept;
Decoded<Ack> decode_ack(std::span<const std::uint8_t> payload) noexcept;
Decoded<SyncRequest> decode_sync_request(std::span<const std::uint8_t> payload) noexcept;
Decoded<SyncBegin> decode_sync_begin(std::span<const std::uint8_t> payload) noexcept;
Decoded<SyncEnd> decode_sync_end(std::span<const std::uint8_t> payload) noexcept;
Decoded<Command> decode_command(std::span<const std::uint8_t> payload) noexcept;
Decoded<ErrorMsg> decode_error(std::span<const std::uint8_t> payload) noexcept;

// ---- updates ----------------------------------------------------------------------

// Reads the records of an updates payload one at a time, without allocating.
// It views the payload; keep those bytes alive and unchanged while reading.
//
//   auto d = decode_updates(frame.payload);
//   if (!d.ok()) close;
//   store::DecodedRecord r;
//   while (d.value.next(r)) apply(r.seq, r.change);
//   if (d.value.error() != ProtoError::none) close;
//
// Each record is checked on its own (its crc32c), so records yielded before
// a bad one are sound; a caller that wants all or nothing calls validate()
// first (it decodes every record once more).
class UpdatesReader {
 public:
  UpdatesReader() = default;

  std::uint64_t epoch() const noexcept { return epoch_; }
  std::uint32_t count() const noexcept { return count_; }   // records the header announces
  std::uint32_t index() const noexcept { return index_; }   // records yielded so far

  // The next record into `out` (status ok): true. false at the end: error()
  // none when exactly `count` records filled the payload; else bad_record
  // (record_error() says why), count_mismatch (the payload ended early) or
  // trailing_bytes (bytes after the last record). After false, stays false.
  bool next(store::DecodedRecord& out) noexcept;

  ProtoError error() const noexcept { return error_; }
  store::FormatError record_error() const noexcept { return record_error_; }

  // Reads every remaining record of a copy of this reader: what next() would
  // end with (none when all are good). Does not move this reader.
  ProtoError validate() const noexcept;

 private:
  friend Decoded<UpdatesReader> decode_updates(std::span<const std::uint8_t>) noexcept;
  std::span<const std::uint8_t> records_;   // after the 12-byte header
  std::size_t offset_ = 0;
  std::uint64_t epoch_ = 0;
  std::uint32_t count_ = 0;
  std::uint32_t index_ = 0;
  bool done_ = false;
  ProtoError error_ = ProtoError::none;
  store::FormatError record_error_ = store::FormatError::none;
};

// Checks the 12-byte header: truncated when shorter; count_mismatch when
// `count` records could not fit in the bytes (each is >= 42). The records are
// checked by next() / validate().
Decoded<UpdatesReader> decode_updates(std::span<const std::uint8_t> payload) noexcept;

// Builds one updates message at the end of `out`: the constructor appends the
// frame header and the payload header (placeholders), add() appends records,
// finish() fills in count, length and crc. Until finish() the bytes after
// start() are not a valid message (drop them with out.resize(start())).
// `out` must outlive the writer; other appends to it before finish() are not
// allowed. A batch holds at most max_payload payload bytes (clamped to
// kMaxPayload).
class UpdatesWriter {
 public:
  UpdatesWriter(std::vector<std::uint8_t>& out, std::uint64_t epoch,
                std::size_t max_payload = kMaxPayload);

  // Appends store::encode_record(seq, c). false (nothing appended) when the
  // record would take the payload past max_payload, or after finish(). c must
  // be a valid change (key_len, hostname_len, op in range).
  bool add(std::uint64_t seq, const engine::LeaseChange& c);
  // Appends one record exactly as the journal holds it (bytes that
  // store::decode_record accepted, its DecodedRecord::size long). Same
  // limits as add().
  bool add_encoded(std::span<const std::uint8_t> record);
  // Whether a record of `record_bytes` more would fit.
  bool fits(std::size_t record_bytes) const noexcept;

  // Fills in the headers. Returns the whole message's size. Idempotent.
  std::size_t finish() noexcept;

  std::size_t start() const noexcept { return start_; }    // offset in out of the frame
  std::uint32_t count() const noexcept { return count_; }
  std::size_t payload_size() const noexcept;

 private:
  std::vector<std::uint8_t>& out_;
  std::size_t start_;
  std::size_t max_payload_;
  std::size_t size_ = 0;   // message bytes, once finished
  std::uint32_t count_ = 0;
  bool finished_ = false;
};

}  // namespace dorado::ha
