// control/store and option 82 (issue 17): journal record version 3 carries
// the relay agent information a lease was granted with
// (engine::LeaseChange::relay_len); the mirror keeps it, snapshots and
// journal replay bring it back, and journals of versions 1 and 2 still load.
#include <gtest/gtest.h>
#include "temp_dir.hpp"
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "engine/ddns.hpp"
#include "store/crc32c.hpp"
#include "store/format.hpp"
#include "store/mirror.hpp"
#include "store/snapshot.hpp"
#include "store/store.hpp"

namespace {

using namespace dorado::store;
using dorado::engine::LeaseChange;
using dorado::engine::LeaseOp;
using Bytes = std::vector<std::uint8_t>;

class TempDir : public dorado::test_support::TempDir {
 public:
  TempDir() : dorado::test_support::TempDir("dorado-store-relay-test") {}
};

struct DirFd {
  int fd;
  explicit DirFd(const std::string& p) : fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY)) {}
  ~DirFd() { ::close(fd); }
};

// Client i: hardware key (kind, htype, 6-byte MAC), address 10.x.y.z.
LeaseChange change(std::uint32_t i, LeaseOp op = LeaseOp::commit, const std::string& host = "") {
  LeaseChange c{};
  c.op = op;
  c.htype = 1;
  c.key_len = 8;
  c.key[0] = dorado::engine::kKeyKindHw;
  c.key[1] = 1;
  c.key[2] = 0x02;
  for (int b = 0; b < 4; ++b) c.key[4 + b] = static_cast<std::uint8_t>(i >> (8 * b));
  std::memcpy(c.chaddr.b.data(), c.key.data() + 2, 6);
  c.subnet_id = 7;
  c.address = 0x0a000000u + i;
  c.start = 1'700'000'000u + i;
  c.expires = c.start + 3600;
  c.hostname_len = static_cast<std::uint8_t>(host.size());
  std::memcpy(c.hostname.data(), host.data(), host.size());
  return c;
}

// Option 82 of client i: circuit-id "port<i>", remote-id "cpe".
Bytes relay_of(std::uint32_t i) {
  const std::string port = "port" + std::to_string(i);
  const std::string s = std::string{'\x01', static_cast<char>(port.size())} + port + "\x02\x03" "cpe";
  return Bytes(s.begin(), s.end());
}

LeaseChange with_relay(LeaseChange c, const Bytes& r) {
  EXPECT_TRUE(dorado::engine::set_relay_info(c, r));
  return c;
}

Bytes relay(const LeaseChange& c) {
  const auto r = dorado::engine::relay_info_of(c);
  return Bytes(r.begin(), r.end());
}

Bytes encode(std::uint64_t seq, const LeaseChange& c) {
  Bytes b(record_size(c));
  EXPECT_EQ(encode_record(seq, c, b), b.size());
  return b;
}

void resign(Bytes& b) {
  const std::uint32_t crc = crc32c({b.data() + 4, b.size() - 4});
  std::memcpy(b.data(), &crc, 4);
}

std::string text_of(const LeaseChange& c) {
  const Bytes r = relay(c);
  return std::to_string(static_cast<int>(c.op)) + "/" + std::to_string(c.address) + "/" +
         std::to_string(c.expires) + "/" + std::string(c.hostname.data(), c.hostname_len) + "/" +
         std::to_string(c.ddns) + "/" + std::string(r.begin(), r.end());
}

std::map<std::string, std::string> set_of(const Mirror& m) {
  std::map<std::string, std::string> s;
  m.for_each([&](const LeaseChange& c) {
    s[std::string(reinterpret_cast<const char*>(c.key.data()), c.key_len) + std::to_string(c.address)] = text_of(c);
  });
  return s;
}

