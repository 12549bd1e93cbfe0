// control/ha/protocol: the HA link's frames and messages. Round trips of
// every message (largest names and texts, extreme values, empty and full
// updates batches), the documented byte layout, every decode error (cut at
// every byte, trailing bytes, bad magic / version / reserved / type / length /
// crc, out-of-range enums, record count mismatches, corrupt records), and the
// incremental frame reader over a stream split at every byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ha/protocol.hpp"
#include "store/crc32c.hpp"
#include "store/format.hpp"

namespace {

using namespace dorado::ha;
using dorado::engine::LeaseChange;
using dorado::engine::LeaseOp;
using dorado::store::DecodedRecord;
using Bytes = std::vector<std::uint8_t>;

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kMax32 = std::numeric_limits<std::uint32_t>::max();

// ---- helpers -------------------------------------------------------------------------

// Client i: a hardware key or (every third) a client-id of i % 150 + 1 bytes,
// hostname of i % 64 bytes on commits, op cycling through all six.
LeaseChange change(std::uint32_t i) {
  LeaseChange c;
  c.op = static_cast<LeaseOp>(1 + i % 6);
  c.htype = 1;
  c.subnet_id = 1 + i % 7;
  c.address = 0x0a000000u + i;
  c.start = 1'700'000'000u + i;
  c.expires = c.start + 3600;
  for (int b = 0; b < 6; ++b) c.chaddr.b[b] = static_cast<std::uint8_t>(i >> (8 * (b % 4)));
  if (i % 3 == 0) {
    c.key_len = static_cast<std::uint8_t>(1 + i % 150);
    c.key[0] = dorado::engine::kKeyKindClientId;
    for (std::size_t k = 1; k < c.key_len; ++k) c.key[k] = static_cast<std::uint8_t>(i + k);
  } else {
    c.key_len = 8;
    c.key[0] = dorado::engine::kKeyKindHw;
    c.key[1] = 1;
    std::memcpy(c.key.data() + 2, c.chaddr.b.data(), 6);
  }
  if (c.op == LeaseOp::commit) {
    c.hostname_len = static_cast<std::uint8_t>(i % 64);
    for (std::size_t k = 0; k < c.hostname_len; ++k) c.hostname[k] = static_cast<char>('a' + (i + k) % 26);
  }
  return c;
}

// The largest record: a 160-byte key and a 63-byte hostname.
// The largest record (store::kMaxRecordSize): key and option 82 fill the
// 160 key bytes together (journal record version 3), the longest hostname.
LeaseChange max_change(std::uint32_t i) {
  LeaseChange c = change(i);
  c.op = LeaseOp::commit;
  c.key_len = dorado::engine::kMaxKeyLen - dorado::engine::kMaxRelayInfoLen;
  c.hostname_len = dorado::engine::kMaxHostnameLen;
  std::fill(c.key.begin() + 1, c.key.end(), static_cast<std::uint8_t>(i));
  std::fill(c.hostname.begin(), c.hostname.begin() + c.hostname_len, 'h');
  const std::vector<std::uint8_t> relay(dorado::engine::kMaxRelayInfoLen, static_cast<std::uint8_t>(i));
  EXPECT_TRUE(dorado::engine::set_relay_info(c, relay));
  EXPECT_EQ(dorado::store::record_size(c), dorado::store::kMaxRecordSize);
  return c;
}

// The fields encode_record stores (not seq or shard).
void expect_same_change(const LeaseChange& a, const LeaseChange& b) {
  EXPECT_EQ(a.op, b.op);
  EXPECT_EQ(a.htype, b.htype);
  EXPECT_EQ(a.subnet_id, b.subnet_id);
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.expires, b.expires);
  EXPECT_EQ(a.chaddr, b.chaddr);
  ASSERT_EQ(a.key_len, b.key_len);
  EXPECT_EQ(0, std::memcmp(a.key.data(), b.key.data(), a.key_len));
  ASSERT_EQ(a.hostname_len, b.hostname_len);
  EXPECT_EQ(0, std::memcmp(a.hostname.data(), b.hostname.data(), a.hostname_len));
}

template <std::size_t N>
BoundedText<N> text(std::string_view s) {
  BoundedText<N> t;
  EXPECT_TRUE(t.assign(s));
  return t;
}

std::span<const std::uint8_t> payload_of(const Bytes& msg) {
  return std::span<const std::uint8_t>(msg).subspan(kFrameHeaderSize);
}

// The one frame in `msg`: ok, of `type`, taking all of msg.
Frame whole_frame(const Bytes& msg, MessageType type) {
  const Frame f = next_frame(msg);
  EXPECT_EQ(f.status, FrameStatus::ok) << proto_error_name(f.error);
  EXPECT_EQ(f.type, type);
  EXPECT_EQ(f.consumed, msg.size());
  EXPECT_EQ(f.payload.data(), msg.data() + kFrameHeaderSize);
  EXPECT_EQ(f.payload.size(), msg.size() - kFrameHeaderSize);
  return f;
}

// Encodes m, reads the frame back and decodes it: the same message.
template <typename T, typename Enc, typename Dec>
void round_trip(const T& m, MessageType type, Enc enc, Dec dec, std::size_t payload_size) {
  Bytes out = {0xee};   // encoders append
  enc(m, out);
  ASSERT_EQ(out.size(), 1 + kFrameHeaderSize + payload_size);
  EXPECT_EQ(out[0], 0xee);
  const Bytes msg(out.begin() + 1, out.end());
  const Frame f = whole_frame(msg, type);
  const auto d = dec(f.payload);
  ASSERT_TRUE(d.ok()) << proto_error_name(d.error);
  EXPECT_TRUE(d.value == m);
}

