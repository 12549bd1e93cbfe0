// libFuzzer target for the HA link's codec (control/ha/protocol.hpp).
// Input: arbitrary bytes, read as a stream of frames (each whole frame's
// payload then goes to the decoder of its type), and as a bare payload of
// every type, both from the first byte and after a 16-byte frame header (so
// mutated framed seeds reach the decoders past the crc). Every frame and
// message the decoders accept must re-encode to the same bytes; the frame
// reader's answers must stay inside the input. Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "ha/protocol.hpp"

namespace {

using namespace dorado::ha;
using Bytes = std::vector<std::uint8_t>;

constexpr MessageType kTypes[] = {
    MessageType::hello,        MessageType::heartbeat,  MessageType::updates,
    MessageType::ack,          MessageType::sync_request, MessageType::sync_begin,
    MessageType::sync_end,     MessageType::command,    MessageType::error,
};

// `msg` is one framed message of `type` whose payload equals `payload`.
void check_reencoded(const Bytes& msg, MessageType type, std::span<const std::uint8_t> payload) {
  FUZZ_CHECK(msg.size() == kFrameHeaderSize + payload.size());
  FUZZ_CHECK(payload.empty() ||
             std::memcmp(msg.data() + kFrameHeaderSize, payload.data(), payload.size()) == 0);
  const Frame f = next_frame(msg);
  FUZZ_CHECK(f.status == FrameStatus::ok && f.type == type && f.consumed == msg.size());
}

// Decodes `p` as the payload of `type`; if accepted, re-encodes it.
template <typename T, typename Dec, typename Enc>
void check_message(MessageType type, std::span<const std::uint8_t> p, Dec dec, Enc enc) {
  const Decoded<T> d = dec(p);
  if (!d.ok()) return;
  Bytes out;
  enc(d.value, out);
  check_reencoded(out, type, p);
  const Decoded<T> again = dec(std::span<const std::uint8_t>(out).subspan(kFrameHeaderSize));
  FUZZ_CHECK(again.ok() && again.value == d.value);
}

void check_updates(std::span<const std::uint8_t> p) {
  Decoded<UpdatesReader> d = decode_updates(p);
  if (!d.ok()) {
    FUZZ_CHECK(d.error == ProtoError::truncated || d.error == ProtoError::count_mismatch);
    return;
  }
  UpdatesReader& r = d.value;
  const ProtoError validated = r.validate();
  Bytes out;
  UpdatesWriter w(out, r.epoch());
  dorado::store::DecodedRecord rec;
  std::size_t bytes = 0;
  while (r.next(rec)) {
    FUZZ_CHECK(rec.status == dorado::store::Status::ok);
    FUZZ_CHECK(rec.size == dorado::store::record_size(rec.change));
    bytes += rec.size;
    FUZZ_CHECK(w.add(rec.seq, rec.change));
  }
  FUZZ_CHECK(r.error() == validated);
  FUZZ_CHECK(r.index() <= r.count());
  FUZZ_CHECK(kUpdatesHeaderSize + bytes <= p.size());
  FUZZ_CHECK((r.error() == ProtoError::bad_record) ==
             (r.record_error() != dorado::store::FormatError::none));
  if (r.error() == ProtoError::none) {
    FUZZ_CHECK(r.index() == r.count() && kUpdatesHeaderSize + bytes == p.size());
    w.finish();
    check_reencoded(out, MessageType::updates, p);
  } else {
    FUZZ_CHECK(r.error() == ProtoError::bad_record || r.error() == ProtoError::count_mismatch ||
               r.error() == ProtoError::trailing_bytes);
  }
  FUZZ_CHECK(!r.next(rec));   // stays at the end
}

void check_payload(MessageType type, std::span<const std::uint8_t> p) {
  switch (type) {
    case MessageType::hello: {
      const Decoded<Hello> d = decode_hello(p);
      if (d.error == ProtoError::bad_protocol_version)
        FUZZ_CHECK(p.size() >= 2 && d.value.protocol_version != kProtocolVersion);
      check_message<Hello>(type, p, decode_hello, encode_hello);
      return;
    }
    case MessageType::heartbeat:
      check_message<Heartbeat>(type, p, decode_heartbeat, encode_heartbeat);
      return;
    case MessageType::updates: check_updates(p); return;
    case MessageType::ack: check_message<Ack>(type, p, decode_ack, encode_ack); return;
    case MessageType::sync_request:
      check_message<SyncRequest>(type, p, decode_sync_request, encode_sync_request);
      return;
    case MessageType::sync_begin:
      check_message<SyncBegin>(type, p, decode_sync_begin, encode_sync_begin);
      return;
    case MessageType::sync_end:
      check_message<SyncEnd>(type, p, decode_sync_end, encode_sync_end);
      return;
    case MessageType::command:
      check_message<Command>(type, p, decode_command, encode_command);
      return;
    case MessageType::error:
      check_message<ErrorMsg>(type, p, decode_error, encode_error);
      return;
  }
  FUZZ_CHECK(false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in{data, size};

  // A stream of frames, as a link receives them.
  std::size_t at = 0;
  while (true) {
    const auto rest = in.subspan(at);
    const Frame f = next_frame(rest);
    if (f.status == FrameStatus::need_more) {
      FUZZ_CHECK(f.error == ProtoError::none);
      FUZZ_CHECK(f.needed > rest.size());
      FUZZ_CHECK(f.needed >= kFrameHeaderSize && f.needed <= kFrameHeaderSize + kMaxPayload);
      break;
    }
    if (f.status == FrameStatus::bad) {
      FUZZ_CHECK(f.error != ProtoError::none);
      break;
    }
    FUZZ_CHECK(f.status == FrameStatus::ok && f.error == ProtoError::none);
    FUZZ_CHECK(f.consumed >= kFrameHeaderSize && f.consumed <= rest.size());
    FUZZ_CHECK(f.payload.data() == rest.data() + kFrameHeaderSize);
    FUZZ_CHECK(f.payload.size() == f.consumed - kFrameHeaderSize);
    Bytes out;
    FUZZ_CHECK(encode_frame(f.type, f.payload, out));
    FUZZ_CHECK(out.size() == f.consumed && std::memcmp(out.data(), rest.data(), out.size()) == 0);
    check_payload(f.type, f.payload);
    at += f.consumed;
  }

  // Bare payloads of every type.
  for (const MessageType t : kTypes) {
    check_payload(t, in);
    if (size >= kFrameHeaderSize) check_payload(t, in.subspan(kFrameHeaderSize));
  }

  // State names.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto s = parse_ha_state(text)) FUZZ_CHECK(text == ha_state_name(*s));
  return 0;
}
