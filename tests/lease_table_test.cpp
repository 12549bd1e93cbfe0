// LeaseTable: key index, key/hostname stores, timer wheel, inactive FIFO.
#include "engine/lease_table.hpp"
#include "engine/reserved.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace dorado::engine {
namespace {

ClientKey key_for(std::uint32_t n, std::size_t id_len = 0) {
  if (id_len == 0) {
    std::uint8_t mac[6] = {0x02, 0, static_cast<std::uint8_t>(n >> 24),
                           static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                           static_cast<std::uint8_t>(n)};
    return client_key_hw(1, wire::Bytes{mac, 6});
  }
  std::vector<std::uint8_t> id(id_len, 0xab);
  std::memcpy(id.data(), &n, sizeof n);
  return client_key_id(wire::Bytes{id});
}

LeaseTableSizes sizes(std::uint32_t capacity, std::uint8_t wheel_bits = 8) {
  LeaseTableSizes s;
  s.capacity = capacity;
  s.hostname_capacity = capacity;
  s.long_key_capacity = 4;
  s.wheel_bits = wheel_bits;
  return s;
}

// A record must have a non-unused state to count as in use for audit().
std::uint32_t add(LeaseTable& t, const ClientKey& k) {
  const Inserted ins = t.insert(k);
  EXPECT_EQ(ins.error, InsertError::ok);
  if (ins.index != kNil) t.at(ins.index).state = LeaseState::active;
  return ins.index;
}

TEST(LeaseTable, LeaseRecordIsOneCacheLine) {
  EXPECT_EQ(sizeof(Lease), 64u);
  EXPECT_EQ(alignof(Lease), 64u);
}

TEST(LeaseTable, InsertFindErase) {
  LeaseTable t(sizes(16));
  const ClientKey a = key_for(1), b = key_for(2);
  EXPECT_EQ(t.find(a), kNil);
  const std::uint32_t ia = add(t, a);
  const std::uint32_t ib = add(t, b);
  EXPECT_NE(ia, ib);
  EXPECT_EQ(t.find(a), ia);
  EXPECT_EQ(t.find(b), ib);
  EXPECT_EQ(t.size(), 2u);
  const wire::Bytes k = t.key(ia);
  EXPECT_TRUE(std::equal(k.begin(), k.end(), a.view().begin(), a.view().end()));
  t.erase(ia);
  EXPECT_EQ(t.find(a), kNil);
  EXPECT_EQ(t.find(b), ib);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.audit(), "");
}

// The key as the bytes it is defined by, hashed as first written: each
// 8-byte group copied into a zeroed word.
std::uint64_t reference_hash(const std::vector<std::uint8_t>& key) {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull;
  auto mix = [](std::uint64_t a, std::uint64_t b) {
    const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
    return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
  };
  std::uint64_t h = mix(k0 ^ key.size(), k1);
  std::size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, key.data() + i, 8);
    h = mix(h ^ w, k1 ^ i);
  }
  if (i < key.size()) {
    std::uint64_t w = 0;
    std::memcpy(&w, key.data() + i, key.size() - i);
    h = mix(h ^ w, k0 ^ i);
  }
  return mix(h, k0 ^ k1);
}

void expect_key(const ClientKey& k, const std::vector<std::uint8_t>& bytes, const std::string& what) {
  ASSERT_EQ(k.len, bytes.size()) << what;
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), k.view().begin())) << what;
  EXPECT_EQ(k.hash, reference_hash(bytes)) << what;
  EXPECT_EQ(k.hash, hash_key_bytes(wire::Bytes{bytes})) << what;
}