Hello sample_hello() {
  Hello h;
  h.name = text<kMaxServerName>("dhcp-a");
  h.config_digest = 0x0123456789abcdefull;
  h.journal_id = 0xfedcba9876543210ull;
  h.last_seq = 1'000'000;
  h.epoch = 7;
  h.state = HaState::hot_standby;
  h.applied_journal_id = 0x1111222233334444ull;
  h.applied_seq = 999'999;
  return h;
}

Heartbeat sample_heartbeat() {
  Heartbeat h;
  h.state = HaState::load_balancing;
  h.epoch = 3;
  h.time_ms = 1'700'000'000'123ull;
  h.unsent = 12;
  h.last_seq = 5000;
  h.applied_seq = 4000;
  h.unacked_clients = 4;
  h.serving = true;
  return h;
}

ErrorMsg sample_error() {
  ErrorMsg e;
  e.code = static_cast<std::uint16_t>(ErrorCode::config_mismatch);
  e.text = text<kMaxErrorText>("config digest mismatch");
  return e;
}

// One message of every type (updates with three records), back to back.
Bytes every_message() {
  Bytes s;
  encode_hello(sample_hello(), s);
  encode_heartbeat(sample_heartbeat(), s);
  {
    UpdatesWriter w(s, 9);
    for (std::uint32_t i = 0; i < 3; ++i) EXPECT_TRUE(w.add(100 + i, change(i)));
    w.finish();
  }
  encode_ack({.applied_seq = 102}, s);
  encode_sync_request({.journal_id = 5, .from_seq = 6}, s);
  encode_sync_begin({.kind = SyncKind::full, .from_seq = 6, .to_seq = 99, .leases = 3}, s);
  encode_sync_end({.to_seq = 99}, s);
  encode_command({.code = CommandCode::maintenance_cancel}, s);
  encode_error(sample_error(), s);
  return s;
}

constexpr MessageType kEveryType[] = {
    MessageType::hello,       MessageType::heartbeat,  MessageType::updates,
    MessageType::ack,         MessageType::sync_request, MessageType::sync_begin,
    MessageType::sync_end,    MessageType::command,    MessageType::error,
};

// Decodes a payload of `type` with its decoder: the error (none when good).
ProtoError decode_any(MessageType type, std::span<const std::uint8_t> p) {
  switch (type) {
    case MessageType::hello: return decode_hello(p).error;
    case MessageType::heartbeat: return decode_heartbeat(p).error;
    case MessageType::updates: {
      auto d = decode_updates(p);
      return d.ok() ? d.value.validate() : d.error;
    }
    case MessageType::ack: return decode_ack(p).error;
    case MessageType::sync_request: return decode_sync_request(p).error;
    case MessageType::sync_begin: return decode_sync_begin(p).error;
    case MessageType::sync_end: return decode_sync_end(p).error;
    case MessageType::command: return decode_command(p).error;
    case MessageType::error: return decode_error(p).error;
  }
  return ProtoError::none;
}

// Splits a stream of every_message() into its frames' byte ranges.
std::vector<Bytes> split_messages(const Bytes& s) {
  std::vector<Bytes> v;
  std::size_t at = 0;
  while (at < s.size()) {
    const Frame f = next_frame(std::span<const std::uint8_t>(s).subspan(at));
    EXPECT_EQ(f.status, FrameStatus::ok);
    if (f.status != FrameStatus::ok) break;
    v.emplace_back(s.begin() + static_cast<std::ptrdiff_t>(at),
                   s.begin() + static_cast<std::ptrdiff_t>(at + f.consumed));
    at += f.consumed;
  }
  return v;
}

// ---- states and names --------------------------------------------------------------

TEST(HaState, NamesAreKeasAndParseBack) {
  const std::pair<HaState, const char*> names[] = {
      {HaState::waiting, "waiting"},
      {HaState::syncing, "syncing"},
      {HaState::ready, "ready"},
      {HaState::hot_standby, "hot-standby"},
      {HaState::load_balancing, "load-balancing"},
      {HaState::partner_down, "partner-down"},
      {HaState::communication_recovery, "communication-recovery"},
      {HaState::in_maintenance, "in-maintenance"},
      {HaState::partner_in_maintenance, "partner-in-maintenance"},
      {HaState::terminated, "terminated"},
  };
  for (const auto& [s, name] : names) {
    EXPECT_STREQ(ha_state_name(s), name);
    EXPECT_EQ(parse_ha_state(name), s) << name;
    EXPECT_TRUE(ha_state_valid(static_cast<std::uint8_t>(s)));
  }
  EXPECT_EQ(static_cast<int>(HaState::waiting), 1);
  EXPECT_EQ(static_cast<int>(HaState::terminated), 10);
  EXPECT_STREQ(ha_state_name(static_cast<HaState>(0)), "?");
  EXPECT_STREQ(ha_state_name(static_cast<HaState>(11)), "?");
  EXPECT_FALSE(ha_state_valid(0));
  EXPECT_FALSE(ha_state_valid(11));
  EXPECT_FALSE(ha_state_valid(255));
  for (const char* bad : {"", "Waiting", "hot_standby", "hot-standby ", "partner", "?"})
    EXPECT_FALSE(parse_ha_state(bad).has_value()) << bad;
}

