// control/store: CRC32C, the record and file formats, the mirror, recovery
// from damaged journals and snapshots, group commit, write errors, fuzzy
// snapshots and the directory lock. Every test works in its own mkdtemp
// directory under /tmp, removed afterwards.
#include <gtest/gtest.h>
#include "temp_dir.hpp"
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/ddns.hpp"
#include "store/crc32c.hpp"
#include "store/format.hpp"
#include "store/journal.hpp"
#include "store/mirror.hpp"
#include "store/snapshot.hpp"
#include "store/store.hpp"

namespace {

namespace fs = std::filesystem;
using namespace dorado::store;
using dorado::engine::LeaseChange;
using dorado::engine::LeaseOp;
using Bytes = std::vector<std::uint8_t>;

// ---- helpers -------------------------------------------------------------------------

class TempDir : public dorado::test_support::TempDir {
 public:
  TempDir() : dorado::test_support::TempDir("dorado-store-test") {}
};

Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}
void write_bytes(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}
std::vector<std::string> names_like(const std::string& dir, const std::string& part) {
  std::vector<std::string> v;
  for (const std::string& n : names_in(dir))
    if (n.find(part) != std::string::npos) v.push_back(n);
  return v;
}

// Client i: hardware key (kind, htype, 6-byte MAC), address 10.x.y.z.
LeaseChange change(std::uint32_t i, LeaseOp op = LeaseOp::commit, const std::string& host = "") {
  LeaseChange c{};
  c.seq = i;
  c.op = op;
  c.htype = 1;
  c.key_len = 8;
  c.key[0] = dorado::engine::kKeyKindHw;
  c.key[1] = 1;
  for (int b = 0; b < 4; ++b) c.key[4 + b] = static_cast<std::uint8_t>(i >> (8 * b));
  c.key[2] = 0x02;
  std::memcpy(c.chaddr.b.data(), c.key.data() + 2, 6);
  c.subnet_id = 7;
  c.address = 0x0a000000u + i;
  c.start = 1'700'000'000u + i;
  c.expires = c.start + 3600;
  c.hostname_len = static_cast<std::uint8_t>(host.size());
  std::memcpy(c.hostname.data(), host.data(), host.size());
  return c;
}

std::string key_of(const LeaseChange& c) {
  if (c.key_len == 0) return "probation:" + std::to_string(c.address);
  return std::string(reinterpret_cast<const char*>(c.key.data()), c.key_len);
}

// The comparable content of a lease (seq and shard ignored).
std::string text_of(const LeaseChange& c) {
  return std::to_string(static_cast<int>(c.op)) + "/" + std::to_string(c.htype) + "/" +
         std::to_string(c.subnet_id) + "/" + std::to_string(c.address) + "/" + std::to_string(c.start) +
         "/" + std::to_string(c.expires) + "/" +
         std::string(reinterpret_cast<const char*>(c.chaddr.b.data()), 6) + "/" +
         std::string(c.hostname.data(), c.hostname_len) + "/" + std::to_string(c.ddns);
}

using LeaseSet = std::map<std::string, std::string>;

LeaseSet set_of_mirror(const Mirror& m) {
  LeaseSet s;
  m.for_each([&](const LeaseChange& c) { s[key_of(c)] = text_of(c); });
  return s;
}
LeaseSet set_of_store(const Store& st) {
  LeaseSet s;
  st.for_each_lease([&](const LeaseChange& c) { s[key_of(c)] = text_of(c); });
  return s;
}
LeaseSet set_of_changes(const std::vector<LeaseChange>& changes) {
  Mirror m;
  for (const auto& c : changes) m.apply(c);
  return set_of_mirror(m);
}

Bytes encode(std::uint64_t seq, const LeaseChange& c) {
  Bytes b(record_size(c));
  encode_record(seq, c, b);
  return b;
}

// A segment image: header at first_seq, then records for `changes`.
struct Image {
  Bytes bytes;
  std::vector<std::size_t> offsets;   // of each record
};
Image segment_image(std::uint64_t first_seq, const std::vector<LeaseChange>& changes) {
  Image im;
  const auto h = encode_file_header({FileKind::segment, first_seq, 0});
  im.bytes.assign(h.begin(), h.end());
  for (std::size_t i = 0; i < changes.size(); ++i) {
    im.offsets.push_back(im.bytes.size());
    const Bytes r = encode(first_seq + i, changes[i]);
    im.bytes.insert(im.bytes.end(), r.begin(), r.end());
  }
  return im;
}
std::string segment_file(std::uint64_t first_seq) { return segment_name(first_seq).data(); }

std::vector<LeaseChange> clients(std::uint32_t from, std::uint32_t n) {
  std::vector<LeaseChange> v;
  for (std::uint32_t i = from; i < from + n; ++i) v.push_back(change(i, LeaseOp::commit, "host" + std::to_string(i)));
  return v;
}

StoreOptions options_for(const std::string& dir) {
  StoreOptions o;
  o.dir = dir;
  o.workers = 2;
  return o;
}

std::unique_ptr<Store> open_ok(const StoreOptions& o, RecoveryStats* stats = nullptr) {
  Store::Opened op = Store::open(o);
  EXPECT_TRUE(op.store) << op.error;
  if (stats != nullptr) *stats = op.stats;
  return std::move(op.store);
}

// ---- crc32c ---------------------------------------------------------------------------

TEST(Crc32c, Rfc3720Vectors) {
  const std::string digits = "123456789";
  const std::span<const std::uint8_t> d{reinterpret_cast<const std::uint8_t*>(digits.data()), digits.size()};
  EXPECT_EQ(crc32c(d), 0xE3069283u);
  EXPECT_EQ(crc32c_table(d), 0xE3069283u);
  Bytes zeros(32, 0), ones(32, 0xff), inc(32), dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<std::uint8_t>(i);
    dec[i] = static_cast<std::uint8_t>(31 - i);
  }
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c(inc), 0x46DD794Eu);
  EXPECT_EQ(crc32c(dec), 0x113FDB5Cu);
  EXPECT_EQ(crc32c({}), 0u);
  std::printf("crc32c: %s\n", crc32c_hardware() ? "sse4.2" : "table");
}

TEST(Crc32c, HardwareMatchesTableAndChains) {
  std::mt19937 rng(1);
  Bytes b(1000);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  for (std::size_t n = 0; n <= b.size(); n += 7) {
    const std::span<const std::uint8_t> s{b.data(), n};
    ASSERT_EQ(crc32c(s), crc32c_table(s)) << n;
    const std::size_t half = n / 3;
    ASSERT_EQ(crc32c(s.subspan(half), crc32c(s.first(half))), crc32c(s)) << n;
  }
}

// ---- records ---------------------------------------------------------------------------

TEST(Format, RecordRoundTripEveryOp) {
  for (int op = 1; op <= 6; ++op) {
    for (const std::size_t key_len : {std::size_t{0}, std::size_t{8}, std::size_t{160}}) {
      for (const std::size_t host_len : {std::size_t{0}, std::size_t{1}, std::size_t{63}}) {
        LeaseChange c = change(42, static_cast<LeaseOp>(op), std::string(host_len, 'h'));
        c.key_len = static_cast<std::uint8_t>(key_len);
        for (std::size_t i = 0; i < key_len; ++i) c.key[i] = static_cast<std::uint8_t>(i * 7 + 1);
        const Bytes b = encode(0x1122334455667788ull, c);
        ASSERT_EQ(b.size(), kRecordMinSize + key_len + host_len);
        const DecodedRecord d = decode_record(b);
        ASSERT_EQ(d.status, Status::ok) << format_error_name(d.error);
        EXPECT_EQ(d.size, b.size());
        EXPECT_EQ(d.seq, 0x1122334455667788ull);
        EXPECT_EQ(key_of(d.change), key_of(c));
        EXPECT_EQ(text_of(d.change), text_of(c));
        EXPECT_EQ(d.change.key_len, c.key_len);
      }
    }
  }
  // A DORA commit record is small.
  EXPECT_EQ(record_size(change(1, LeaseOp::commit, "laptop-1234")), 61u);
}

// Re-signs a record after a field was changed, so the check after the CRC is hit.
void resign(Bytes& b) {
  const std::uint32_t crc = crc32c({b.data() + 4, b.size() - 4});
  std::memcpy(b.data(), &crc, 4);
}