TEST(ClientKey, BuiltFromWordsAsDefinedByItsBytes) {
  // Short keys are assembled in registers (client_key.hpp); every length
  // must give the bytes and the hash of the byte-wise definition. Each
  // source is a buffer of exactly its length, so a read past it is an ASan
  // error.
  std::mt19937 rng(7);
  for (std::size_t n = 0; n <= 16; ++n) {
    for (int round = 0; round < 20; ++round) {
      std::vector<std::uint8_t> chaddr(n);
      for (auto& b : chaddr) b = static_cast<std::uint8_t>(rng());
      const auto htype = static_cast<std::uint8_t>(rng());
      std::vector<std::uint8_t> want{kKeyKindHw, htype};
      want.insert(want.end(), chaddr.begin(), chaddr.end());
      expect_key(client_key_hw(htype, wire::Bytes{chaddr}), want, "chaddr of " + std::to_string(n));
    }
  }
  for (std::size_t n = 1; n <= kMaxKeyLen - 1; ++n) {
    for (int round = 0; round < 5; ++round) {
      std::vector<std::uint8_t> id(n);
      for (auto& b : id) b = static_cast<std::uint8_t>(rng());
      std::vector<std::uint8_t> want{kKeyKindClientId};
      want.insert(want.end(), id.begin(), id.end());
      expect_key(client_key_id(wire::Bytes{id}), want, "client-id of " + std::to_string(n));
    }
  }
  EXPECT_EQ(client_key_id(wire::Bytes{}).len, 0);
  const std::vector<std::uint8_t> too_long(kMaxKeyLen);
  EXPECT_EQ(client_key_id(wire::Bytes{too_long}).len, 0);
}

TEST(ClientKey, HashesAreStableAcrossVersions) {
  // The hash picks the owning shard and the index slot; these values were
  // computed by the byte-wise code this replaced.
  const std::uint8_t mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
  EXPECT_EQ(client_key_hw(1, wire::Bytes{mac, 6}).hash, 0x0bdb44ad3431c8edull);
  std::uint8_t id[40];
  for (int i = 0; i < 40; ++i) id[i] = static_cast<std::uint8_t>(i * 7 + 1);
  EXPECT_EQ(client_key_id(wire::Bytes{id, 1}).hash, 0x5e07159907d246d2ull);
  EXPECT_EQ(client_key_id(wire::Bytes{id, 7}).hash, 0x014c268e74e4e9d5ull);
  EXPECT_EQ(client_key_id(wire::Bytes{id, 23}).hash, 0xa6e389ed086c4dbdull);
  EXPECT_EQ(client_key_id(wire::Bytes{id, 24}).hash, 0x93323e63eb04d74full);
  EXPECT_EQ(client_key_id(wire::Bytes{id, 40}).hash, 0x5dabf23f7960e99aull);
}

TEST(LeaseTable, HardwareAndClientIdKeysNeverCollide) {
  // Same bytes after the kind byte must still be different keys.
  const std::uint8_t raw[7] = {1, 0x02, 0, 0, 0, 0, 1};
  const ClientKey hw = client_key_hw(raw[0], wire::Bytes{raw + 1, 6});
  const ClientKey id = client_key_id(wire::Bytes{raw, 7});
  LeaseTable t(sizes(4));
  const std::uint32_t i = add(t, hw);
  EXPECT_EQ(t.find(id), kNil);
  EXPECT_EQ(t.find(hw), i);
}

TEST(LeaseTable, KeysWithTheSameHashAreToldApartByEveryByte) {
  // The index compares hashes first; equal hashes fall to the key bytes.
  // Forced equal hashes: keys of 8 bytes (the word compare) and of 7 and 12
  // (memcmp) that differ in one byte each must all be distinct records.
  for (const std::size_t len : {7u, 8u, 12u}) {
    LeaseTable t(sizes(64));
    ClientKey base;
    base.len = static_cast<std::uint8_t>(len);
    base.hash = 0x5eed;
    for (std::size_t i = 0; i < len; ++i) base.bytes[i] = static_cast<std::uint8_t>(0x10 + i);
    const std::uint32_t ib = add(t, base);
    std::vector<std::uint32_t> seen{ib};
    for (std::size_t at = 0; at < len; ++at) {
      ClientKey k = base;
      k.bytes[at] ^= 0x80;
      EXPECT_EQ(t.find(k), kNil) << "len " << len << " byte " << at;
      const std::uint32_t ik = add(t, k);
      EXPECT_EQ(t.find(k), ik);
      seen.push_back(ik);
    }
    EXPECT_EQ(t.find(base), ib);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
    // (no audit(): it rightly flags the forced hashes)
  }
}

TEST(LeaseTable, FullTableIsARefusal) {
  LeaseTable t(sizes(3));
  for (std::uint32_t n = 0; n < 3; ++n) add(t, key_for(n));
  const Inserted ins = t.insert(key_for(99));
  EXPECT_EQ(ins.index, kNil);
  EXPECT_EQ(ins.error, InsertError::table_full);
  t.erase(t.find(key_for(1)));
  EXPECT_NE(add(t, key_for(99)), kNil);
  EXPECT_EQ(t.audit(), "");
}

