// ddns::Service (control/ddns/service.hpp) without DPDK and without a real
// DNS server: a real store in a temporary directory feeds it lease changes;
// a fake DNS server on 127.0.0.1 (UDP) answers each UPDATE with an rcode
// its test chooses (or not at all), echoing the header and zone section.
// Checks the updates sent for commits and releases, removal of what the
// StateLog says is registered after a restart, retries while the server is
// silent, refusals counted by reason and not retried in a loop, conflicts
// left alone, and nothing sent before the lease is durable.
#include "ddns/service.hpp"

#include <gtest/gtest.h>
#include "../temp_dir.hpp"
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ddns/state_log.hpp"
#include "engine/ddns.hpp"
#include "engine/lease.hpp"
#include "store/store.hpp"

namespace dorado::ddns {
namespace {

namespace fs = std::filesystem;
using engine::LeaseChange;
using engine::LeaseOp;

class TempDir : public dorado::test_support::TempDir {
 public:
  TempDir() : dorado::test_support::TempDir("dorado-ddns-service-test") {}
};

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// A DNS server on 127.0.0.1: every request is recorded; `answer` picks the
// rcode (-1: no answer).
class FakeDns {
 public:
  FakeDns() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
  }
  ~FakeDns() {
    ::close(fd_);
    if (tcp_ >= 0) ::close(tcp_);
  }
  std::uint16_t port() const { return port_; }

  // UDP answers carry TC (truncated) and nothing else; the same port on TCP
  // answers NOERROR. False if the TCP port is taken.
  bool truncate_udp() {
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port_);
    if (::bind(tcp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(tcp_, 8) != 0) return false;
    truncate_ = true;
    return true;
  }
  std::size_t tcp_requests = 0;

  // The answer to `req`: header and zone section, QR, opcode UPDATE, `rcode`.
  static std::vector<std::uint8_t> answer_to(const std::vector<std::uint8_t>& req, int rcode, bool tc) {
    std::size_t off = 12;
    while (off < req.size() && req[off] != 0) off += 1u + req[off];
    off += 1 + 4;
    if (off > req.size()) return {};
    std::vector<std::uint8_t> out(off);
    std::memcpy(out.data(), req.data(), off);
    out[2] = static_cast<std::uint8_t>(0x80 | (req[2] & 0x78) | (tc ? 0x02 : 0));   // QR, opcode UPDATE, TC
    out[3] = static_cast<std::uint8_t>(rcode & 0x0f);
    for (int i = 6; i < 12; ++i) out[i] = 0;   // no prerequisite, update or additional RRs
    return out;
  }