TEST(HaNames, EveryTypeAndErrorHasAName) {
  for (const MessageType t : kEveryType) EXPECT_STRNE(message_type_name(t), "?");
  EXPECT_STREQ(message_type_name(MessageType::sync_begin), "sync_begin");
  EXPECT_STREQ(message_type_name(static_cast<MessageType>(0)), "?");
  for (int e = 0; e <= static_cast<int>(ProtoError::count_mismatch); ++e)
    EXPECT_STRNE(proto_error_name(static_cast<ProtoError>(e)), "?") << e;
}

TEST(BoundedText, AssignTruncatesAndSays) {
  BoundedText<4> t;
  EXPECT_TRUE(t.empty());
  EXPECT_TRUE(t.assign("abcd"));
  EXPECT_EQ(t.view(), "abcd");
  EXPECT_FALSE(t.assign("abcdef"));
  EXPECT_EQ(t.view(), "abcd");
  EXPECT_TRUE(t.assign("x"));
  EXPECT_EQ(t.view(), "x");
  EXPECT_EQ(t, text<4>("x"));
  EXPECT_FALSE(t == text<4>("y"));
}

// ---- the bytes as documented ------------------------------------------------------------

TEST(Frame, HeaderBytesAsDocumented) {
  Bytes out;
  encode_ack({.applied_seq = 0x0807060504030201ull}, out);
  ASSERT_EQ(out.size(), 24u);
  const Bytes header(out.begin(), out.begin() + 12);
  EXPECT_EQ(header, (Bytes{'D', 'H', 'A', '1', 4, 1, 0, 0, 8, 0, 0, 0}));
  const std::uint32_t crc = dorado::store::crc32c(payload_of(out));
  EXPECT_EQ(out[12] | out[13] << 8 | out[14] << 16 | static_cast<std::uint32_t>(out[15]) << 24, crc);
  EXPECT_EQ(Bytes(out.begin() + 16, out.end()), (Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(Messages, HelloBytesAsDocumented) {
  Hello h = sample_hello();
  h.config_digest = 0x1112131415161718ull;
  Bytes out;
  encode_hello(h, out);
  const auto p = payload_of(out);
  ASSERT_EQ(p.size(), 52u + 6);
  auto u64 = [&](std::size_t off) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | p[off + static_cast<std::size_t>(i)];
    return v;
  };
  EXPECT_EQ(p[0] | p[1] << 8, 1);
  EXPECT_EQ(p[2], static_cast<std::uint8_t>(HaState::hot_standby));
  EXPECT_EQ(p[3], 6);
  EXPECT_EQ(u64(4), h.config_digest);
  EXPECT_EQ(u64(12), h.journal_id);
  EXPECT_EQ(u64(20), h.last_seq);
  EXPECT_EQ(u64(28), h.epoch);
  EXPECT_EQ(u64(36), h.applied_journal_id);
  EXPECT_EQ(u64(44), h.applied_seq);
  EXPECT_EQ(std::string(p.begin() + 52, p.end()), "dhcp-a");
}

TEST(Messages, HeartbeatAndSyncBeginBytesAsDocumented) {
  Bytes out;
  encode_heartbeat(sample_heartbeat(), out);
  auto p = payload_of(out);
  ASSERT_EQ(p.size(), kHeartbeatSize);
  EXPECT_EQ(p[0], 3);                       // epoch
  EXPECT_EQ(p[16], 12);                     // unsent
  EXPECT_EQ(p[40], 4);                      // unacked_clients
  EXPECT_EQ(p[44], static_cast<std::uint8_t>(HaState::load_balancing));
  EXPECT_EQ(p[45], 1);                      // serving
  out.clear();
  encode_sync_begin({.kind = SyncKind::journal_tail, .from_seq = 2, .to_seq = 3, .leases = 4}, out);
  p = payload_of(out);
  ASSERT_EQ(p.size(), kSyncBeginSize);
  EXPECT_EQ(p[0], 1);
  EXPECT_EQ(p[1], 2);
  EXPECT_EQ(p[9], 3);
  EXPECT_EQ(p[17], 4);
  out.clear();
  encode_error(sample_error(), out);
  p = payload_of(out);
  EXPECT_EQ(p[0], 3);
  EXPECT_EQ(p[2], 22);
  EXPECT_EQ(std::string(p.begin() + 4, p.end()), "config digest mismatch");
}

// ---- round trips -------------------------------------------------------------------

TEST(RoundTrip, Hello) {
  round_trip(sample_hello(), MessageType::hello, encode_hello, decode_hello, 52 + 6);
  Hello h;   // all zero, empty name
  round_trip(h, MessageType::hello, encode_hello, decode_hello, 52);
  h.name = text<kMaxServerName>(std::string(kMaxServerName, 'n'));
  h.config_digest = h.journal_id = h.last_seq = h.epoch = kMax64;
  h.applied_journal_id = h.applied_seq = kMax64;
  for (std::uint8_t s = 1; s <= 10; ++s) {
    h.state = static_cast<HaState>(s);
    round_trip(h, MessageType::hello, encode_hello, decode_hello, 52 + kMaxServerName);
  }
}

TEST(RoundTrip, Heartbeat) {
  Heartbeat h = sample_heartbeat();
  round_trip(h, MessageType::heartbeat, encode_heartbeat, decode_heartbeat, kHeartbeatSize);
  h.serving = false;
  h.epoch = h.time_ms = h.unsent = h.last_seq = h.applied_seq = kMax64;
  h.unacked_clients = kMax32;
  for (std::uint8_t s = 1; s <= 10; ++s) {
    h.state = static_cast<HaState>(s);
    round_trip(h, MessageType::heartbeat, encode_heartbeat, decode_heartbeat, kHeartbeatSize);
  }
}

TEST(RoundTrip, SmallMessages) {
  for (const std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, kMax64}) {
    round_trip(Ack{.applied_seq = v}, MessageType::ack, encode_ack, decode_ack, kAckSize);
    round_trip(SyncRequest{.journal_id = v, .from_seq = ~v}, MessageType::sync_request,
               encode_sync_request, decode_sync_request, kSyncRequestSize);
    for (const SyncKind k : {SyncKind::journal_tail, SyncKind::full})
      round_trip(SyncBegin{.kind = k, .from_seq = v, .to_seq = ~v, .leases = v / 3},
                 MessageType::sync_begin, encode_sync_begin, decode_sync_begin, kSyncBeginSize);
    round_trip(SyncEnd{.to_seq = v}, MessageType::sync_end, encode_sync_end, decode_sync_end,
               kSyncEndSize);
  }
  for (const CommandCode c : {CommandCode::maintenance_start, CommandCode::maintenance_cancel})
    round_trip(Command{.code = c}, MessageType::command, encode_command, decode_command, kCommandSize);
}

TEST(RoundTrip, Error) {
  ErrorMsg e = sample_error();
  round_trip(e, MessageType::error, encode_error, decode_error, 4 + 22);
  e.text = {};
  e.code = 0xffff;   // codes this side does not know travel too
  round_trip(e, MessageType::error, encode_error, decode_error, 4);
  std::string longest(kMaxErrorText, 'x');
  for (std::size_t i = 0; i < longest.size(); ++i) longest[i] = static_cast<char>(i);   // any bytes
  e.text = text<kMaxErrorText>(longest);
  round_trip(e, MessageType::error, encode_error, decode_error, 4 + kMaxErrorText);
  // Longer texts are cut to the limit by assign (which says so).
  EXPECT_FALSE(e.text.assign(std::string(kMaxErrorText + 1, 'y')));
  round_trip(e, MessageType::error, encode_error, decode_error, 4 + kMaxErrorText);
}

TEST(RoundTrip, GenericFrame) {
  Bytes out;
  ASSERT_TRUE(encode_frame(MessageType::command, {}, out));
  ASSERT_EQ(out.size(), kFrameHeaderSize);
  const Frame f = whole_frame(out, MessageType::command);
  EXPECT_TRUE(f.payload.empty());
  EXPECT_EQ(decode_command(f.payload).error, ProtoError::truncated);
  EXPECT_EQ(out[12] | out[13] | out[14] | out[15], 0);   // crc32c of nothing
  const Bytes big(kMaxPayload + 1, 0);
  out.clear();
  EXPECT_FALSE(encode_frame(MessageType::updates, big, out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(encode_frame(MessageType::updates, std::span(big).first(kMaxPayload), out));
  EXPECT_EQ(next_frame(out).status, FrameStatus::ok);
}

// ---- updates -------------------------------------------------------------------------

// Reads every record of an updates message: count, epoch and the records
// equal to change(first + i) with seq first_seq + i.
void expect_updates(const Bytes& msg, std::uint64_t epoch, std::uint32_t n,
                    LeaseChange (*make)(std::uint32_t), std::uint64_t first_seq) {
  const Frame f = whole_frame(msg, MessageType::updates);
  auto d = decode_updates(f.payload);
  ASSERT_TRUE(d.ok()) << proto_error_name(d.error);
  EXPECT_EQ(d.value.epoch(), epoch);
  EXPECT_EQ(d.value.count(), n);
  EXPECT_EQ(d.value.validate(), ProtoError::none);
  DecodedRecord r;
  std::uint32_t i = 0;
  while (d.value.next(r)) {
    ASSERT_EQ(r.status, dorado::store::Status::ok);
    EXPECT_EQ(r.seq, first_seq + i);
    expect_same_change(r.change, make(i));
    ++i;
    EXPECT_EQ(d.value.index(), i);
  }
  EXPECT_EQ(d.value.error(), ProtoError::none) << proto_error_name(d.value.error());
  EXPECT_EQ(i, n);
  EXPECT_FALSE(d.value.next(r));   // stays at the end
  EXPECT_EQ(d.value.error(), ProtoError::none);
}

TEST(Updates, EmptyBatch) {
  Bytes out;
  UpdatesWriter w(out, 42);
  EXPECT_EQ(w.count(), 0u);
  EXPECT_EQ(w.payload_size(), kUpdatesHeaderSize);
  EXPECT_EQ(w.finish(), kFrameHeaderSize + kUpdatesHeaderSize);
  EXPECT_EQ(out.size(), 28u);
  expect_updates(out, 42, 0, change, 1);
}

TEST(Updates, ThousandRecordsAreTheJournalsRecords) {
  Bytes out = {1, 2, 3};   // the writer appends after what is there
  UpdatesWriter w(out, kMax64);
  EXPECT_EQ(w.start(), 3u);
  Bytes journal;   // the same records as the journal writes them
  for (std::uint32_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(w.add(500 + i, change(i)));
    const LeaseChange c = change(i);
    journal.resize(journal.size() + dorado::store::record_size(c));
    dorado::store::encode_record(500 + i, c,
                                 std::span(journal).last(dorado::store::record_size(c)));
  }
  EXPECT_EQ(w.count(), 1000u);
  const std::size_t size = w.finish();
  EXPECT_EQ(w.finish(), size);   // idempotent
  ASSERT_EQ(out.size(), 3 + size);
  EXPECT_EQ((Bytes{out[0], out[1], out[2]}), (Bytes{1, 2, 3}));
  const Bytes msg(out.begin() + 3, out.end());
  expect_updates(msg, kMax64, 1000, change, 500);
  // The payload after its 12-byte header is byte for byte the journal's records.
  EXPECT_EQ(Bytes(msg.begin() + kFrameHeaderSize + kUpdatesHeaderSize, msg.end()), journal);
  // After finish(), nothing more goes in.
  EXPECT_FALSE(w.add(1, change(1)));
  EXPECT_EQ(out.size(), 3 + size);
}

TEST(Updates, AddEncodedCopiesJournalBytes) {
  Bytes a, b;
  UpdatesWriter wa(a, 5), wb(b, 5);
  for (std::uint32_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(wa.add(i + 1, change(i)));
    std::uint8_t rec[dorado::store::kMaxRecordSize];
    const std::size_t n = dorado::store::encode_record(i + 1, change(i), rec);
    ASSERT_TRUE(wb.add_encoded({rec, n}));
  }
  wa.finish();
  wb.finish();
  EXPECT_EQ(a, b);
}

TEST(Updates, ByteLimitBoundsTheBatch) {
  Bytes out;
  const std::size_t limit = 1000;
  UpdatesWriter w(out, 1, limit);
  std::uint32_t i = 0;
  while (w.fits(dorado::store::record_size(change(i)))) {
    ASSERT_TRUE(w.add(i + 1, change(i)));
    ++i;
  }
  const std::size_t before = out.size();
  EXPECT_FALSE(w.add(i + 1, change(i)));   // refused, nothing appended
  EXPECT_EQ(out.size(), before);
  EXPECT_LE(w.payload_size(), limit);
  EXPECT_GT(w.payload_size() + dorado::store::record_size(change(i)), limit);
  w.finish();
  expect_updates(out, 1, i, change, 1);
}

TEST(Updates, LargestBatchOfLargestRecords) {
  Bytes out;
  UpdatesWriter w(out, 2, kMaxPayload * 4);   // clamped to kMaxPayload
  std::uint32_t n = 0;
  while (w.add(n + 1, max_change(n))) ++n;
  const std::size_t per = dorado::store::kMaxRecordSize;
  EXPECT_EQ(n, (kMaxPayload - kUpdatesHeaderSize) / per);
  EXPECT_LE(w.payload_size(), kMaxPayload);
  // A smaller record still fills the remainder up to exactly the limit
  // (with 266-byte records the remainder may be under the smallest record:
  // then one record fewer leaves room for it).
  LeaseChange small = max_change(0);
  small.relay_len = 0;
  small.key_len = 0;
  small.hostname_len = 0;
  small.op = LeaseOp::expire;
  std::size_t left = kMaxPayload - w.payload_size();
  EXPECT_LT(left, per);
  Bytes again;
  UpdatesWriter fill(again, 2, kMaxPayload);
  std::uint32_t big = n;
  if (left < dorado::store::kRecordMinSize) {
    --big;
    left += per;
  }
  for (std::uint32_t i = 0; i < big; ++i) ASSERT_TRUE(fill.add(i + 1, max_change(i)));
  std::uint32_t count = big;
  const std::size_t largest_plain =
      dorado::store::kRecordMinSize + dorado::engine::kMaxKeyLen + dorado::engine::kMaxHostnameLen;
  while (left > 0) {   // one or two records without option 82
    std::size_t size = std::min(left, largest_plain);
    if (left - size != 0 && left - size < dorado::store::kRecordMinSize) size = left - dorado::store::kRecordMinSize;
    ASSERT_GE(size, dorado::store::kRecordMinSize);
    const std::size_t body = size - dorado::store::kRecordMinSize;   // key, then hostname
    small.key_len = static_cast<std::uint8_t>(std::min(body, dorado::engine::kMaxKeyLen));
    small.hostname_len = static_cast<std::uint8_t>(body - small.key_len);
    ASSERT_TRUE(fill.add(++count, small));
    left -= size;
  }
  fill.finish();
  EXPECT_EQ(fill.payload_size(), kMaxPayload);
  const Frame f = whole_frame(again, MessageType::updates);
  auto d = decode_updates(f.payload);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value.count(), count);
  EXPECT_EQ(d.value.validate(), ProtoError::none);
}

// An updates payload built by hand: `count` in the header, then `records`.
Bytes updates_payload(std::uint32_t count, const Bytes& records) {
  Bytes out;
  UpdatesWriter w(out, 77);
  out.insert(out.end(), records.begin(), records.end());
  w.finish();
  Bytes p(out.begin() + kFrameHeaderSize, out.end());
  std::memcpy(p.data() + 8, &count, 4);
  return p;
}

// n of the largest records, seq 1..n.
Bytes records(std::uint32_t n) {
  Bytes b;
  for (std::uint32_t i = 0; i < n; ++i) {
    const LeaseChange c = max_change(i);
    b.resize(b.size() + dorado::store::record_size(c));
    dorado::store::encode_record(i + 1, c, std::span(b).last(dorado::store::record_size(c)));
  }
  return b;
}

// next() until false: records yielded and the final error.
std::pair<std::uint32_t, ProtoError> drain(UpdatesReader r) {
  DecodedRecord d;
  std::uint32_t n = 0;
  while (r.next(d)) ++n;
  return {n, r.error()};
}

TEST(Updates, CountMismatchAndTrailingBytes) {
  const Bytes three = records(3);
  {   // header says 4, three follow
    const Bytes p = updates_payload(4, three);
    auto d = decode_updates(p);
    ASSERT_TRUE(d.ok());   // 4 records could fit in the bytes, so next() finds out
    EXPECT_EQ(d.value.validate(), ProtoError::count_mismatch);
    EXPECT_EQ(drain(d.value), std::make_pair(3u, ProtoError::count_mismatch));
  }
  {   // header says 2, three follow: the third is trailing bytes
    const Bytes p = updates_payload(2, three);
    auto d = decode_updates(p);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.value.validate(), ProtoError::trailing_bytes);
    EXPECT_EQ(drain(d.value), std::make_pair(2u, ProtoError::trailing_bytes));
  }
  {   // header says 0, records follow
    const Bytes p = updates_payload(0, three);
    auto d = decode_updates(p);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(drain(d.value), std::make_pair(0u, ProtoError::trailing_bytes));
  }
  {   // a count that cannot fit the bytes is refused up front
    const std::uint32_t impossible = static_cast<std::uint32_t>(three.size() / 42 + 1);
    const Bytes p = updates_payload(impossible, three);
    auto d = decode_updates(p);
    EXPECT_EQ(d.error, ProtoError::count_mismatch);
    EXPECT_EQ(drain(d.value), std::make_pair(0u, ProtoError::count_mismatch));
    EXPECT_EQ(decode_updates(updates_payload(kMax32, {})).error, ProtoError::count_mismatch);
  }
  {   // one stray byte after the last record
    Bytes extra = three;
    extra.push_back(0);
    const Bytes p = updates_payload(3, extra);
    auto d = decode_updates(p);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(drain(d.value), std::make_pair(3u, ProtoError::trailing_bytes));
  }
}

TEST(Updates, CorruptRecordStopsTheReader) {
  const Bytes three = records(3);
  const std::size_t second = dorado::store::kMaxRecordSize;
  Bytes bad = three;
  bad[second + 20] ^= 0x40;   // inside the second record's body: its crc fails
  const Bytes p1 = updates_payload(3, bad);
  auto d = decode_updates(p1);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value.validate(), ProtoError::bad_record);
  DecodedRecord r;
  EXPECT_TRUE(d.value.next(r));
  EXPECT_EQ(r.seq, 1u);
  EXPECT_FALSE(d.value.next(r));
  EXPECT_EQ(d.value.error(), ProtoError::bad_record);
  EXPECT_EQ(d.value.record_error(), dorado::store::FormatError::bad_crc);
  EXPECT_FALSE(d.value.next(r));   // stays stopped
  EXPECT_EQ(d.value.index(), 1u);
  // A record of another type (re-checksummed so only the type is wrong).
  bad = three;
  bad[6] = 2;
  const std::uint32_t crc = dorado::store::crc32c(std::span(bad).subspan(4, second - 4));
  std::memcpy(bad.data(), &crc, 4);
  const Bytes p2 = updates_payload(3, bad);
  auto d2 = decode_updates(p2);
  EXPECT_EQ(drain(d2.value), std::make_pair(0u, ProtoError::bad_record));
  // A record cut short by the end of the payload.
  bad = three;
  bad.pop_back();
  const Bytes p3 = updates_payload(3, bad);
  auto d3 = decode_updates(p3);
  EXPECT_EQ(drain(d3.value), std::make_pair(2u, ProtoError::bad_record));
}