TEST(RelayRecord, VersionThreeOnlyWithOption82) {
  const LeaseChange plain = change(1, LeaseOp::commit, "laptop");
  EXPECT_EQ(encode(1, plain)[7], kRecordVersion);
  const Bytes r = relay_of(1);
  const LeaseChange c = with_relay(plain, r);
  const Bytes b = encode(5, c);
  EXPECT_EQ(b[7], kRecordVersionRelay);
  EXPECT_EQ(b.size(), kRecordMinSize + 8 + 6 + 1 + r.size());
  EXPECT_EQ(b[kRecordMinSize + 8 + 6], r.size());
  const DecodedRecord d = decode_record(b);
  ASSERT_EQ(d.status, Status::ok) << format_error_name(d.error);
  EXPECT_EQ(d.size, b.size());
  EXPECT_EQ(relay(d.change), r);
  EXPECT_EQ(text_of(d.change), text_of(c));
  EXPECT_EQ(std::memcmp(d.change.key.data(), c.key.data(), 8), 0);
  EXPECT_EQ(encode(5, d.change), b);

  // With DNS flags too: version 3 keeps them in byte 19 as version 2 does.
  LeaseChange f = c;
  f.ddns = dorado::engine::kDdnsForward;
  const DecodedRecord df = decode_record(encode(6, f));
  ASSERT_EQ(df.status, Status::ok);
  EXPECT_EQ(df.change.ddns, dorado::engine::kDdnsForward);
  EXPECT_EQ(relay(df.change), r);

  // The longest kept, after a long key; one that does not fit is not set.
  LeaseChange lng = change(2);
  lng.key_len = 42;
  EXPECT_TRUE(dorado::engine::set_relay_info(lng, Bytes(118, 0x55)));
  const DecodedRecord dl = decode_record(encode(7, lng));
  ASSERT_EQ(dl.status, Status::ok) << format_error_name(dl.error);
  EXPECT_EQ(relay(dl.change), Bytes(118, 0x55));
  EXPECT_EQ(encode(7, lng).size(), kRecordMinSize + 42 + 1 + 118);
  lng.key_len = 43;
  EXPECT_FALSE(dorado::engine::set_relay_info(lng, Bytes(118, 0x55)));
  EXPECT_EQ(lng.relay_len, 0u);
  EXPECT_FALSE(dorado::engine::set_relay_info(lng, Bytes(119, 0x55)));
  EXPECT_EQ(encode(8, lng)[7], kRecordVersion);
  EXPECT_LE(record_size(with_relay(change(3), Bytes(118, 1))), kMaxRecordSize);
}

TEST(RelayRecord, MalformedVersionThreeIsCorrupt) {
  const Bytes good = encode(5, with_relay(change(1, LeaseOp::commit, "h"), relay_of(1)));
  const std::size_t at = kRecordMinSize + 8 + 1;   // relay_len byte
  // relay_len 0 in a version 3 record: never written.
  Bytes b = good;
  b[at] = 0;
  resign(b);
  EXPECT_EQ(decode_record(b).error, FormatError::bad_version);
  // A relay_len that disagrees with body_len.
  b = good;
  b[at] = static_cast<std::uint8_t>(b[at] - 1);
  resign(b);
  EXPECT_EQ(decode_record(b).error, FormatError::bad_length);
  // Over 118.
  LeaseChange big = change(1);
  big.key_len = 8;
  Bytes raw(kRecordMinSize + 8 + 1 + 119, 0);
  const Bytes small = encode(5, big);
  std::memcpy(raw.data(), small.data(), small.size());
  raw[4] = static_cast<std::uint8_t>(raw.size() - kRecordHeaderSize);
  raw[7] = kRecordVersionRelay;
  raw[kRecordMinSize + 8] = 119;
  resign(raw);
  EXPECT_EQ(decode_record(raw).error, FormatError::relay_info_too_long);
  // Past the key's room in LeaseChange::key (key 50 + 118 > 160).
  Bytes room(kRecordMinSize + 50 + 1 + 118, 0);
  std::memcpy(room.data(), small.data(), kRecordMinSize);
  const std::size_t body = room.size() - kRecordHeaderSize;
  room[4] = static_cast<std::uint8_t>(body);
  room[5] = static_cast<std::uint8_t>(body >> 8);
  room[7] = kRecordVersionRelay;
  room[18] = 50;
  room[19] = 0;
  room[kRecordMinSize + 50] = 118;
  resign(room);
  EXPECT_EQ(decode_record(room).error, FormatError::relay_info_too_long);
  // Version 3 cut before its relay_len byte.
  b = encode(5, change(1));
  b[7] = kRecordVersionRelay;
  resign(b);
  EXPECT_EQ(decode_record(b).error, FormatError::bad_length);
}