  void pump_tcp() {
    const int c = ::accept(tcp_, nullptr, nullptr);
    if (c < 0) return;
    timeval tv{1, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::uint8_t len[2];
    if (::recv(c, len, 2, MSG_WAITALL) == 2) {
      std::vector<std::uint8_t> req(static_cast<std::size_t>(len[0] << 8 | len[1]));
      if (::recv(c, req.data(), req.size(), MSG_WAITALL) == static_cast<ssize_t>(req.size())) {
        requests.push_back(req);
        ++tcp_requests;
        std::vector<std::uint8_t> out = answer_to(req, 0, false);
        std::vector<std::uint8_t> framed(2 + out.size());
        framed[0] = static_cast<std::uint8_t>(out.size() >> 8);
        framed[1] = static_cast<std::uint8_t>(out.size());
        if (!out.empty()) std::memcpy(framed.data() + 2, out.data(), out.size());
        ::send(c, framed.data(), framed.size(), MSG_NOSIGNAL);
      }
    }
    ::close(c);
  }

  void pump() {
    if (tcp_ >= 0) pump_tcp();
    std::uint8_t buf[4096];
    for (;;) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) return;
      std::vector<std::uint8_t> req(buf, buf + n);
      requests.push_back(req);
      const int rcode = answer ? answer(req) : 0;
      if (rcode < 0) continue;
      const std::vector<std::uint8_t> out = answer_to(req, rcode, truncate_);
      if (out.empty()) continue;
      ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  // The zone section's name of request i, as text ("bars.example").
  static std::string zone_of(const std::vector<std::uint8_t>& req) {
    std::string name;
    std::size_t off = 12;
    while (off < req.size() && req[off] != 0) {
      if (!name.empty()) name += '.';
      name.append(reinterpret_cast<const char*>(req.data() + off + 1), req[off]);
      off += 1u + req[off];
    }
    return name;
  }
  // Counts of the prerequisite and update sections.
  static unsigned prereqs(const std::vector<std::uint8_t>& r) { return r[6] << 8 | r[7]; }
  static unsigned updates(const std::vector<std::uint8_t>& r) { return r[8] << 8 | r[9]; }

  std::function<int(const std::vector<std::uint8_t>&)> answer;
  std::vector<std::vector<std::uint8_t>> requests;

 private:
  int fd_ = -1;
  int tcp_ = -1;
  bool truncate_ = false;
  std::uint16_t port_ = 0;
};

LeaseChange lease(std::uint32_t i, const std::string& name, std::uint8_t ddns) {
  LeaseChange c{};
  c.op = LeaseOp::commit;
  c.htype = 1;
  c.key_len = 7;
  c.key[0] = engine::kKeyKindHw;
  c.key[1] = 1;
  c.key[2] = 0x02;
  c.key[6] = static_cast<std::uint8_t>(i);
  std::memcpy(c.chaddr.b.data(), c.key.data() + 2, 5);
  c.subnet_id = 7;
  c.address = 0x0a630100u + i;   // 10.99.1.i
  c.start = static_cast<std::uint32_t>(std::time(nullptr));
  c.expires = c.start + 3600;
  c.hostname_len = static_cast<std::uint8_t>(name.size());
  std::memcpy(c.hostname.data(), name.data(), name.size());
  c.ddns = ddns;
  return c;
}

class DdnsService : public ::testing::Test {
 protected:
  void SetUp() override { open_store(); }

  void open_store() {
    store::StoreOptions o;
    o.dir = dir_.path();
    o.durability = store::Durability::async;
    o.workers = 1;
    auto opened = store::Store::open(o);
    ASSERT_TRUE(opened.store) << opened.error;
    store_ = std::move(opened.store);
  }

  Settings settings() {
    Settings s;
    s.ddns.enabled = true;
    s.ddns.timeout_ms = 200;
    s.ddns.max_retry_interval_s = 1;
    config::DdnsZone fwd;
    fwd.name = "bars.example";
    fwd.servers.push_back({0x7f000001u, dns_.port()});
    config::DdnsZone rev;
    rev.name = "99.10.in-addr.arpa";
    rev.servers.push_back({0x7f000001u, dns_.port()});
    s.ddns.forward_zones.push_back(fwd);
    s.ddns.reverse_zones.push_back(rev);
    s.suffixes[7] = "bars.example";
    s.state_dir = dir_.path();
    return s;
  }

  void start() {
    auto c = Service::create(settings(), *store_, [this](const std::string& l) { lines_.push_back(l); }, now_ms(),
                             static_cast<std::uint32_t>(std::time(nullptr)));
    ASSERT_TRUE(c.service) << c.error;
    svc_ = std::move(c.service);
  }

  // Ticks store, service and fake server until done() or `seconds` pass.
  bool run(const std::function<bool()>& done, double seconds = 5) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
      store_->tick(now_ms() * 1000 + 10'000'000);
      if (svc_) svc_->tick(now_ms());
      dns_.pump();
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    return false;
  }
  bool idle() { return svc_->status(now_ms()).queue_depth == 0; }