TEST(Format, DecodeRejectsMalformed) {
  const Bytes good = encode(5, change(1, LeaseOp::commit, "abc"));
  EXPECT_EQ(decode_record({}).status, Status::end);
  for (std::size_t n = 1; n < good.size(); ++n) {
    const DecodedRecord d = decode_record({good.data(), n});
    EXPECT_EQ(d.status, Status::torn) << n;
    EXPECT_EQ(d.error, n < kRecordHeaderSize ? FormatError::short_header : FormatError::short_body) << n;
  }
  auto expect = [](Bytes b, Status s, FormatError e, bool sign) {
    if (sign) resign(b);
    const DecodedRecord d = decode_record(b);
    EXPECT_EQ(d.status, s) << format_error_name(d.error);
    EXPECT_EQ(d.error, e) << format_error_name(d.error);
  };
  Bytes b = good;
  b[20] ^= 1;
  expect(b, Status::corrupt, FormatError::bad_crc, false);
  b = good;
  b[6] = 2;
  expect(b, Status::corrupt, FormatError::bad_type, true);
  b = good;
  b[7] = 9;
  expect(b, Status::corrupt, FormatError::bad_version, true);
  b = good;
  b[16] = 0;
  expect(b, Status::corrupt, FormatError::bad_op, true);
  b = good;
  b[16] = 7;
  expect(b, Status::corrupt, FormatError::bad_op, true);
  b = good;
  b[19] = 2;   // hostname_len inconsistent with body_len
  expect(b, Status::corrupt, FormatError::bad_length, true);
  b = good;
  b[4] = 10;   // body_len below the fixed body
  b[5] = 0;
  expect(b, Status::corrupt, FormatError::bad_length, true);
  b = good;
  b[4] = 0xff;   // body_len beyond any record
  b[5] = 0x0f;
  expect(b, Status::corrupt, FormatError::bad_length, true);
  // key_len 161 / hostname_len 64 with a consistent body_len.
  {
    LeaseChange c = change(1);
    c.key_len = 160;
    Bytes k = encode(1, c);
    k.push_back(0);
    k[18] = 161;
    const std::uint16_t body = static_cast<std::uint16_t>(k.size() - kRecordHeaderSize);
    std::memcpy(k.data() + 4, &body, 2);
    expect(k, Status::corrupt, FormatError::key_too_long, true);
    LeaseChange h = change(1, LeaseOp::commit, std::string(63, 'x'));
    Bytes hb = encode(1, h);
    hb.push_back('x');
    hb[19] = 64;
    const std::uint16_t hbody = static_cast<std::uint16_t>(hb.size() - kRecordHeaderSize);
    std::memcpy(hb.data() + 4, &hbody, 2);
    expect(hb, Status::corrupt, FormatError::hostname_too_long, true);
  }
  // Zero-filled: an all-zero header is torn, not the end.
  expect(Bytes(64, 0), Status::torn, FormatError::zero_filled, false);
  expect(Bytes(5, 0), Status::torn, FormatError::short_header, false);
  // A record whose end and everything after it are zeros: the write stopped inside it.
  b = good;
  std::fill(b.begin() + 30, b.end(), 0);
  b.insert(b.end(), 100, 0);
  expect(b, Status::torn, FormatError::zero_filled, false);
}

TEST(Format, FileHeaderAndTrailer) {
  const auto h = encode_file_header({FileKind::segment, 77, 123});
  const DecodedHeader d = decode_file_header(FileKind::segment, h);
  ASSERT_EQ(d.status, Status::ok);
  EXPECT_EQ(d.header.seq, 77u);
  EXPECT_EQ(d.header.created, 123u);
  EXPECT_EQ(decode_file_header(FileKind::snapshot, h).error, FormatError::bad_magic);
  EXPECT_EQ(decode_file_header(FileKind::segment, {h.data(), 31}).status, Status::torn);
  Bytes bad(h.begin(), h.end());
  bad[20] ^= 1;
  EXPECT_EQ(decode_file_header(FileKind::segment, bad).error, FormatError::bad_header_crc);
  EXPECT_EQ(decode_file_header(FileKind::segment, Bytes(32, 0)).status, Status::torn);

  const auto t = encode_snapshot_trailer({12345, 0xabcdef01});
  const DecodedTrailer dt = decode_snapshot_trailer(t);
  ASSERT_EQ(dt.status, Status::ok);
  EXPECT_EQ(dt.trailer.leases, 12345u);
  EXPECT_EQ(dt.trailer.records_crc, 0xabcdef01u);
  Bytes tb(t.begin(), t.end());
  tb[9] ^= 1;
  EXPECT_EQ(decode_snapshot_trailer(tb).error, FormatError::bad_trailer_crc);
}

TEST(Format, FileNames) {
  EXPECT_STREQ(segment_name(1).data(), "journal-0000000000000001.log");
  EXPECT_STREQ(snapshot_name(0xf4240).data(), "snapshot-00000000000f4240.snap");
  EXPECT_EQ(parse_segment_name("journal-00000000000000aB.log").seq, 0xabu);
  EXPECT_TRUE(parse_snapshot_name("snapshot-00000000000f4240.snap").ok);
  for (const char* bad : {"journal-1.log", "journal-0000000000000001.log.tail-32", "journal-000000000000000g.log",
                          "snapshot-00000000000f4240.snap.tmp", "LOCK", "journal-0000000000000001.logx"})
    EXPECT_FALSE(parse_segment_name(bad).ok || parse_snapshot_name(bad).ok) << bad;
}

TEST(Format, ScanSegmentChecksSequence) {
  Image im = segment_image(10, clients(1, 5));
  std::uint64_t n = 0;
  SegmentScan s = scan_segment(im.bytes, [&](const DecodedRecord&) { ++n; });
  EXPECT_EQ(s.records.status, Status::end);
  EXPECT_EQ(s.records.records, 5u);
  EXPECT_EQ(s.records.last_seq, 14u);
  // Record 3 carrying seq 99: corrupt there.
  const Bytes wrong = encode(99, clients(3, 1)[0]);
  std::copy(wrong.begin(), wrong.end(), im.bytes.begin() + static_cast<std::ptrdiff_t>(im.offsets[2]));
  s = scan_segment(im.bytes, [](const DecodedRecord&) {});
  EXPECT_EQ(s.records.status, Status::corrupt);
  EXPECT_EQ(s.records.error, FormatError::bad_seq);
  EXPECT_EQ(s.records.offset, im.offsets[2]);
  EXPECT_EQ(s.records.records, 2u);
}

// ---- mirror ------------------------------------------------------------------------------