TEST(LeaseTable, LongKeysUseTheKeyStore) {
  LeaseTable t(sizes(16));   // 4 long keys
  std::vector<std::uint32_t> idx;
  for (std::uint32_t n = 0; n < 4; ++n) idx.push_back(add(t, key_for(n, 100)));
  for (std::uint32_t n = 0; n < 4; ++n) {
    EXPECT_EQ(t.find(key_for(n, 100)), idx[n]);
    EXPECT_EQ(t.key(idx[n]).size(), 101u);
    EXPECT_TRUE(t.at(idx[n]).flags & kLeaseLongKey);
  }
  const Inserted full = t.insert(key_for(7, 100));
  EXPECT_EQ(full.error, InsertError::key_store_full);
  // Short keys still fit; freeing a long key makes room.
  EXPECT_NE(add(t, key_for(7)), kNil);
  t.erase(idx[2]);
  EXPECT_NE(add(t, key_for(7, 100)), kNil);
  EXPECT_EQ(t.find(key_for(2, 100)), kNil);
  EXPECT_EQ(t.audit(), "");
}

TEST(LeaseTable, UnindexKeepsTheRecord) {
  LeaseTable t(sizes(4));
  const std::uint32_t i = add(t, key_for(5, 60));
  t.unindex(i);
  EXPECT_EQ(t.find(key_for(5, 60)), kNil);
  EXPECT_EQ(t.at(i).key_len, 0u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.audit(), "");
}

TEST(LeaseTable, RandomInsertEraseAgreesWithAMap) {
  // Exercises backward-shift deletion with long probe chains (full index).
  LeaseTable t(sizes(512));
  std::map<std::uint32_t, std::uint32_t> model;   // key number -> record
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const std::uint32_t n = rng() % 700;
    auto it = model.find(n);
    if (it == model.end() && model.size() < 512) {
      model[n] = add(t, key_for(n));
    } else if (it != model.end()) {
      t.erase(it->second);
      model.erase(it);
    }
    if (step % 997 == 0) {
      for (auto [k, v] : model) ASSERT_EQ(t.find(key_for(k)), v);
      ASSERT_EQ(t.audit(), "");
    }
  }
  for (std::uint32_t n = 0; n < 700; ++n)
    EXPECT_EQ(t.find(key_for(n)), model.count(n) ? model[n] : kNil) << n;
}

TEST(LeaseTable, IndexGrowsWhileKeysComeAndGo) {
  // Inserts and erases across several incremental rehashes (16 slots at
  // first): every key stays findable, erased ones are gone, in both arrays.
  LeaseTableSizes s = sizes(4096);
  s.initial_index = 16;
  LeaseTable t(s);
  std::map<std::uint32_t, std::uint32_t> model;
  std::mt19937 rng(11);
  std::uint32_t rehash_steps_seen = 0;
  for (int step = 0; step < 60000; ++step) {
    const std::uint32_t n = rng() % 5000;
    auto it = model.find(n);
    const bool grow_phase = step < 30000 ? (rng() % 4 != 0) : (rng() % 2 == 0);
    if (it == model.end() && model.size() < 4096 && grow_phase) {
      model[n] = add(t, key_for(n));
    } else if (it != model.end() && !grow_phase) {
      t.erase(it->second);
      model.erase(it);
    }
    rehash_steps_seen += t.rehashing();
    if (t.rehashing() && step % 7 == 0) {
      for (auto [k, v] : model) ASSERT_EQ(t.find(key_for(k)), v) << "step " << step;
      ASSERT_EQ(t.audit(), "") << step;
    }
  }
  EXPECT_GT(rehash_steps_seen, 0u);
  EXPECT_GE(t.index_slots(), 2 * model.size());
  for (std::uint32_t n = 0; n < 5000; ++n)
    EXPECT_EQ(t.find(key_for(n)), model.count(n) ? model[n] : kNil) << n;
  while (t.rehashing()) t.maintain();
  for (int i = 0; i < 64; ++i) t.maintain();   // gives the old array back
  EXPECT_EQ(t.audit(), "");
}