  TempDir dir_;
  FakeDns dns_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Service> svc_;
  std::vector<std::string> lines_;
};

TEST_F(DdnsService, ACommitAddsTheNameAndTheAddressAndAReleaseRemovesThem) {
  start();
  store_->take(0, std::vector<LeaseChange>{lease(5, "laptop", engine::kDdnsForward | engine::kDdnsReverse)});
  ASSERT_TRUE(run([&] { return dns_.requests.size() >= 2 && idle(); }));
  ASSERT_EQ(dns_.requests.size(), 2u);
  EXPECT_EQ(FakeDns::zone_of(dns_.requests[0]), "bars.example");        // add_forward first
  EXPECT_EQ(FakeDns::prereqs(dns_.requests[0]), 1u);                     // name not in use
  EXPECT_EQ(FakeDns::updates(dns_.requests[0]), 2u);                     // A + DHCID
  EXPECT_EQ(FakeDns::zone_of(dns_.requests[1]), "99.10.in-addr.arpa");   // then the PTR
  const auto reg = svc_->registered(0x0a630105u);
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->fqdn, "laptop.bars.example");
  EXPECT_TRUE(reg->forward);
  EXPECT_TRUE(reg->reverse);
  EXPECT_EQ(svc_->status(now_ms()).counters.update_ok, 2u);

  LeaseChange rel = lease(5, "", 0);
  rel.op = LeaseOp::release;
  store_->take(0, std::vector<LeaseChange>{rel});
  ASSERT_TRUE(run([&] { return dns_.requests.size() >= 4 && idle(); }));
  EXPECT_EQ(FakeDns::zone_of(dns_.requests[2]), "bars.example");   // remove_forward (DHCID prerequisite)
  EXPECT_EQ(FakeDns::prereqs(dns_.requests[2]), 1u);
  EXPECT_EQ(FakeDns::zone_of(dns_.requests[3]), "99.10.in-addr.arpa");
  EXPECT_FALSE(svc_->registered(0x0a630105u));
}

TEST_F(DdnsService, ReverseOnlyWhenTheClientUpdatesItsOwnName) {
  start();
  store_->take(0, std::vector<LeaseChange>{lease(6, "phone", engine::kDdnsReverse)});
  ASSERT_TRUE(run([&] { return !dns_.requests.empty() && idle(); }));
  ASSERT_EQ(dns_.requests.size(), 1u);
  EXPECT_EQ(FakeDns::zone_of(dns_.requests[0]), "99.10.in-addr.arpa");
  // No flags (a client that asked for no update, or no [ddns] when committed): nothing.
  store_->take(0, std::vector<LeaseChange>{lease(7, "quiet", 0)});
  run([] { return false; }, 0.3);
  EXPECT_EQ(dns_.requests.size(), 1u);
}

TEST_F(DdnsService, ATruncatedAnswerIsAskedAgainOverTcp) {
  if (!dns_.truncate_udp()) GTEST_SKIP() << "TCP port " << dns_.port() << " is taken";
  start();
  store_->take(0, std::vector<LeaseChange>{lease(4, "big", engine::kDdnsForward)});
  ASSERT_TRUE(run([&] { return svc_->registered(0x0a630104u).has_value() && idle(); }));
  EXPECT_EQ(dns_.tcp_requests, 1u);   // the same update, over TCP
  EXPECT_EQ(dns_.requests.size(), 2u);
  EXPECT_EQ(dns_.requests[0], dns_.requests[1]);
}

TEST_F(DdnsService, NothingIsSentBeforeTheLeaseIsDurable) {
  start();
  store_->take(0, std::vector<LeaseChange>{lease(8, "early", engine::kDdnsForward)});
  for (int i = 0; i < 50; ++i) {   // the service ticks, the store does not commit
    svc_->tick(now_ms());
    dns_.pump();
  }
  EXPECT_TRUE(dns_.requests.empty());
  ASSERT_TRUE(run([&] { return !dns_.requests.empty(); }));
}

TEST_F(DdnsService, ASilentServerIsRetriedUntilItAnswersAndTheQueueShowsTheWait) {
  dns_.answer = [](const std::vector<std::uint8_t>&) { return -1; };
  start();
  store_->take(0, std::vector<LeaseChange>{lease(9, "patient", engine::kDdnsForward)});
  ASSERT_TRUE(run([&] { return svc_->status(now_ms()).counters.update_timeout >= 2; }));
  Status st = svc_->status(now_ms());
  EXPECT_EQ(st.queue_depth, 1u);
  EXPECT_GT(st.oldest_wait_s, 0.1);
  EXPECT_GE(st.counters.update_retried, 1u);
  dns_.answer = nullptr;   // back
  ASSERT_TRUE(run([&] { return svc_->registered(0x0a630109u).has_value() && idle(); }, 5));
  EXPECT_EQ(svc_->status(now_ms()).queue_depth, 0u);
}