TEST(Mirror, OpsSemantics) {
  Mirror m;
  const LeaseChange a = change(1, LeaseOp::commit, "alpha");
  EXPECT_EQ(m.apply(a), Mirror::Applied::upserted);
  ASSERT_TRUE(m.find({a.key.data(), a.key_len}));
  EXPECT_EQ(text_of(*m.find({a.key.data(), a.key_len})), text_of(a));

  // renew without hostname keeps the stored one; other fields replaced.
  LeaseChange r = change(1, LeaseOp::renew);
  r.expires += 100;
  m.apply(r);
  auto got = m.find({a.key.data(), a.key_len});
  EXPECT_EQ(got->op, LeaseOp::renew);
  EXPECT_EQ(got->expires, a.expires + 100);
  EXPECT_EQ(std::string(got->hostname.data(), got->hostname_len), "alpha");
  // release and expire keep the entry (history) and the hostname.
  m.apply(change(1, LeaseOp::release));
  got = m.find({a.key.data(), a.key_len});
  EXPECT_EQ(got->op, LeaseOp::release);
  EXPECT_EQ(got->hostname_len, 5);
  m.apply(change(1, LeaseOp::expire));
  EXPECT_EQ(m.find({a.key.data(), a.key_len})->op, LeaseOp::expire);
  // commit replaces the hostname, an empty one clears it.
  m.apply(change(1, LeaseOp::commit, "a-much-longer-hostname-than-before-for-another-class"));
  EXPECT_EQ(m.find({a.key.data(), a.key_len})->hostname_len, 52);
  m.apply(change(1, LeaseOp::commit));
  EXPECT_EQ(m.find({a.key.data(), a.key_len})->hostname_len, 0);
  EXPECT_EQ(m.size(), 1u);

  // decline: client entry gone, address in probation (key_len 0, no hostname).
  m.apply(change(2, LeaseOp::commit, "beta"));
  LeaseChange d = change(2, LeaseOp::decline);
  d.expires = 999;
  EXPECT_EQ(m.apply(d), Mirror::Applied::upserted);
  EXPECT_FALSE(m.find({d.key.data(), d.key_len}));
  auto p = m.find_probation(d.address);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->op, LeaseOp::decline);
  EXPECT_EQ(p->key_len, 0);
  EXPECT_EQ(p->hostname_len, 0);
  EXPECT_EQ(p->expires, 999u);
  EXPECT_EQ(m.size(), 2u);
  // expire with key_len 0 ends the probation; again: absent.
  LeaseChange e = change(2, LeaseOp::expire);
  e.key_len = 0;
  EXPECT_EQ(m.apply(e), Mirror::Applied::erased);
  EXPECT_EQ(m.apply(e), Mirror::Applied::absent);
  EXPECT_FALSE(m.find_probation(d.address));
  // decline with key_len 0 (snapshots, tools) creates the probation entry.
  LeaseChange dk = d;
  dk.key_len = 0;
  m.apply(dk);
  EXPECT_TRUE(m.find_probation(d.address));
  // reclaim removes a client entry / a probation entry.
  EXPECT_EQ(m.apply(change(1, LeaseOp::reclaim)), Mirror::Applied::erased);
  EXPECT_FALSE(m.find({a.key.data(), a.key_len}));
  LeaseChange rk = change(2, LeaseOp::reclaim);
  rk.key_len = 0;
  EXPECT_EQ(m.apply(rk), Mirror::Applied::erased);
  EXPECT_EQ(m.size(), 0u);
  // keyless commit/renew/release are ignored.
  for (LeaseOp op : {LeaseOp::commit, LeaseOp::renew, LeaseOp::release}) {
    LeaseChange k = change(3, op);
    k.key_len = 0;
    EXPECT_EQ(m.apply(k), Mirror::Applied::ignored);
  }
  EXPECT_EQ(m.size(), 0u);
}

TEST(Mirror, LongKeysAndRandomAgainstMap) {
  Mirror m;
  std::map<std::string, std::string> ref;
  std::mt19937 rng(7);
  for (int step = 0; step < 200000; ++step) {
    const std::uint32_t id = rng() % 5000;
    LeaseChange c = change(id, (rng() % 4 == 0) ? LeaseOp::reclaim : LeaseOp::commit,
                           std::string(rng() % 64, 'a' + static_cast<char>(id % 26)));
    if (id % 3 == 0) {   // long client-id keys, some longer than the inline 14 bytes
      c.key[0] = dorado::engine::kKeyKindClientId;
      c.key_len = static_cast<std::uint8_t>(15 + id % 146);
      for (std::size_t i = 8; i < c.key_len; ++i) c.key[i] = static_cast<std::uint8_t>(id * i);
    }
    m.apply(c);
    if (c.op == LeaseOp::reclaim)
      ref.erase(key_of(c));
    else
      ref[key_of(c)] = text_of(c);
    if (step % 50000 == 0) {
      ASSERT_EQ(set_of_mirror(m), ref);
    }
  }
  EXPECT_EQ(set_of_mirror(m), ref);
  EXPECT_EQ(m.size(), ref.size());
  for (const auto& [k, v] : ref) {
    const auto f = m.find({reinterpret_cast<const std::uint8_t*>(k.data()), k.size()});
    ASSERT_TRUE(f);
    EXPECT_EQ(text_of(*f), v);
  }
}

// The compact layout (mirror.hpp "Layout"): keys rebuilt from htype and
// chaddr or kept in the side block, and a side block that changes as
// hostnames, DNS flags and option 82 come and go; checked against a model
// of apply()'s contract over every op, with the index growing from its
// smallest size and entries erased and reused all along. Also: entry
// numbers stay stable while other entries come and go.
TEST(Mirror, CompactEntriesAgainstModel) {
  struct Model {
    std::map<std::string, LeaseChange> clients;
    std::map<std::uint32_t, LeaseChange> probation;
  } ref;
  const auto text = [](const LeaseChange& c) {
    const auto relay = dorado::engine::relay_info_of(c);
    return text_of(c) + "/" + std::to_string(c.key_len) + "/" + std::string(relay.begin(), relay.end());
  };
  Mirror m;
  std::mt19937 rng(19);
  const LeaseOp ops[] = {LeaseOp::commit, LeaseOp::renew,   LeaseOp::release,
                         LeaseOp::expire, LeaseOp::decline, LeaseOp::reclaim};
  for (int step = 0; step < 300000; ++step) {
    const std::uint32_t id = rng() % 3000;
    const LeaseOp op = ops[rng() % 6];
    LeaseChange c = change(id, op, rng() % 3 == 0 ? std::string(1 + rng() % 63, 'h') : "");
    c.ddns = c.hostname_len > 0 ? static_cast<std::uint8_t>(rng() % 4) : 0;
    c.start += step;
    switch (id % 5) {
      case 1:   // client-id "htype + MAC": 8 bytes, the same form as the hardware key
        c.key[0] = dorado::engine::kKeyKindClientId;
        break;
      case 2:   // the same client-id with another chaddr (a new NIC) now and then
        c.key[0] = dorado::engine::kKeyKindClientId;
        if (rng() % 2) c.chaddr.b[5] ^= 0x55;
        break;
      case 3:   // a long client-id
        c.key[0] = dorado::engine::kKeyKindClientId;
        c.key_len = static_cast<std::uint8_t>(9 + id % 100);
        for (std::size_t i = 8; i < c.key_len; ++i) c.key[i] = static_cast<std::uint8_t>(id * i);
        break;
      case 4:   // a hardware key whose htype differs from the record's
        c.htype = 6;
        break;
      default:
        break;
    }
    if (rng() % 4 == 0) {   // option 82, up to what fits after the key
      const std::size_t room = std::min<std::size_t>(dorado::engine::kMaxRelayInfoLen,
                                                     dorado::engine::kMaxKeyLen - c.key_len);
      const Bytes relay(1 + rng() % room, static_cast<std::uint8_t>(step));
      dorado::engine::set_relay_info(c, relay);
    }
    if (rng() % 8 == 0) c.key_len = 0;   // records by address
    m.apply(c);
    // The model, as mirror.hpp states apply().
    const std::string key = key_of(c);
    LeaseChange stored = c;
    stored.seq = 0;
    if (c.key_len == 0) {
      if (op == LeaseOp::expire || op == LeaseOp::reclaim) ref.probation.erase(c.address);
      if (op == LeaseOp::decline) {
        stored.hostname_len = 0;
        stored.ddns = 0;
        stored.relay_len = 0;
        ref.probation[c.address] = stored;
      }
    } else if (op == LeaseOp::reclaim) {
      ref.clients.erase(key);
    } else if (op == LeaseOp::decline) {
      ref.clients.erase(key);
      stored.key_len = 0;
      stored.hostname_len = 0;
      stored.ddns = 0;
      stored.relay_len = 0;
      ref.probation[c.address] = stored;
    } else {
      if (c.hostname_len == 0 && op != LeaseOp::commit) {
        if (const auto it = ref.clients.find(key); it != ref.clients.end()) {
          stored.hostname = it->second.hostname;
          stored.hostname_len = it->second.hostname_len;
          stored.ddns = it->second.ddns;
        }
      }
      if (stored.hostname_len == 0) stored.ddns = 0;
      ref.clients[key] = stored;
    }
    if (step % 30000 == 0 || step == 299999) {
      std::map<std::string, std::string> want, got;
      for (const auto& [k, v] : ref.clients) want[k] = text(v);
      for (const auto& [a, v] : ref.probation) want["probation:" + std::to_string(a)] = text(v);
      m.for_each([&](const LeaseChange& l) { got[key_of(l)] = text(l); });
      ASSERT_EQ(got, want) << "step " << step;
      ASSERT_EQ(m.size(), want.size());
      // read() (the hand-over's walk) into a record full of stale bytes
      // gives what lease_at() gives, by the lengths, and false for a free number.
      for (std::uint32_t i = 0; i < m.slot_end(); ++i) {
        LeaseChange r;
        std::memset(static_cast<void*>(&r), 0xA5, sizeof r);
        const auto l = m.lease_at(i);
        ASSERT_EQ(m.read(i, r), l.has_value()) << "entry " << i;
        if (l) {
          ASSERT_EQ(text(r), text(*l)) << "entry " << i;
          ASSERT_EQ(key_of(r), key_of(*l));
          ASSERT_EQ(r.shard, 0);
          ASSERT_EQ(r.seq, 0u);
        }
      }
      LeaseChange untouched{};
      ASSERT_FALSE(m.read(m.slot_end(), untouched));
      for (const auto& [k, v] : ref.clients) {
        const auto f = m.find({reinterpret_cast<const std::uint8_t*>(k.data()), k.size()});
        ASSERT_TRUE(f);
        EXPECT_EQ(text(*f), text(v));
      }
      for (const auto& [a, v] : ref.probation) {
        const auto f = m.find_probation(a);
        ASSERT_TRUE(f);
        EXPECT_EQ(text(*f), text(v));
      }
    }
  }
  // Stable entry numbers: a lease keeps its number while others are
  // erased, added and the index doubles.
  std::map<std::string, std::uint32_t> number;
  for (std::uint32_t i = 0; i < m.slot_end(); ++i)
    if (const auto l = m.lease_at(i)) number[key_of(*l)] = i;
  for (std::uint32_t i = 100000; i < 120000; ++i) m.apply(change(i));
  for (std::uint32_t i = 100000; i < 120000; i += 2) m.apply(change(i, LeaseOp::reclaim));
  for (const auto& [k, i] : number) {
    const auto l = m.lease_at(i);
    ASSERT_TRUE(l);
    EXPECT_EQ(key_of(*l), k);
  }
}