TEST(LeaseTable, RecordsComeFromTheHighWaterMark) {
  LeaseTable t(sizes(1u << 20));   // room for a million, uses three
  EXPECT_EQ(t.high_water(), 0u);
  const std::uint32_t a = add(t, key_for(1)), b = add(t, key_for(2));
  EXPECT_EQ(t.high_water(), 2u);
  t.erase(a);
  EXPECT_EQ(add(t, key_for(3)), a);   // the freed record first
  EXPECT_EQ(t.high_water(), 2u);
  EXPECT_EQ(add(t, key_for(4)), 2u);
  (void)b;
  EXPECT_LT(t.memory_bytes(), std::size_t{1} << 20);
  EXPECT_EQ(t.audit(), "");
}

TEST(LeaseTable, HostnamesAreStoredTruncatedAndFreed) {
  LeaseTableSizes s = sizes(4);
  s.hostname_capacity = 1;
  LeaseTable t(s);
  const std::uint32_t a = add(t, key_for(1)), b = add(t, key_for(2));
  EXPECT_TRUE(t.set_hostname(a, "printer"));
  EXPECT_EQ(t.hostname(a), "printer");
  EXPECT_FALSE(t.set_hostname(b, "laptop"));   // store full
  EXPECT_EQ(t.hostname(b), "");
  EXPECT_TRUE(t.set_hostname(a, std::string(100, 'x')));
  EXPECT_EQ(t.hostname(a), std::string(63, 'x'));
  t.erase(a);
  EXPECT_TRUE(t.set_hostname(b, "laptop"));
  EXPECT_EQ(t.hostname(b), "laptop");
}

TEST(LeaseTable, FifoKeepsInactiveOrder) {
  LeaseTable t(sizes(8));
  std::vector<std::uint32_t> idx;
  for (std::uint32_t n = 0; n < 5; ++n) {
    idx.push_back(add(t, key_for(n)));
    t.at(idx.back()).state = LeaseState::expired;
    t.park(idx.back());
  }
  EXPECT_EQ(t.parked(), 5u);
  EXPECT_EQ(t.oldest_parked(), idx[0]);
  t.unlink(idx[0]);
  EXPECT_EQ(t.oldest_parked(), idx[1]);
  t.erase(idx[1]);   // erase unlinks
  EXPECT_EQ(t.oldest_parked(), idx[2]);
  t.unlink(idx[4]);   // tail
  t.park(idx[4]);
  t.park(idx[0]);
  std::vector<std::uint32_t> order;
  for (std::uint32_t i = t.oldest_parked(); i != kNil; i = t.at(i).next) order.push_back(i);
  EXPECT_EQ(order, (std::vector<std::uint32_t>{idx[2], idx[3], idx[4], idx[0]}));
  t.at(idx[0]).state = LeaseState::expired;
  EXPECT_EQ(t.audit(), "");
}

TEST(LeaseTable, SweepHandsOutExactlyTheDueEntries) {
  LeaseTable t(sizes(64, 4));   // 16 buckets: long expiries wrap several turns
  const Seconds start = 1000;
  std::map<std::uint32_t, Seconds> expiry;
  for (std::uint32_t n = 0; n < 64; ++n) {
    const std::uint32_t i = add(t, key_for(n));
    t.at(i).expires = start + 1 + (n * 7) % 90;
    t.schedule(i);
    expiry[i] = t.at(i).expires;
  }
  ASSERT_EQ(t.audit(), "");
  std::set<std::uint32_t> seen;
  for (Seconds now = start; now < start + 100; now += 3) {
    SweepResult r;
    do {
      r = t.sweep(now, 5, 1000, [&](std::uint32_t i) {
        EXPECT_LE(expiry[i], now);
        EXPECT_TRUE(seen.insert(i).second);
        t.at(i).state = LeaseState::expired;
        t.park(i);
      });
    } while (!r.caught_up);
    for (auto [i, e] : expiry) EXPECT_EQ(seen.count(i) == 1, e <= now) << "record " << i;
    ASSERT_EQ(t.audit(), "");
  }
  EXPECT_EQ(seen.size(), 64u);
}