TEST_F(DdnsService, WorkPendingAtAStopIsDoneAfterTheRestart) {
  start();
  store_->take(0, std::vector<LeaseChange>{lease(10, "survivor", engine::kDdnsForward | engine::kDdnsReverse)});
  ASSERT_TRUE(run([&] { return idle() && svc_->registered(0x0a63010au).has_value(); }));
  // The DNS server goes silent; the lease is released; the server stops
  // before the removal could be done.
  dns_.answer = [](const std::vector<std::uint8_t>&) { return -1; };
  LeaseChange rel = lease(10, "", 0);
  rel.op = LeaseOp::release;
  store_->take(0, std::vector<LeaseChange>{rel});
  ASSERT_TRUE(run([&] { return svc_->status(now_ms()).counters.update_timeout >= 1; }));
  svc_.reset();
  ASSERT_EQ(store_->close(false), "");
  store_.reset();
  // Restart (store and service): the StateLog says registered, the lease says released.
  open_store();
  dns_.answer = nullptr;
  const std::size_t before = dns_.requests.size();
  start();
  ASSERT_TRUE(run([&] { return !svc_->registered(0x0a63010au).has_value() && idle(); }));
  EXPECT_GE(dns_.requests.size(), before + 2);   // remove_forward, remove_reverse
  EXPECT_EQ(FakeDns::zone_of(dns_.requests[before]), "bars.example");
  // And once done, a further restart has nothing to do.
  svc_.reset();
  const std::size_t after = dns_.requests.size();
  start();
  run([] { return false; }, 0.3);
  EXPECT_EQ(dns_.requests.size(), after);
}

TEST_F(DdnsService, AnAddThatWasNotRecordedIsSentAgainAfterACrash) {
  // The lease is durable; the service never ran (a crash before the update):
  // the next start finds the name wanted and not registered.
  store_->take(0, std::vector<LeaseChange>{lease(11, "late", engine::kDdnsForward)});
  run([] { return false; }, 0.05);
  start();
  ASSERT_TRUE(run([&] { return svc_->registered(0x0a63010bu).has_value(); }));
}