// Recovery's MirrorLoader (applies each record 16 records after prefetching
// its slot): the same mirror as applying in order, when the records of one
// client (commit, reclaim, decline, release, ...) fall inside and across its window.
TEST(Mirror, LoaderAppliesInOrderLikeApply) {
  Mirror direct;
  Mirror loaded;
  MirrorLoader loader(loaded);
  std::mt19937 rng(11);
  const LeaseOp ops[] = {LeaseOp::commit, LeaseOp::renew, LeaseOp::release, LeaseOp::decline,
                         LeaseOp::expire, LeaseOp::reclaim};
  for (int step = 0; step < 100000; ++step) {
    LeaseChange c = change(rng() % 40, ops[rng() % 6], std::string(rng() % 3 == 0 ? 5 : 0, 'h'));
    if (rng() % 10 == 0) c.key_len = 0;   // probation records (decline, expire by address)
    direct.apply(c);
    loader.add(c);
  }
  loader.flush();
  EXPECT_EQ(set_of_mirror(loaded), set_of_mirror(direct));
  EXPECT_EQ(loaded.size(), direct.size());
}

TEST(Mirror, MillionLeasesMemory) {
  Mirror m;
  const std::uint32_t n = 1'000'000;
  for (std::uint32_t i = 0; i < n; ++i) m.apply(change(i, LeaseOp::commit, "host-" + std::to_string(i)));
  ASSERT_EQ(m.size(), n);
  const double per = static_cast<double>(m.memory_bytes()) / n;
  std::printf("mirror: %u leases (8-byte keys, ~11-byte hostnames): %zu bytes, %.1f bytes/lease\n", n,
              m.memory_bytes(), per);
  // 32-byte entry + 8 (index: 2 M 4-byte slots) + a 16-byte side block
  // for the name (docs/operations.md "Memory"); 48-byte entries and 8-byte
  // slots made it 84 (67 without names).
  EXPECT_LT(per, 64.0);
  const LeaseChange probe = change(123456);
  EXPECT_TRUE(m.find({probe.key.data(), probe.key_len}));
  // Without hostnames: no side block, the key rebuilt from htype + chaddr.
  Mirror bare;
  for (std::uint32_t i = 0; i < n; ++i) bare.apply(change(i));
  const double bare_per = static_cast<double>(bare.memory_bytes()) / n;
  std::printf("mirror: %u leases without hostnames: %.1f bytes/lease\n", n, bare_per);
  EXPECT_LT(bare_per, 44.0);
  EXPECT_TRUE(bare.find({probe.key.data(), probe.key_len}));
}

// ---- journal recovery ------------------------------------------------------------------------

TEST(Recovery, EmptyAndMissingDir) {
  TempDir t;
  RecoveryStats st;
  {
    auto s = open_ok(options_for(t.path()), &st);
    EXPECT_EQ(st.leases, 0u);
    EXPECT_EQ(st.last_seq, 0u);
    EXPECT_EQ(st.segments, 0u);
  }
  const std::string nested = t / "a/b/c";
  {
    auto s = open_ok(options_for(nested), &st);
    struct stat sb {};
    ASSERT_EQ(::stat(nested.c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, 0700u);
    EXPECT_TRUE(fs::exists(nested + "/LOCK"));
    EXPECT_TRUE(fs::exists(nested + "/" + segment_file(1)));
  }
  StoreOptions off = options_for(t.path());
  off.durability = Durability::off;
  EXPECT_FALSE(Store::open(off).store);
}

TEST(Recovery, TornAtEveryByteOfLastRecord) {
  const auto changes = clients(1, 6);
  const Image im = segment_image(1, changes);
  const std::size_t last = im.offsets.back();
  const LeaseSet before_last = set_of_changes({changes.begin(), changes.end() - 1});
  for (std::size_t len = last; len < im.bytes.size(); ++len) {
    TempDir t;
    write_bytes(t / segment_file(1), Bytes(im.bytes.begin(), im.bytes.begin() + static_cast<std::ptrdiff_t>(len)));
    RecoveryStats st;
    auto s = open_ok(options_for(t.path()), &st);
    ASSERT_TRUE(s);
    EXPECT_EQ(st.records_replayed, 5u) << len;
    EXPECT_EQ(st.torn, len == last ? 0u : 1u) << len;
    EXPECT_EQ(st.corrupt, 0u) << len;
    EXPECT_EQ(st.last_seq, 5u);
    EXPECT_EQ(st.bytes_cut, len - last);
    EXPECT_EQ(set_of_store(*s), before_last) << len;
    EXPECT_EQ(fs::file_size(t / segment_file(1)), last);
    const std::string tail = t / (segment_file(1) + ".tail-" + std::to_string(last));
    if (len == last) {
      EXPECT_FALSE(fs::exists(tail));
    } else {
      ASSERT_TRUE(fs::exists(tail)) << len;
      EXPECT_EQ(read_bytes(tail), Bytes(im.bytes.begin() + static_cast<std::ptrdiff_t>(last),
                                        im.bytes.begin() + static_cast<std::ptrdiff_t>(len)));
    }
    // The new segment follows the last good record.
    EXPECT_TRUE(fs::exists(t / segment_file(6)));
  }
}

TEST(Recovery, CrcFlipInMiddleRecordKeepsLaterSegments) {
  const auto a = clients(1, 10);
  const auto b = clients(100, 5);
  const Image ia = segment_image(1, a);
  const Image ib = segment_image(11, b);
  std::vector<LeaseChange> expected(a.begin(), a.begin() + 4);
  expected.insert(expected.end(), b.begin(), b.end());
  const LeaseSet want = set_of_changes(expected);
  const std::size_t from = ia.offsets[4], to = ia.offsets[5];
  for (std::size_t at = from; at < to; ++at) {
    TempDir t;
    Bytes bad = ia.bytes;
    bad[at] ^= 0xff;
    write_bytes(t / segment_file(1), bad);
    write_bytes(t / segment_file(11), ib.bytes);
    RecoveryStats st;
    auto s = open_ok(options_for(t.path()), &st);
    ASSERT_TRUE(s);
    EXPECT_EQ(st.corrupt, 1u) << at;
    EXPECT_EQ(st.torn, 0u) << at;
    EXPECT_EQ(st.segments, 2u);
    EXPECT_EQ(st.records_replayed, 9u) << at;
    EXPECT_EQ(st.last_seq, 15u);
    EXPECT_EQ(set_of_store(*s), want) << at;
    EXPECT_EQ(fs::file_size(t / segment_file(1)), from);
    EXPECT_EQ(read_bytes(t / (segment_file(1) + ".tail-" + std::to_string(from))),
              Bytes(bad.begin() + static_cast<std::ptrdiff_t>(from), bad.end()));
  }
}

TEST(Recovery, EmptySegmentsGarbageNamesZeroTail) {
  TempDir t;
  const auto changes = clients(1, 3);
  Image im = segment_image(1, changes);
  im.bytes.insert(im.bytes.end(), 4096, 0);   // zero-filled tail
  write_bytes(t / segment_file(1), im.bytes);
  const auto header_only = encode_file_header({FileKind::segment, 4, 0});
  write_bytes(t / segment_file(4), Bytes(header_only.begin(), header_only.end()));
  write_bytes(t / segment_file(5), {});   // created, crashed before the header
  for (const char* g : {"journal-1.log", "journal-0000000000000001.log.bak", "snapshot-1.snap", "notes.txt"})
    write_bytes(t / g, Bytes(100, 0x55));
  RecoveryStats st;
  auto s = open_ok(options_for(t.path()), &st);
  ASSERT_TRUE(s);
  EXPECT_EQ(st.segments, 3u);
  EXPECT_EQ(st.torn, 2u);   // zero tail; 0-byte segment
  EXPECT_EQ(st.corrupt, 0u);
  EXPECT_EQ(st.records_replayed, 3u);
  EXPECT_EQ(st.last_seq, 3u);
  EXPECT_EQ(st.bytes_cut, 4096u);
  EXPECT_EQ(set_of_store(*s), set_of_changes(changes));
  EXPECT_TRUE(fs::exists(t / (segment_file(1) + ".tail-" + std::to_string(im.offsets.back() + record_size(changes[2])))));
  EXPECT_FALSE(fs::exists(t / segment_file(5)));   // no header: removed
  EXPECT_TRUE(fs::exists(t / "journal-1.log"));     // not ours: untouched
  EXPECT_TRUE(fs::exists(t / "notes.txt"));
  // The new segment replaced the empty header-only one of the same first seq.
  EXPECT_TRUE(fs::exists(t / segment_file(4)));
}

// ---- snapshots --------------------------------------------------------------------------------

struct DirFd {
  int fd;
  explicit DirFd(const std::string& p) : fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY)) {}
  ~DirFd() { ::close(fd); }
};