TEST(LeaseTable, SweepRespectsMaxDueAndResumes) {
  LeaseTable t(sizes(16, 4));
  for (std::uint32_t n = 0; n < 10; ++n) {
    const std::uint32_t i = add(t, key_for(n));
    t.at(i).expires = 50;   // all in one bucket
    t.schedule(i);
  }
  std::uint32_t handed = 0;
  auto cb = [&](std::uint32_t i) {
    ++handed;
    t.erase(i);
  };
  SweepResult r = t.sweep(60, 1000, 3, cb);
  EXPECT_EQ(r.due, 3u);
  EXPECT_FALSE(r.caught_up);
  r = t.sweep(60, 1000, 100, cb);
  EXPECT_TRUE(r.caught_up);
  EXPECT_EQ(handed, 10u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(LeaseTable, UnlinkOfTheResumePointDuringASweepIsSafe) {
  LeaseTable t(sizes(16, 4));
  std::vector<std::uint32_t> idx;
  for (std::uint32_t n = 0; n < 6; ++n) {
    idx.push_back(add(t, key_for(n)));
    t.at(idx.back()).expires = 20;
    t.schedule(idx.back());
  }
  std::vector<std::uint32_t> got;
  auto cb = [&](std::uint32_t i) { got.push_back(i); };
  EXPECT_TRUE(t.sweep(19, 1000, 1000, cb).caught_up);
  // Bucket 20 lists idx[5..0] (pushed at the front); a budget of 3 stops
  // with idx[2] as the resume point.
  SweepResult r = t.sweep(25, 3, 1000, cb);
  EXPECT_FALSE(r.caught_up);
  ASSERT_EQ(got, (std::vector<std::uint32_t>{idx[5], idx[4], idx[3]}));
  t.unlink(idx[2]);
  t.at(idx[2]).expires = 40;
  t.schedule(idx[2]);
  do r = t.sweep(25, 1000, 1000, cb);
  while (!r.caught_up);
  EXPECT_EQ(got, (std::vector<std::uint32_t>{idx[5], idx[4], idx[3], idx[1], idx[0]}));
  t.sweep(40, 1000, 1000, cb);
  EXPECT_EQ(got.size(), 6u);
  EXPECT_EQ(got.back(), idx[2]);
}

TEST(LeaseTable, ExtendedEntriesMoveLazilyShortenedOnesAtOnce) {
  LeaseTable t(sizes(8, 4));
  const std::uint32_t a = add(t, key_for(1)), b = add(t, key_for(2));
  t.at(a).expires = 50;
  t.schedule(a);
  t.at(b).expires = 60;
  t.schedule(b);
  t.reschedule(a, 75);   // later: stays in bucket 50 & 15 until the sweep gets there
  t.reschedule(b, 55);   // earlier: relinked now
  std::vector<std::pair<std::uint32_t, Seconds>> got;
  Seconds now = 0;
  auto cb = [&](std::uint32_t i) { got.emplace_back(i, now); };
  for (now = 40; now <= 80; ++now) {
    t.sweep(now, 1000, 1000, cb);
    ASSERT_EQ(t.audit(), "");
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(b, Seconds{55}));
  EXPECT_EQ(got[1], std::make_pair(a, Seconds{75}));
}

TEST(LeaseTable, ClockJumpCostsOneTurn) {
  LeaseTable t(sizes(16, 4));
  const std::uint32_t i = add(t, key_for(1));
  t.at(i).expires = 100;
  t.schedule(i);
  std::uint32_t handed = 0;
  SweepResult r = t.sweep(10, 1000, 1000, [&](std::uint32_t) { ++handed; });
  EXPECT_TRUE(r.caught_up);
  EXPECT_EQ(handed, 0u);
  r = t.sweep(1'000'000, 1000, 1000, [&](std::uint32_t) { ++handed; });
  EXPECT_TRUE(r.caught_up);
  EXPECT_EQ(handed, 1u);
  EXPECT_LE(r.visited, 16u + 1u + 1u);
}

TEST(LeaseTable, ScheduleAfterSweepInSameBucketIsNotLost) {
  LeaseTable t(sizes(4, 4));
  const std::uint32_t i = add(t, key_for(1));
  t.sweep(100, 1000, 1000, [](std::uint32_t) {});
  t.at(i).expires = 100 + 16;   // same bucket as 100, next turn
  t.schedule(i);
  std::uint32_t handed = 0;
  t.sweep(115, 1000, 1000, [&](std::uint32_t) { ++handed; });
  EXPECT_EQ(handed, 0u);
  t.sweep(116, 1000, 1000, [&](std::uint32_t) { ++handed; });
  EXPECT_EQ(handed, 1u);
}

// The VmFlags of the mapping holding `p` (/proc/self/smaps): "hg" marks
// MADV_HUGEPAGE, "nh" MADV_NOHUGEPAGE. Empty when not found.
std::string vm_flags_at(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    std::uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(' ') > line.find('-')) {
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line + " ";
  }
  return {};
}
bool has_flag(const std::string& flags, const char* f) { return flags.find(std::string(" ") + f + " ") != std::string::npos; }

TEST(ReservedArray, HugeAdviceForStartUpRangesOnlyAndTakenBack) {
  constexpr std::size_t kHuge = ReservedArray<std::uint64_t>::kHugePage;
  constexpr std::size_t kPerHuge = kHuge / sizeof(std::uint64_t);
  ReservedArray<std::uint64_t> a(8 * kPerHuge);
  ASSERT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % kHuge, 0u) << "2 MiB-aligned";
  EXPECT_EQ(a.reserved_bytes(), 8 * kHuge);
  EXPECT_TRUE(has_flag(vm_flags_at(a.data()), "nh")) << vm_flags_at(a.data());
  EXPECT_EQ(a.huge_bytes(), 0u);

  // Only whole 2 MiB pages inside the range: [half a page, 4.5 pages) -> pages 1..3.
  a.advise_huge(kPerHuge / 2, 4 * kPerHuge);
  EXPECT_EQ(a.huge_bytes(), 4 * kHuge);
  EXPECT_TRUE(has_flag(vm_flags_at(a.data()), "nh")) << "page 0 is not whole in the range";
  EXPECT_TRUE(has_flag(vm_flags_at(a.data() + kPerHuge), "hg")) << vm_flags_at(a.data() + kPerHuge);
  EXPECT_TRUE(has_flag(vm_flags_at(a.data() + 4 * kPerHuge - 1), "hg"));
  EXPECT_TRUE(has_flag(vm_flags_at(a.data() + 4 * kPerHuge), "nh"));

  a.populate(0, 4 * kPerHuge);
  for (std::size_t i = 0; i < 4 * kPerHuge; i += 511) a[i] = i + 1;
  for (std::size_t i = 0; i < 4 * kPerHuge; i += 511) ASSERT_EQ(a[i], i + 1);

  // Released pages come back as 4 KiB pages, zero; the rest keeps both.
  const auto written = [](std::size_t from) { return (from + 510) / 511 * 511; };   // first i written >= from
  a.release(kPerHuge, kPerHuge / 2);
  EXPECT_TRUE(has_flag(vm_flags_at(a.data() + kPerHuge), "nh"));
  EXPECT_EQ(a[written(kPerHuge)], 0u);
  EXPECT_TRUE(has_flag(vm_flags_at(a.data() + 3 * kPerHuge), "hg")) << "the rest keeps its advice";
  EXPECT_EQ(a[written(3 * kPerHuge)], written(3 * kPerHuge) + 1);

  // Moves carry the mark.
  ReservedArray<std::uint64_t> b(std::move(a));
  EXPECT_EQ(b.huge_bytes(), 4 * kHuge);
  EXPECT_EQ(b[written(3 * kPerHuge)], written(3 * kPerHuge) + 1);
  EXPECT_EQ(a.huge_bytes(), 0u);
}

// reserve() populates the index in huge pages; the records keep 4 KiB
// pages; a doubling later gives the huge index back (as 4 KiB pages) and
// loses no key.
TEST(LeaseTable, ReservedIndexThenGrowthKeepsEveryKey) {
  LeaseTable t(sizes(1u << 20));
  t.reserve(200000);
  EXPECT_EQ(t.index_slots(), 1u << 19);
  EXPECT_TRUE(has_flag(vm_flags_at(&t.at(0)), "nh")) << vm_flags_at(&t.at(0));
  for (std::uint32_t n = 0; n < 400000; ++n) ASSERT_NE(add(t, key_for(n)), kNil);
  while (t.rehashing()) t.maintain(1024);
  for (int i = 0; i < 1024; ++i) t.maintain(1024);   // the old index given back
  EXPECT_EQ(t.index_slots(), 1u << 20);
  for (std::uint32_t n = 0; n < 400000; n += 7) ASSERT_NE(t.find(key_for(n)), kNil) << n;
  EXPECT_EQ(t.audit(), "");
}

}  // namespace
}  // namespace dorado::engine