TEST(RelayMirror, KeptReplacedAndDropped) {
  Mirror m;
  const LeaseChange c = with_relay(change(1, LeaseOp::commit, "laptop"), relay_of(1));
  m.apply(c);
  const std::span<const std::uint8_t> key{c.key.data(), c.key_len};
  ASSERT_TRUE(m.find(key));
  EXPECT_EQ(relay(*m.find(key)), relay_of(1));
  // A renewal with it keeps it; a newer one replaces it (other size class too).
  m.apply(with_relay(change(1, LeaseOp::renew), relay_of(1)));
  EXPECT_EQ(relay(*m.find(key)), relay_of(1));
  EXPECT_EQ(std::string(m.find(key)->hostname.data(), m.find(key)->hostname_len), "laptop");
  const Bytes longer(100, 0x42);
  m.apply(with_relay(change(1, LeaseOp::renew), longer));
  EXPECT_EQ(relay(*m.find(key)), longer);
  // A record without one: none (the engine sends what it keeps).
  m.apply(change(1, LeaseOp::renew));
  EXPECT_TRUE(relay(*m.find(key)).empty());
  // Reclaimed and re-added: the entry number is reused without the old value.
  m.apply(with_relay(change(1, LeaseOp::renew), relay_of(1)));
  m.apply(change(1, LeaseOp::reclaim));
  m.apply(change(2));
  m.for_each([](const LeaseChange& l) { EXPECT_TRUE(relay(l).empty()); });
  // A decline leaves a probation entry without it.
  m.apply(with_relay(change(3), relay_of(3)));
  m.apply(change(3, LeaseOp::decline));
  ASSERT_TRUE(m.find_probation(change(3).address));
  EXPECT_TRUE(relay(*m.find_probation(change(3).address)).empty());
  const std::size_t before = m.memory_bytes();
  Mirror none;
  none.apply(change(1));
  EXPECT_LT(none.memory_bytes(), before);
}

TEST(RelayStore, SnapshotAndJournalReplayKeepOption82) {
  Mirror m;
  std::vector<LeaseChange> all;
  for (std::uint32_t i = 1; i <= 300; ++i) {
    // append, not "h" + string: a g++ 12 -O3 -Wrestrict false positive.
    LeaseChange c = change(i, LeaseOp::commit, i % 2 ? std::string("h").append(std::to_string(i)) : "");
    if (i % 3 != 0) c = with_relay(c, relay_of(i));
    all.push_back(c);
  }
  for (const auto& c : all) m.apply(c);
  std::size_t with = 0;
  m.for_each([&](const LeaseChange& c) { with += c.relay_len != 0; });
  EXPECT_EQ(with, 200u);
  TempDir t;
  DirFd dir(t.path());
  ASSERT_TRUE(write_snapshot(dir.fd, 9, m).ok());
  const LoadedSnapshot l = load_snapshot(dir.fd, snapshot_name(9).data());
  ASSERT_EQ(l.scan.status, Status::ok) << format_error_name(l.scan.error);
  EXPECT_EQ(set_of(l.mirror), set_of(m));

  // Through a Store: taken, closed, reopened (journal replay).
  TempDir s;
  StoreOptions o;
  o.dir = s.path();
  o.workers = 1;
  {
    Store::Opened op = Store::open(o);
    ASSERT_TRUE(op.store) << op.error;
    op.store->take(0, all);
    op.store->close(false);
  }
  Store::Opened again = Store::open(o);
  ASSERT_TRUE(again.store) << again.error;
  Mirror got;
  again.store->for_each_lease([&](const LeaseChange& c) { got.apply(c); });
  EXPECT_EQ(set_of(got), set_of(m));
}