TEST(Snapshot, RoundTrip) {
  TempDir t;
  Mirror m;
  for (const auto& c : clients(1, 1000)) m.apply(c);
  LeaseChange d = change(5000, LeaseOp::decline);
  m.apply(d);
  DirFd dir(t.path());
  ASSERT_TRUE(write_snapshot(dir.fd, 1234, m).ok());
  EXPECT_EQ(names_in(t.path()), std::vector<std::string>{snapshot_name(1234).data()});
  const LoadedSnapshot l = load_snapshot(dir.fd, snapshot_name(1234).data());
  ASSERT_EQ(l.scan.status, Status::ok) << format_error_name(l.scan.error);
  EXPECT_EQ(l.scan.header.seq, 1234u);
  EXPECT_EQ(l.scan.leases, 1001u);
  EXPECT_EQ(set_of_mirror(l.mirror), set_of_mirror(m));
  // Empty snapshot.
  ASSERT_TRUE(write_snapshot(dir.fd, 1, Mirror{}).ok());
  EXPECT_EQ(load_snapshot(dir.fd, snapshot_name(1).data()).scan.status, Status::ok);
}

// ---- dynamic DNS flags (LeaseChange::ddns) -------------------------------------------

constexpr std::uint8_t kBoth = dorado::engine::kDdnsForward | dorado::engine::kDdnsReverse;

TEST(DdnsFlags, RecordVersionTwoCarriesTheFlagsVersionOneStaysWithout) {
  for (const std::uint8_t flags : {std::uint8_t{0}, dorado::engine::kDdnsForward, dorado::engine::kDdnsReverse, kBoth}) {
    LeaseChange c = change(3, LeaseOp::commit, std::string(63, 'h'));
    c.ddns = flags;
    const Bytes b = encode(9, c);
    EXPECT_EQ(b.size(), record_size(c));   // the flags take no byte
    EXPECT_EQ(b[7], flags == 0 ? kRecordVersion : kRecordVersionDdns);
    EXPECT_EQ(b[19], 63u | flags << 6);
    const DecodedRecord d = decode_record(b);
    ASSERT_EQ(d.status, Status::ok) << format_error_name(d.error);
    EXPECT_EQ(d.change.ddns, flags);
    EXPECT_EQ(d.change.hostname_len, 63u);
    EXPECT_EQ(text_of(d.change), text_of(c));
  }
}

TEST(DdnsFlags, VersionOneRecordsDecodeWithoutFlagsAndOddVersionTwoIsCorrupt) {
  // A record as dorado wrote it before version 2 (its bytes spelled out).
  const LeaseChange c = change(4, LeaseOp::renew, "laptop");
  Bytes v1(kRecordMinSize + 8 + 6, 0);
  v1[4] = static_cast<std::uint8_t>(v1.size() - kRecordHeaderSize);
  v1[6] = 1;
  v1[7] = 1;
  v1[8] = 4;
  v1[16] = static_cast<std::uint8_t>(LeaseOp::renew);
  v1[17] = 1;
  v1[18] = 8;
  v1[19] = 6;
  v1[20] = 7;
  for (int i = 0; i < 4; ++i) {
    v1[24 + i] = static_cast<std::uint8_t>(c.address >> (8 * i));
    v1[28 + i] = static_cast<std::uint8_t>(c.start >> (8 * i));
    v1[32 + i] = static_cast<std::uint8_t>(c.expires >> (8 * i));
  }
  std::memcpy(v1.data() + 36, c.chaddr.b.data(), 6);
  std::memcpy(v1.data() + kRecordMinSize, c.key.data(), 8);
  std::memcpy(v1.data() + kRecordMinSize + 8, "laptop", 6);
  resign(v1);
  const DecodedRecord d = decode_record(v1);
  ASSERT_EQ(d.status, Status::ok) << format_error_name(d.error);
  EXPECT_EQ(d.change.ddns, 0u);
  EXPECT_EQ(text_of(d.change), text_of(c));
  EXPECT_EQ(encode(4, d.change), v1);   // and written again the same way

  // Version 1 with the top bits set: a hostname_len over 63, as before.
  Bytes bad = v1;
  bad[19] |= 0x80;
  resign(bad);
  EXPECT_EQ(decode_record(bad).error, FormatError::hostname_too_long);
  // Version 2 without flags is never written: corrupt.
  bad = v1;
  bad[7] = kRecordVersionDdns;
  resign(bad);
  EXPECT_EQ(decode_record(bad).error, FormatError::bad_version);
  bad[7] = 4;   // (3 is the option 82 version: tests/store_relay_test.cpp)
  resign(bad);
  EXPECT_EQ(decode_record(bad).error, FormatError::bad_version);
}

TEST(DdnsFlags, MirrorKeepsTheFlagsWithTheNameUntilACommitChangesThem) {
  Mirror m;
  LeaseChange c = change(1, LeaseOp::commit, "laptop");
  c.ddns = kBoth;
  m.apply(c);
  const std::span<const std::uint8_t> key{c.key.data(), c.key_len};
  for (const LeaseOp op : {LeaseOp::renew, LeaseOp::release, LeaseOp::expire}) {
    LeaseChange r = change(1, op);   // no hostname, no flags
    r.expires += 100;
    m.apply(r);
    const auto got = m.find(key);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->op, op);
    EXPECT_EQ(std::string(got->hostname.data(), got->hostname_len), "laptop");
    EXPECT_EQ(got->ddns, kBoth);
  }
  // A commit replaces name and flags (same size class: the block is reused).
  LeaseChange again = change(1, LeaseOp::commit, "desk");
  again.ddns = dorado::engine::kDdnsReverse;
  m.apply(again);
  EXPECT_EQ(m.find(key)->ddns, dorado::engine::kDdnsReverse);
  // A commit without a name clears both.
  m.apply(change(1, LeaseOp::commit));
  EXPECT_EQ(m.find(key)->hostname_len, 0u);
  EXPECT_EQ(m.find(key)->ddns, 0u);
  // A decline leaves a probation entry: no name, no flags.
  m.apply(again);
  m.apply(change(1, LeaseOp::decline));
  EXPECT_EQ(m.find_probation(again.address)->ddns, 0u);
}