TEST_F(DdnsService, RefusalsAreCountedByReasonAndNotRetriedInALoop) {
  dns_.answer = [](const std::vector<std::uint8_t>&) { return 5; };   // REFUSED
  start();
  store_->take(0, std::vector<LeaseChange>{lease(12, "denied", engine::kDdnsForward)});
  ASSERT_TRUE(run([&] { return svc_->status(now_ms()).counters.update_refused >= 1; }));
  run([] { return false; }, 0.5);
  const Status st = svc_->status(now_ms());
  EXPECT_EQ(st.counters.update_refused, 1u);   // max_retry_interval_s = 1: not again within 0.5 s
  EXPECT_EQ(st.counters.refused_by_rcode.at("REFUSED"), 1u);
  EXPECT_EQ(st.queue_depth, 1u);                // still owed
  bool logged = false;
  for (const auto& l : lines_) logged |= l.find("denied.bars.example") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(DdnsService, ANameHeldByAnotherClientIsLeftAlone) {
  // add_forward: YXDOMAIN (in use); replace_forward: NXRRSET (not our DHCID).
  auto forward_tries = std::make_shared<int>(0);
  dns_.answer = [forward_tries](const std::vector<std::uint8_t>& r) {
    if (FakeDns::zone_of(r) != "bars.example") return 0;
    return ++*forward_tries == 1 ? 6 : 8;
  };
  start();
  store_->take(0, std::vector<LeaseChange>{lease(13, "taken", engine::kDdnsForward | engine::kDdnsReverse)});
  ASSERT_TRUE(run([&] { return idle() && svc_->status(now_ms()).counters.update_conflict == 1; }));
  // No A and no PTR: the PTR would name the other client's host.
  EXPECT_FALSE(svc_->registered(0x0a63010du));
  ASSERT_EQ(dns_.requests.size(), 2u);   // add_forward, replace_forward
  const std::size_t sent = dns_.requests.size();
  run([] { return false; }, 0.3);
  EXPECT_EQ(dns_.requests.size(), sent);   // not retried
}

TEST_F(DdnsService, NoZoneForANameIsCountedAndSkipped) {
  start();
  LeaseChange c = lease(14, "elsewhere.other.example.", engine::kDdnsForward | engine::kDdnsReverse);
  store_->take(0, std::vector<LeaseChange>{c});
  ASSERT_TRUE(run([&] { return idle() && !dns_.requests.empty(); }));
  EXPECT_EQ(svc_->status(now_ms()).counters.no_zone, 1u);
  ASSERT_EQ(dns_.requests.size(), 1u);   // the PTR only
  EXPECT_EQ(FakeDns::zone_of(dns_.requests[0]), "99.10.in-addr.arpa");
}

TEST(DdnsStateLog, RecordsRoundTripAndATornTailIsCut) {
  TempDir dir;
  {
    auto o = StateLog::open(dir.path());
    ASSERT_TRUE(o.log) << o.error;
    RegisteredMap live;
    live[1] = Registered{"a.example", {0, 1, 1, 9}, kRegisteredForward | kRegisteredReverse};
    live[2] = Registered{"b.example", {0, 2, 1}, kRegisteredReverse};
    o.log->put(1, live[1]);
    o.log->put(2, live[2]);
    o.log->put(2, Registered{});   // erased
    live.erase(2);
    ASSERT_EQ(o.log->sync(live), "");
  }
  // A half-written record at the end.
  {
    std::vector<std::uint8_t> rec;
    encode_state_record(3, Registered{"c.example", {1}, kRegisteredForward}, rec);
    FILE* f = std::fopen((dir.path() + "/ddns-state").c_str(), "ab");
    std::fwrite(rec.data(), 1, rec.size() - 3, f);
    std::fclose(f);
  }
  auto o = StateLog::open(dir.path());
  ASSERT_TRUE(o.log) << o.error;
  EXPECT_TRUE(o.truncated);
  EXPECT_EQ(o.records, 3u);
  ASSERT_EQ(o.entries.size(), 1u);
  EXPECT_EQ(o.entries.at(1).fqdn, "a.example");
  EXPECT_EQ(o.entries.at(1).flags, kRegisteredForward | kRegisteredReverse);
}

TEST(DdnsStateLog, DecodeRefusesDamage) {
  std::vector<std::uint8_t> rec;
  encode_state_record(0x0a000001u, Registered{"x.example", {0, 0, 1, 2}, kRegisteredForward}, rec);
  EXPECT_EQ(decode_state_record(rec).status, StateRecordStatus::ok);
  for (std::size_t i = 0; i < rec.size(); ++i) {
    auto bad = rec;
    bad[i] ^= 0x40;
    EXPECT_NE(decode_state_record(bad).status, StateRecordStatus::ok) << "byte " << i;
  }
  EXPECT_EQ(decode_state_record({}).status, StateRecordStatus::end);
  EXPECT_EQ(decode_state_record(std::span<const std::uint8_t>(rec.data(), 5)).status, StateRecordStatus::torn);
}

TEST(DdnsStateLog, TheFuzzSeedIsAValidFile) {
  // tests/fuzz/seeds/ddns_state/: written by a script, so it is checked here.
  TempDir dir;
  fs::copy_file(DORADO_DDNS_STATE_SEED, dir.path() + "/ddns-state");
  auto o = StateLog::open(dir.path());
  ASSERT_TRUE(o.log) << o.error;
  EXPECT_FALSE(o.truncated);
  EXPECT_EQ(o.records, 3u);
  ASSERT_EQ(o.entries.size(), 1u);
  EXPECT_EQ(o.entries.at(0x0a630105u).fqdn, "laptop.bars.example");
}

}  // namespace
}  // namespace dorado::ddns