TEST(Updates, EveryCutIsAnError) {
  Bytes msg;
  UpdatesWriter w(msg, 3);
  for (std::uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(w.add(i + 1, change(i)));
  w.finish();
  const auto p = payload_of(msg);
  for (std::size_t cut = 0; cut < p.size(); ++cut) {
    auto d = decode_updates(p.first(cut));
    if (cut < kUpdatesHeaderSize) {
      EXPECT_EQ(d.error, ProtoError::truncated) << cut;
      continue;
    }
    const ProtoError e = d.ok() ? d.value.validate() : d.error;
    EXPECT_TRUE(e == ProtoError::bad_record || e == ProtoError::count_mismatch)
        << cut << ": " << proto_error_name(e);
  }
}

// ---- payload errors ---------------------------------------------------------------

TEST(Decode, EveryCutAndEveryExtraByteIsAnError) {
  const Bytes stream = every_message();
  const std::vector<Bytes> msgs = split_messages(stream);
  ASSERT_EQ(msgs.size(), std::size(kEveryType));
  for (std::size_t m = 0; m < msgs.size(); ++m) {
    const MessageType type = kEveryType[m];
    const auto p = payload_of(msgs[m]);
    EXPECT_EQ(decode_any(type, p), ProtoError::none) << message_type_name(type);
    for (std::size_t cut = 0; cut < p.size(); ++cut) {
      const ProtoError e = decode_any(type, p.first(cut));
      if (type == MessageType::updates)
        EXPECT_NE(e, ProtoError::none) << cut;   // records: see EveryCutIsAnError
      else
        EXPECT_EQ(e, ProtoError::truncated) << message_type_name(type) << " cut at " << cut;
    }
    Bytes longer(p.begin(), p.end());
    longer.push_back(0);
    EXPECT_EQ(decode_any(type, longer), ProtoError::trailing_bytes) << message_type_name(type);
  }
}

// Encodes with enc, sets payload byte `off` to v, decodes with dec: the error.
template <typename T, typename Enc, typename Dec>
ProtoError with_byte(const T& m, Enc enc, Dec dec, std::size_t off, std::uint8_t v) {
  Bytes out;
  enc(m, out);
  out.at(kFrameHeaderSize + off) = v;
  return dec(payload_of(out)).error;
}

TEST(Decode, OutOfRangeValues) {
  const Hello h = sample_hello();
  for (const std::uint8_t s : {0, 11, 12, 128, 255}) {
    EXPECT_EQ(with_byte(h, encode_hello, decode_hello, 2, s), ProtoError::bad_state) << int{s};
    EXPECT_EQ(with_byte(sample_heartbeat(), encode_heartbeat, decode_heartbeat, 44, s),
              ProtoError::bad_state);
  }
  for (const std::uint8_t f : {2, 3, 0x80, 0xff})
    EXPECT_EQ(with_byte(sample_heartbeat(), encode_heartbeat, decode_heartbeat, 45, f),
              ProtoError::bad_flags);
  for (const std::uint8_t k : {0, 3, 255})
    EXPECT_EQ(with_byte(SyncBegin{}, encode_sync_begin, decode_sync_begin, 0, k),
              ProtoError::bad_sync_kind);
  for (const std::uint8_t c : {0, 3, 255})
    EXPECT_EQ(with_byte(Command{}, encode_command, decode_command, 0, c), ProtoError::bad_command);

  // A name longer than 64 bytes (65 bytes present, so only the length is wrong).
  Hello longest = h;
  longest.name = text<kMaxServerName>(std::string(kMaxServerName, 'n'));
  Bytes out;
  encode_hello(longest, out);
  out.push_back('n');
  out[kFrameHeaderSize + 3] = kMaxServerName + 1;
  EXPECT_EQ(decode_hello(payload_of(out)).error, ProtoError::name_too_long);
  out[kFrameHeaderSize + 3] = 255;
  EXPECT_EQ(decode_hello(payload_of(out)).error, ProtoError::name_too_long);
  // A name length that disagrees with the bytes.
  EXPECT_EQ(with_byte(h, encode_hello, decode_hello, 3, 7), ProtoError::truncated);
  EXPECT_EQ(with_byte(h, encode_hello, decode_hello, 3, 5), ProtoError::trailing_bytes);

  // An error text longer than 256 bytes.
  ErrorMsg e;
  e.text = text<kMaxErrorText>(std::string(kMaxErrorText, 't'));
  out.clear();
  encode_error(e, out);
  out.push_back('t');
  out[kFrameHeaderSize + 2] = (kMaxErrorText + 1) & 0xff;
  out[kFrameHeaderSize + 3] = (kMaxErrorText + 1) >> 8;
  EXPECT_EQ(decode_error(payload_of(out)).error, ProtoError::text_too_long);
  out[kFrameHeaderSize + 2] = out[kFrameHeaderSize + 3] = 0xff;
  EXPECT_EQ(decode_error(payload_of(out)).error, ProtoError::text_too_long);
}

TEST(Decode, HelloOfAnotherProtocolVersionSaysWhich) {
  Bytes out;
  Hello h = sample_hello();
  h.protocol_version = 2;
  encode_hello(h, out);
  auto d = decode_hello(payload_of(out));
  EXPECT_EQ(d.error, ProtoError::bad_protocol_version);
  EXPECT_EQ(d.value.protocol_version, 2);
  // Whatever follows the version: a longer hello of version 2 says the same.
  out.resize(out.size() + 100, 0xab);
  EXPECT_EQ(decode_hello(payload_of(out)).error, ProtoError::bad_protocol_version);
  const std::uint8_t v0[] = {0, 0};
  EXPECT_EQ(decode_hello(v0).error, ProtoError::bad_protocol_version);
}

// ---- frames ---------------------------------------------------------------------------

TEST(Frame, EveryPrefixNeedsMore) {
  const Bytes stream = every_message();
  for (const Bytes& msg : split_messages(stream)) {
    for (std::size_t cut = 0; cut < msg.size(); ++cut) {
      const Frame f = next_frame(std::span(msg).first(cut));
      ASSERT_EQ(f.status, FrameStatus::need_more) << cut;
      EXPECT_EQ(f.needed, cut < kFrameHeaderSize ? kFrameHeaderSize : msg.size()) << cut;
      EXPECT_EQ(f.consumed, 0u);
    }
  }
}

// msg with byte `off` set to v: what next_frame says.
Frame with_frame_byte(Bytes msg, std::size_t off, std::uint8_t v) {
  msg.at(off) = v;
  return next_frame(msg);
}

TEST(Frame, BadHeaders) {
  Bytes msg;
  encode_hello(sample_hello(), msg);
  for (std::size_t i = 0; i < 4; ++i) {
    const Frame f = with_frame_byte(msg, i, static_cast<std::uint8_t>(msg[i] ^ 0x20));
    EXPECT_EQ(f.status, FrameStatus::bad) << i;
    EXPECT_EQ(f.error, ProtoError::bad_magic) << i;
    // Known as soon as the wrong byte is there.
    Bytes cut(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(i + 1));
    cut[i] ^= 0x20;
    EXPECT_EQ(next_frame(cut).error, ProtoError::bad_magic) << i;
  }
  const std::uint8_t http[] = {'G', 'E', 'T', ' ', '/'};
  EXPECT_EQ(next_frame(http).error, ProtoError::bad_magic);
  for (const std::uint8_t v : {0, 2, 255})
    EXPECT_EQ(with_frame_byte(msg, 5, v).error, ProtoError::bad_version);
  EXPECT_EQ(with_frame_byte(msg, 6, 1).error, ProtoError::bad_reserved);
  EXPECT_EQ(with_frame_byte(msg, 7, 0x80).error, ProtoError::bad_reserved);
  for (const std::uint8_t t : {0, 10, 255})
    EXPECT_EQ(with_frame_byte(msg, 4, t).error, ProtoError::bad_type) << int{t};
  // Every other valid type with this payload passes the frame check (the
  // payload decoder of that type judges it).
  for (std::uint8_t t = 1; t <= 9; ++t)
    EXPECT_EQ(with_frame_byte(msg, 4, t).status, FrameStatus::ok) << int{t};

  // Header alone, with a length over the limit: bad before any payload.
  Bytes header(msg.begin(), msg.begin() + kFrameHeaderSize);
  const std::uint32_t too_long = kMaxPayload + 1;
  std::memcpy(header.data() + 8, &too_long, 4);
  EXPECT_EQ(next_frame(header).status, FrameStatus::bad);
  EXPECT_EQ(next_frame(header).error, ProtoError::too_long);
  const std::uint32_t huge = kMax32;
  std::memcpy(header.data() + 8, &huge, 4);
  EXPECT_EQ(next_frame(header).error, ProtoError::too_long);
  const std::uint32_t max = kMaxPayload;
  std::memcpy(header.data() + 8, &max, 4);
  const Frame f = next_frame(header);
  EXPECT_EQ(f.status, FrameStatus::need_more);
  EXPECT_EQ(f.needed, kFrameHeaderSize + kMaxPayload);
}

TEST(Frame, BadCrc) {
  Bytes msg;
  encode_hello(sample_hello(), msg);
  for (std::size_t i = 12; i < msg.size(); ++i) {   // the crc or any payload byte
    const Frame f = with_frame_byte(msg, i, static_cast<std::uint8_t>(msg[i] ^ 1));
    EXPECT_EQ(f.status, FrameStatus::bad) << i;
    EXPECT_EQ(f.error, ProtoError::bad_crc) << i;
  }
  // A length that takes one byte less: the crc no longer matches.
  Bytes shorter = msg;
  const std::uint32_t len = static_cast<std::uint32_t>(msg.size() - kFrameHeaderSize - 1);
  std::memcpy(shorter.data() + 8, &len, 4);
  EXPECT_EQ(next_frame(shorter).error, ProtoError::bad_crc);
}

// Receives `stream` in the chunks that `cuts` (increasing offsets) mark off,
// as a link would: append, take every whole frame, keep the rest. Returns the
// frames' bytes in order.
std::vector<Bytes> receive(const Bytes& stream, const std::vector<std::size_t>& cuts) {
  std::vector<Bytes> frames;
  Bytes buf;
  std::size_t from = 0;
  auto take = [&]() {
    while (true) {
      const Frame f = next_frame(buf);
      EXPECT_NE(f.status, FrameStatus::bad) << proto_error_name(f.error);
      if (f.status != FrameStatus::ok) return;
      EXPECT_EQ(decode_any(f.type, f.payload), ProtoError::none) << message_type_name(f.type);
      frames.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(f.consumed));
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(f.consumed));
    }
  };
  for (const std::size_t cut : cuts) {
    buf.insert(buf.end(), stream.begin() + static_cast<std::ptrdiff_t>(from),
               stream.begin() + static_cast<std::ptrdiff_t>(cut));
    from = cut;
    take();
  }
  EXPECT_TRUE(buf.empty()) << buf.size() << " bytes left";
  return frames;
}

TEST(Frame, StreamSplitAtEveryByteIsReassembled) {
  const Bytes stream = every_message();
  const std::vector<Bytes> want = split_messages(stream);
  ASSERT_EQ(want.size(), std::size(kEveryType));
  for (std::size_t cut = 0; cut <= stream.size(); ++cut)
    ASSERT_EQ(receive(stream, {cut, stream.size()}), want) << "split at " << cut;
  // One byte at a time.
  std::vector<std::size_t> each(stream.size());
  for (std::size_t i = 0; i < each.size(); ++i) each[i] = i + 1;
  EXPECT_EQ(receive(stream, each), want);
  // Random chunk sizes.
  std::mt19937 rng(14);
  for (int run = 0; run < 50; ++run) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = 0; at < stream.size();) {
      at = std::min(stream.size(), at + 1 + rng() % 300);
      cuts.push_back(at);
    }
    EXPECT_EQ(receive(stream, cuts), want);
  }
}

}  // namespace