TEST(DdnsFlags, SnapshotAndJournalReplayKeepTheFlags) {
  TempDir t;
  Mirror m;
  std::vector<LeaseChange> all;
  for (std::uint32_t i = 1; i <= 200; ++i) {
    LeaseChange c = change(i, LeaseOp::commit, i % 3 == 0 ? "" : "host" + std::to_string(i));
    if (c.hostname_len != 0) c.ddns = static_cast<std::uint8_t>(i % 4);
    all.push_back(c);
    if (i % 5 == 0) all.push_back(change(i, LeaseOp::renew));
  }
  for (const auto& c : all) m.apply(c);
  std::size_t flagged = 0;
  m.for_each([&](const LeaseChange& c) { flagged += c.ddns != 0; });
  EXPECT_EQ(flagged, 100u);   // i % 3 != 0 and i % 4 != 0
  DirFd dir(t.path());
  ASSERT_TRUE(write_snapshot(dir.fd, 77, m).ok());
  const LoadedSnapshot l = load_snapshot(dir.fd, snapshot_name(77).data());
  ASSERT_EQ(l.scan.status, Status::ok) << format_error_name(l.scan.error);
  EXPECT_EQ(set_of_mirror(l.mirror), set_of_mirror(m));
  // The same records replayed from a journal segment.
  TempDir j;
  write_bytes(j / segment_file(1), segment_image(1, all).bytes);
  auto st = open_ok(options_for(j.path()));
  ASSERT_TRUE(st);
  EXPECT_EQ(set_of_store(*st), set_of_mirror(m));
}

// Snapshot A (seq 5) and segment 1..10 in place; a newer snapshot B (seq 10)
// that does not validate must fall back to A + the journal.
void expect_fallback(const std::function<void(Bytes&)>& damage) {
  TempDir t;
  const auto changes = clients(1, 10);
  DirFd dir(t.path());
  ASSERT_TRUE(write_snapshot(dir.fd, 5, [&] {
                Mirror m;
                for (int i = 0; i < 5; ++i) m.apply(changes[i]);
                return m;
              }()).ok());
  Mirror all;
  for (const auto& c : changes) all.apply(c);
  ASSERT_TRUE(write_snapshot(dir.fd, 10, all).ok());
  const std::string b = t / snapshot_name(10).data();
  Bytes bytes = read_bytes(b);
  damage(bytes);
  write_bytes(b, bytes);
  write_bytes(t / segment_file(1), segment_image(1, changes).bytes);
  RecoveryStats st;
  auto s = open_ok(options_for(t.path()), &st);
  ASSERT_TRUE(s);
  EXPECT_EQ(st.snapshots_rejected, 1u);
  EXPECT_EQ(st.snapshot, snapshot_name(5).data());
  EXPECT_EQ(st.snapshot_leases, 5u);
  EXPECT_EQ(st.records_skipped, 5u);
  EXPECT_EQ(st.records_replayed, 5u);
  EXPECT_EQ(st.last_seq, 10u);
  EXPECT_EQ(set_of_store(*s), set_of_changes(changes));
}

TEST(Snapshot, CorruptNewestFallsBackToOlderPlusJournal) {
  expect_fallback([](Bytes& b) { b[kFileHeaderSize + 30] ^= 1; });   // a record byte
  expect_fallback([](Bytes& b) { b[b.size() - 10] ^= 1; });          // the trailer
  expect_fallback([](Bytes& b) { b[3] ^= 1; });                      // the header
}

TEST(Snapshot, TruncatedRejected) {
  for (const std::size_t keep : {std::size_t{0}, std::size_t{20}, std::size_t{100}, std::size_t{300}})
    expect_fallback([keep](Bytes& b) {
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size() - 1, keep)), b.end());
    });
  expect_fallback([](Bytes& b) { b.pop_back(); });
}

// ---- store ---------------------------------------------------------------------------------------

TEST(Store, TakeTickCommitDurablePerWorker) {
  TempDir t;
  StoreOptions o = options_for(t.path());
  o.commit_interval_us = 1000;
  o.commit_records = 100;
  auto s = open_ok(o);
  std::vector<LeaseChange> w0 = clients(1, 3), w1 = clients(100, 2);
  w0[0].seq = 1, w0[1].seq = 2, w0[2].seq = 3;
  w1[0].seq = 41, w1[1].seq = 42;
  s->take(0, w0);
  s->take(1, w1);
  EXPECT_EQ(s->durable_shard_seq(0), 0u);
  EXPECT_EQ(s->counters().pending_records, 5u);
  EXPECT_EQ(s->tick(1'000'000), "");   // first tick: due
  EXPECT_EQ(s->durable_shard_seq(0), 3u);
  EXPECT_EQ(s->durable_shard_seq(1), 42u);
  EXPECT_EQ(s->durable_shard_seq(7), 0u);   // no such worker
  EXPECT_EQ(s->counters().commits, 1u);
  EXPECT_EQ(s->counters().pending_records, 0u);
  // Not due before commit_interval_us ...
  LeaseChange more = change(200);
  more.seq = 4;
  s->take(0, {&more, 1});
  s->tick(1'000'500);
  EXPECT_EQ(s->durable_shard_seq(0), 3u);
  s->tick(1'001'000);
  EXPECT_EQ(s->durable_shard_seq(0), 4u);
  // ... unless commit_records are buffered.
  auto many = clients(1000, 100);
  for (std::uint32_t i = 0; i < many.size(); ++i) many[i].seq = 5 + i;
  s->take(0, many);
  s->tick(1'001'001);
  EXPECT_EQ(s->durable_shard_seq(0), 104u);
  const StoreCounters c = s->counters();
  EXPECT_EQ(c.records, 106u);
  EXPECT_EQ(c.commits, 3u);
  EXPECT_EQ(c.leases, 106u);
  EXPECT_EQ(c.write_errors, 0u);
  EXPECT_GT(c.bytes, 106u * kRecordMinSize);
  EXPECT_TRUE(s->writable());
  EXPECT_GT(s->memory_bytes(), 0u);
  // An op out of range is dropped and counted.
  LeaseChange junk = change(9999);
  junk.op = static_cast<LeaseOp>(0);
  s->take(0, {&junk, 1});
  EXPECT_EQ(s->counters().records_invalid, 1u);
  EXPECT_EQ(s->lease_count(), 106u);
}

TEST(Store, AsyncModeDurableAtOnce) {
  TempDir t;
  StoreOptions o = options_for(t.path());
  o.durability = Durability::async;
  LeaseSet want;
  {
    auto s = open_ok(o);
    auto v = clients(1, 10);
    for (std::uint32_t i = 0; i < v.size(); ++i) v[i].seq = i + 1;
    s->take(1, v);
    EXPECT_EQ(s->durable_shard_seq(1), 10u);
    s->tick(5'000'000);
    EXPECT_EQ(s->counters().commits, 1u);
    want = set_of_store(*s);
    EXPECT_EQ(s->close(false), "");
  }
  RecoveryStats st;
  auto s = open_ok(o, &st);
  EXPECT_EQ(st.records_replayed, 10u);
  EXPECT_EQ(set_of_store(*s), want);
}

// A realistic mixed workload for worker w: commits, renewals, releases,
// declines, probation ends, reclaims.
std::vector<LeaseChange> workload(std::mt19937& rng, std::uint32_t n, std::uint32_t clients_max) {
  std::vector<LeaseChange> v;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t id = rng() % clients_max;
    const std::uint32_t r = rng() % 100;
    LeaseChange c;
    if (r < 50) c = change(id, LeaseOp::commit, 'h' + std::to_string(id));
    else if (r < 75) c = change(id, LeaseOp::renew);
    else if (r < 82) c = change(id, LeaseOp::release);
    else if (r < 88) c = change(id, LeaseOp::expire);
    else if (r < 92) c = change(id, LeaseOp::decline);
    else if (r < 96) { c = change(id, LeaseOp::expire); c.key_len = 0; }
    else c = change(id, LeaseOp::reclaim);
    c.expires += i;
    v.push_back(c);
  }
  return v;
}