// A journal as dorado wrote it before version 3 (versions 1 and 2, encoded
// by hand from format.hpp's table) loads, and the same journal continued by
// this dorado with version 3 records replays whole.
TEST(RelayStore, OldJournalLoadsAndMixesWithVersionThree) {
  auto v1 = [](std::uint64_t seq, const LeaseChange& c, std::uint8_t version, std::uint8_t flags) {
    Bytes b(kRecordMinSize + c.key_len + c.hostname_len, 0);
    const std::size_t body = b.size() - kRecordHeaderSize;
    b[4] = static_cast<std::uint8_t>(body);
    b[6] = 1;
    b[7] = version;
    for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<std::uint8_t>(seq >> (8 * i));
    b[16] = static_cast<std::uint8_t>(c.op);
    b[17] = c.htype;
    b[18] = c.key_len;
    b[19] = static_cast<std::uint8_t>(c.hostname_len | flags << 6);
    for (int i = 0; i < 4; ++i) {
      b[20 + i] = static_cast<std::uint8_t>(c.subnet_id >> (8 * i));
      b[24 + i] = static_cast<std::uint8_t>(c.address >> (8 * i));
      b[28 + i] = static_cast<std::uint8_t>(c.start >> (8 * i));
      b[32 + i] = static_cast<std::uint8_t>(c.expires >> (8 * i));
    }
    std::memcpy(b.data() + 36, c.chaddr.b.data(), 6);
    std::memcpy(b.data() + kRecordMinSize, c.key.data(), c.key_len);
    std::memcpy(b.data() + kRecordMinSize + c.key_len, c.hostname.data(), c.hostname_len);
    resign(b);
    return b;
  };
  TempDir t;
  const auto h = encode_file_header({FileKind::segment, 1, 0});
  Bytes seg(h.begin(), h.end());
  Mirror expect;
  std::uint64_t seq = 1;
  for (std::uint32_t i = 1; i <= 10; ++i) {
    LeaseChange c = change(i, LeaseOp::commit, "old" + std::to_string(i));
    if (i % 2 == 0) c.ddns = dorado::engine::kDdnsForward;
    const Bytes r = v1(seq++, c, i % 2 == 0 ? 2 : 1, c.ddns);
    seg.insert(seg.end(), r.begin(), r.end());
    expect.apply(c);
  }
  // The same journal, continued after an upgrade: renewals with option 82.
  for (std::uint32_t i = 1; i <= 5; ++i) {
    const LeaseChange c = with_relay(change(i, LeaseOp::renew), relay_of(i));
    const Bytes r = encode(seq++, c);
    EXPECT_EQ(r[7], kRecordVersionRelay);
    seg.insert(seg.end(), r.begin(), r.end());
    expect.apply(c);
  }
  std::ofstream(t / segment_name(1).data(), std::ios::binary)
      .write(reinterpret_cast<const char*>(seg.data()), static_cast<std::streamsize>(seg.size()));
  StoreOptions o;
  o.dir = t.path();
  o.workers = 1;
  Store::Opened op = Store::open(o);
  ASSERT_TRUE(op.store) << op.error;
  EXPECT_EQ(op.stats.records_replayed, 15u);
  EXPECT_EQ(op.stats.corrupt, 0u);
  Mirror got;
  op.store->for_each_lease([&](const LeaseChange& c) { got.apply(c); });
  EXPECT_EQ(set_of(got), set_of(expect));
  std::size_t with = 0, named = 0;
  got.for_each([&](const LeaseChange& c) {
    with += c.relay_len != 0;
    named += c.hostname_len != 0;
  });
  EXPECT_EQ(with, 5u);
  EXPECT_EQ(named, 10u);   // renewals keep the names the old records had
}

}  // namespace