TEST(Store, ReopenGivesIdenticalLeases) {
  TempDir t;
  StoreOptions o = options_for(t.path());
  o.segment_bytes = 4096;   // several segments
  std::mt19937 rng(3);
  LeaseSet want;
  std::uint64_t now = 1'000'000;
  {
    auto s = open_ok(o);
    for (int round = 0; round < 50; ++round) {
      s->take(round % 2, workload(rng, 40, 300));
      s->tick(now += 2000);
    }
    want = set_of_store(*s);
    EXPECT_EQ(s->close(false), "");
  }
  EXPECT_GT(names_like(t.path(), "journal-").size(), 5u);
  RecoveryStats st;
  {
    auto s = open_ok(o, &st);
    EXPECT_EQ(st.records_replayed, 2000u);
    EXPECT_EQ(st.last_seq, 2000u);
    EXPECT_EQ(st.torn + st.corrupt, 0u);
    EXPECT_EQ(set_of_store(*s), want);
    // Close with a snapshot: the next start replays nothing.
    EXPECT_EQ(s->close(true), "");
  }
  EXPECT_EQ(names_like(t.path(), "journal-").size(), 0u);
  auto s = open_ok(o, &st);
  EXPECT_EQ(st.records_replayed, 0u);
  EXPECT_EQ(st.snapshot_seq, 2000u);
  EXPECT_EQ(st.last_seq, 2000u);
  EXPECT_EQ(set_of_store(*s), want);
  // read_store sees the same (after this store is gone: it takes the lock).
  s.reset();
  LeaseSet seen;
  RecoveryStats rs;
  EXPECT_EQ(read_store(t.path(), [&](const StoredLease& l) { seen[key_of(l)] = text_of(l); }, &rs), "");
  EXPECT_EQ(seen, want);
}

// Ticks until the running snapshot completes (the writer thread is real).
void run_snapshot(Store& s, std::uint64_t& now, std::uint64_t before) {
  for (int i = 0; i < 20000 && s.counters().snapshots + s.counters().snapshot_errors == before; ++i) {
    s.tick(now += 200);
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

TEST(Store, SnapshotDeletesCoveredSegments) {
  TempDir t;
  StoreOptions o = options_for(t.path());
  o.segment_bytes = 2048;
  o.snapshot_records = 500;
  std::mt19937 rng(5);
  std::uint64_t now = 1'000'000;
  LeaseSet want;
  {
    auto s = open_ok(o);
    for (int round = 0; round < 12; ++round) {
      s->take(0, workload(rng, 50, 400));
      s->tick(now += 2000);
    }
    run_snapshot(*s, now, 0);
    const StoreCounters c = s->counters();
    EXPECT_EQ(c.snapshots, 1u);
    EXPECT_GT(c.segments_deleted, 0u);
    EXPECT_EQ(names_like(t.path(), "snapshot-").size(), 1u);
    EXPECT_EQ(names_like(t.path(), ".tmp").size(), 0u);
    for (int round = 0; round < 3; ++round) {
      s->take(0, workload(rng, 50, 400));
      s->tick(now += 2000);
    }
    want = set_of_store(*s);
    EXPECT_EQ(s->close(false), "");
  }
  RecoveryStats st;
  auto s = open_ok(o, &st);
  EXPECT_FALSE(st.snapshot.empty());
  EXPECT_EQ(st.last_seq, 750u);
  EXPECT_EQ(set_of_store(*s), want);
}

// Fuzzy snapshot: take() and ticks interleave with the snapshot walk; records
// after S fix whatever the walk saw. Reopen must equal the live mirror.
TEST(Store, FuzzySnapshotWhileTaking) {
  TempDir t;
  StoreOptions o = options_for(t.path());
  o.segment_bytes = 64 << 10;
  o.snapshot_records = 60000;
  std::mt19937 rng(9);
  std::uint64_t now = 1'000'000;
  LeaseSet want;
  {
    auto s = open_ok(o);
    // 60000 records over 50000 clients: the walk takes a few ticks (16384 entries each).
    for (int round = 0; round < 60; ++round) {
      s->take(round % 2, workload(rng, 1000, 50000));
      s->tick(now += 2000);
    }
    // The snapshot started on the last tick; keep changing leases while it runs.
    int rounds_during = 0;
    while (s->counters().snapshots == 0 && rounds_during < 20000) {
      s->take(0, workload(rng, 200, 50000));
      s->tick(now += 300);
      ++rounds_during;
    }
    EXPECT_GT(rounds_during, 1);
    EXPECT_EQ(s->counters().snapshots, 1u);
    EXPECT_EQ(s->counters().snapshot_errors, 0u);
    for (int round = 0; round < 5; ++round) {
      s->take(1, workload(rng, 500, 50000));
      s->tick(now += 2000);
    }
    want = set_of_store(*s);
    EXPECT_EQ(s->close(false), "");
  }
  RecoveryStats st;
  auto s = open_ok(o, &st);
  EXPECT_FALSE(st.snapshot.empty());
  EXPECT_GT(st.records_skipped + st.records_replayed, 0u);
  EXPECT_EQ(set_of_store(*s), want);
}

TEST(Store, SecondOpenIsLocked) {
  TempDir t;
  auto s = open_ok(options_for(t.path()));
  const Store::Opened again = Store::open(options_for(t.path()));
  EXPECT_FALSE(again.store);
  EXPECT_EQ(again.error, "store " + t.path() + ": locked by another process");
  EXPECT_NE(read_store(t.path(), [](const StoredLease&) {}).find("locked"), std::string::npos);
  s.reset();
  EXPECT_TRUE(Store::open(options_for(t.path())).store);
}

TEST(Store, WriteStoreReplacesContent) {
  TempDir t;
  {
    auto s = open_ok(options_for(t.path()));
    s->take(0, clients(1, 20));
    s->tick(1'000'000);
  }
  std::vector<StoredLease> leases = clients(500, 3);
  LeaseChange p = change(900, LeaseOp::decline);
  p.key_len = 0;
  leases.push_back(p);
  EXPECT_EQ(write_store(t.path(), leases), "");
  EXPECT_EQ(names_like(t.path(), "journal-").size(), 0u);
  LeaseSet seen;
  RecoveryStats st;
  EXPECT_EQ(read_store(t.path(), [&](const StoredLease& l) { seen[key_of(l)] = text_of(l); }, &st), "");
  EXPECT_EQ(seen, set_of_changes(leases));
  EXPECT_EQ(st.snapshot_seq, 21u);
  // The store goes on from there.
  RecoveryStats os;
  auto s = open_ok(options_for(t.path()), &os);
  EXPECT_EQ(os.last_seq, 21u);
  EXPECT_EQ(s->lease_count(), 4u);
}

// ---- write errors ----------------------------------------------------------------------------------

// Limits the size of any file this process writes (EFBIG past it), as a
// full disk would; restored on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    set(bytes);
  }
  ~FileSizeLimit() { ::setrlimit(RLIMIT_FSIZE, &saved_); }
  void set(rlim_t bytes) {
    rlimit l = saved_;
    l.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &l);
  }
  void lift() { ::setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  rlimit saved_{};
};

TEST(Store, WriteFailureThenRecovery) {
  TempDir t;
  StoreOptions o = options_for(t.path());
  LeaseSet want;
  {
    auto s = open_ok(o);
    auto first = clients(1, 10);
    for (std::uint32_t i = 0; i < first.size(); ++i) first[i].seq = i + 1;
    s->take(0, first);
    s->tick(1'000'000);
    ASSERT_EQ(s->durable_shard_seq(0), 10u);
    const std::uint64_t good_size = fs::file_size(t / segment_file(1));

    FileSizeLimit limit(good_size + 100);   // the next batch fits partly
    auto second = clients(100, 50);
    for (std::uint32_t i = 0; i < second.size(); ++i) second[i].seq = 11 + i;
    s->take(0, second);
    const std::string msg = s->tick(2'000'000);
    EXPECT_NE(msg.find("File too large"), std::string::npos) << msg;
    EXPECT_NE(msg.find(segment_file(1)), std::string::npos) << msg;
    EXPECT_FALSE(s->writable());
    EXPECT_EQ(s->durable_shard_seq(0), 10u);
    EXPECT_EQ(s->counters().write_errors, 1u);
    EXPECT_EQ(s->counters().pending_records, 50u);
    // Cut back to the last durable byte: nothing partial on disk.
    EXPECT_EQ(fs::file_size(t / segment_file(1)), good_size);
    {
      const Bytes disk = read_bytes(t / segment_file(1));
      const SegmentScan scan = scan_segment(disk, [](const DecodedRecord&) {});
      EXPECT_EQ(scan.records.status, Status::end);
      EXPECT_EQ(scan.records.records, 10u);
    }
    // No retry before 100 ms; retries fail quietly within the second.
    EXPECT_EQ(s->tick(2'050'000), "");
    EXPECT_EQ(s->counters().write_errors, 1u);
    EXPECT_EQ(s->tick(2'200'000), "");
    EXPECT_EQ(s->counters().write_errors, 2u);
    EXPECT_NE(s->tick(3'300'000), "");   // a second later: logged again
    EXPECT_FALSE(s->writable());

    limit.lift();   // space returns
    const std::string back = s->tick(3'500'000);
    EXPECT_NE(back.find("writes succeed again after 3 failure(s)"), std::string::npos) << back;
    EXPECT_TRUE(s->writable());
    EXPECT_EQ(s->durable_shard_seq(0), 60u);
    EXPECT_EQ(s->counters().pending_records, 0u);
    want = set_of_store(*s);
    EXPECT_EQ(s->close(false), "");
  }
  RecoveryStats st;
  auto s = open_ok(o, &st);
  EXPECT_EQ(st.records_replayed, 60u);
  EXPECT_EQ(st.torn + st.corrupt, 0u);
  EXPECT_EQ(set_of_store(*s), want);
}

TEST(Store, SnapshotWriteFailureKeepsJournal) {
  TempDir t;
  StoreOptions o = options_for(t.path());
  o.segment_bytes = 8192;
  o.snapshot_records = 2500;
  std::uint64_t now = 1'000'000;
  LeaseSet want;
  {
    auto s = open_ok(o);
    std::vector<std::string> segments_before;
    {
      FileSizeLimit limit(64 << 10);   // segments fit, the ~150 KiB snapshot does not
      for (std::uint32_t round = 0; round < 10; ++round) {
        s->take(0, clients(round * 300, 300));
        s->tick(now += 2000);
      }
      run_snapshot(*s, now, 0);
      EXPECT_EQ(s->counters().snapshot_errors, 1u);
      EXPECT_EQ(s->counters().snapshots, 0u);
      EXPECT_EQ(s->counters().segments_deleted, 0u);
      EXPECT_EQ(s->counters().write_errors, 0u);
      EXPECT_EQ(names_like(t.path(), "snapshot-").size(), 0u);   // no .tmp left either
      segments_before = names_like(t.path(), "journal-");
      EXPECT_GE(segments_before.size(), 10u);
    }
    // Retried 10 s later, now with room.
    s->tick(now += 1'000'000);
    EXPECT_EQ(s->counters().snapshots, 0u);
    now += 10'000'000;
    run_snapshot(*s, now, 1);
    EXPECT_EQ(s->counters().snapshots, 1u);
    EXPECT_GT(s->counters().segments_deleted, 0u);
    want = set_of_store(*s);
    EXPECT_EQ(s->close(false), "");
  }
  RecoveryStats st;
  auto s = open_ok(o, &st);
  EXPECT_FALSE(st.snapshot.empty());
  EXPECT_EQ(set_of_store(*s), want);
}

}  // namespace

// ---- for HA replication: journal id, tap, read_journal ---------------------------------

namespace {

TEST(StoreHa, JournalIdIsKeptAcrossRestartsAndNewForANewDirectory) {
  TempDir t, u;
  std::uint64_t id = 0;
  {
    auto s = open_ok(options_for(t.path()));
    id = s->journal_id();
    EXPECT_NE(id, 0u);
    EXPECT_EQ(s->close(false), "");
  }
  auto again = open_ok(options_for(t.path()));
  EXPECT_EQ(again->journal_id(), id);
  auto other = open_ok(options_for(u.path()));
  EXPECT_NE(other->journal_id(), id);
}

TEST(StoreHa, TapSeesEveryRecordWithItsSeqAndBytes) {
  TempDir t;
  auto s = open_ok(options_for(t.path()));
  std::vector<std::uint64_t> seqs;
  std::vector<unsigned> workers;
  s->set_tap([&](unsigned w, std::uint64_t seq, const LeaseChange& c, std::span<const std::uint8_t> rec) {
    seqs.push_back(seq);
    workers.push_back(w);
    const DecodedRecord d = decode_record(rec);
    EXPECT_EQ(d.status, Status::ok);
    EXPECT_EQ(d.seq, seq);
    EXPECT_EQ(d.size, rec.size());
    EXPECT_EQ(text_of(d.change), text_of(c));
  });
  s->take(0, clients(1, 3));
  s->take(1, clients(10, 2));
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(workers, (std::vector<unsigned>{0, 0, 0, 1, 1}));
  EXPECT_EQ(s->last_seq(), 5u);
  EXPECT_EQ(s->durable_seq(), 0u);   // nothing committed yet
  s->tick(10'000'000);
  EXPECT_EQ(s->durable_seq(), 5u);
}

// Reads the whole tail after `after` in pages of `page` bytes.
std::vector<std::uint64_t> tail_seqs(Store& s, std::uint64_t after, std::size_t page, Store::TailStatus* end) {
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 100000; ++i) {
    Bytes out;
    std::uint64_t last = after;
    const Store::TailStatus st = s.read_journal(after, page, out, last);
    if (st != Store::TailStatus::ok) {
      *end = st;
      return seqs;
    }
    std::size_t off = 0;
    while (off < out.size()) {
      const DecodedRecord d = decode_record({out.data() + off, out.size() - off});
      EXPECT_EQ(d.status, Status::ok);
      if (d.status != Status::ok) break;
      seqs.push_back(d.seq);
      off += d.size;
    }
    EXPECT_GT(last, after);
    after = last;
  }
  *end = Store::TailStatus::error;
  return seqs;
}

TEST(StoreHa, ReadJournalPagesThroughSegmentsThenGoneAfterASnapshot) {
  TempDir t;
  StoreOptions o = options_for(t.path());
  o.segment_bytes = 2048;        // many segments
  o.snapshot_records = 405;      // a snapshot starts once 405 records were taken
  auto s = open_ok(o);
  std::uint64_t now = 1'000'000;
  for (std::uint32_t round = 0; round < 10; ++round) {
    s->take(0, clients(round * 40, 40));
    s->tick(now += 2000);
  }
  ASSERT_EQ(s->durable_seq(), 400u);
  EXPECT_GT(names_like(t.path(), "journal-").size(), 5u);
  for (std::uint64_t after : {0u, 1u, 57u, 399u}) {
    for (std::size_t page : {std::size_t{1}, std::size_t{300}, std::size_t{1} << 20}) {
      Store::TailStatus end{};
      const std::vector<std::uint64_t> got = tail_seqs(*s, after, page, &end);
      EXPECT_EQ(end, Store::TailStatus::end);
      ASSERT_EQ(got.size(), 400 - after) << after << " " << page;
      for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], after + 1 + i);
    }
  }
  // Records not yet durable are not read.
  s->take(0, clients(1000, 5));
  Bytes out;
  std::uint64_t last = 400;
  EXPECT_EQ(s->read_journal(400, 1 << 20, out, last), Store::TailStatus::end);
  s->tick(now += 2000);
  EXPECT_EQ(s->read_journal(400, 1 << 20, out, last), Store::TailStatus::ok);
  EXPECT_EQ(last, 405u);
  // A snapshot deletes the segments it covers: the old tail is gone, the
  // new one (after the snapshot) is still there.
  run_snapshot(*s, now += 2000, 0);
  ASSERT_GT(s->counters().segments_deleted, 0u);
  out.clear();
  EXPECT_EQ(s->read_journal(10, 1 << 20, out, last), Store::TailStatus::gone);
  s->take(0, clients(2000, 3));
  s->tick(now += 2000);
  Store::TailStatus end{};
  const std::vector<std::uint64_t> after_snap = tail_seqs(*s, 405, 1 << 20, &end);
  EXPECT_EQ(after_snap, (std::vector<std::uint64_t>{406, 407, 408}));
}

}  // namespace
