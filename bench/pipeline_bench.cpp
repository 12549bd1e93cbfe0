// dorado-bench pipeline: the real runtime (runtime::Runtime, its worker
// loop, handoff rings, held ACKs) and, for async/fsync, the real store driven
// as control/daemon/serve.cpp drives it, fed by a generator lcore in the same
// process over DPDK net_ring ports (rte_eth_from_rings): no kernel, no NIC.
//
// The generator keeps `window` DORAs in flight over `clients` distinct
// clients (MAC 02:00:<id>). Each reply mbuf it takes from a worker's TX ring
// is parsed with the wire codec and rewritten in place into the client's next
// request: an OFFER becomes the REQUEST for the offered address, an ACK (for
// that address) completes the DORA and the mbuf becomes the DISCOVER of the
// next client. A DORA counts only once the generator has seen its ACK.
//
// Phases: warm-up until every client has completed one DORA (new clients:
// insert + allocate + commit), then `seconds` of steady state (existing
// clients re-DORA: lookup, offer of the bound address, renew), then a drain
// that completes what is in flight and takes no new clients.
//
// Threads: the main lcore is the control thread (poll_control -> store
// take/tick -> publish_durable, as the daemon), worker lcores run the
// runtime, the last lcore runs the generator. Default lcore i on CPU
// i mod ncpu (tests/e2e/lib.sh): with 2 CPUs the generator shares a CPU with
// the control thread (and, with 2 workers, with a worker).
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <sched.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/dora_fixture.hpp"
#include "config/config.hpp"
#include "engine/client_key.hpp"
#include "runtime/runtime.hpp"
#include "store/store.hpp"
#include "wire/dhcp.hpp"
#include "wire/frame.hpp"
#include "wire/text.hpp"

namespace {

using namespace dorado;

constexpr unsigned kGenBurst = 32;

struct Options {
  unsigned workers = 1;
  std::uint32_t clients = 1u << 20;
  double seconds = 5;
  std::string durability = "off";
  unsigned window = 0;   // 0: per durability mode
  unsigned burst = 32;
  bool json = false;
  bool one_queue = false;
  bool rx_checksum_offload = false;
  bool tx_checksum_offload = false;
  bool huge = false;
  std::string lcores;
  std::string store_dir;
  double warmup_timeout = 300;
  bool ddns = false;                 // [ddns] on (the workers' part: names, option 81)
  bool policy = false;               // 50 [[class]] + 1,000 reservations (issue 16; as engine_bench's BM_EngineDoraPolicy)
  std::string names = "bench-host";  // what the clients send: bench-host, none, own-12, own-81
  std::string probe = "off";       // [conflict] probe
  unsigned probe_timeout_ms = 500;  // [conflict] probe_timeout_ms
};

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// lcore i on CPU i mod (CPUs this process may use), as tests/e2e/lib.sh.
std::string default_lcores(unsigned lcores) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.empty()) cpus.push_back(0);
  std::string s;
  for (unsigned i = 0; i < lcores; ++i)
    s += (s.empty() ? "" : ",") + std::to_string(i) + "@" + std::to_string(cpus[i % cpus.size()]);
  return s;
}

// --policy: engine_bench's BM_EngineDoraPolicy config (bench/engine_bench.cpp
// add_policy) as TOML: 50 classes, 47 on what the generator's requests lack
// or do not match (option 60 exact/prefix, 77, 82.1, 82.2, OUIs, VLAN ids,
// giaddr), 3 that every request matches (option 55 lists 3, MAC prefix
// 02:00, option 55 present; two with options 150 and 66), and 1,000 MAC
// reservations for other clients (02:80:..., 10.200.x.y, outside the pool).
std::string policy_text() {
  std::string t;
  for (unsigned i = 0; i < 1000; ++i) {
    char r[128];
    std::snprintf(r, sizeof r, "[[subnet.reservation]]\nmac = \"02:80:00:00:%02x:%02x\"\naddress = \"10.200.%u.%u\"\n",
                  i >> 8, i & 0xff, i >> 8, i & 0xff);
    t += r;
  }
  for (unsigned i = 0; i < 50; ++i) {
    const std::string n = std::to_string(i);
    t += "[[class]]\nname = \"class-" + n + "\"\n";
    if (i == 47) {
      t += "requests = [3]\n[[class.option]]\ncode = 150\nip = [\"10.0.0.150\"]\n";
      continue;
    }
    if (i == 48) {
      t += "mac_prefix = \"02:00\"\n[[class.option]]\ncode = 66\nstring = \"tftp.bench.example\"\nalways_send = true\n";
      continue;
    }
    if (i == 49) {
      t += "[[class.match_option]]\ncode = 55\n";
      continue;
    }
    char oui[16];
    std::snprintf(oui, sizeof oui, "00:1b:%02x", i);
    switch (i % 8) {
      case 0: t += "vendor_class = \"vendor-" + n + "\"\n"; break;
      case 1: t += "vendor_class_prefix = \"Polycom" + n + "\"\n"; break;
      case 2: t += "circuit_id = \"eth0/1/" + n + "\"\n"; break;
      case 3: t += "remote_id_prefix = \"cpe-" + n + "\"\n"; break;
      case 4: t += "mac_prefix = \"" + std::string(oui) + "\"\n"; break;
      case 5: t += "vlan = " + std::to_string(100 + i) + "\n"; break;
      case 6: t += "user_class = \"uc-" + n + "\"\n"; break;
      default: t += "giaddr = \"172." + n + ".0.0/16\"\n"; break;
    }
    t += "[[class.option]]\ncode = 66\nstring = \"class-" + n + ".example\"\n";
  }
  return t;
}

// The config: one /8 subnet whose pool holds twice the clients.
std::string config_text(std::uint32_t clients, const Options& o) {
  const std::uint64_t last = (10ull << 24) + 256 + 2ull * clients;
  char pool_end[16];
  pool_end[wire::format_ipv4(static_cast<wire::Ipv4>(std::min<std::uint64_t>(last, (10ull << 24) + 0xfffffe)),
                             pool_end)] = '\0';
  return std::string(R"([server]
address = "10.0.0.1"
[[subnet]]
prefix = "10.0.0.0/8"
pools = ["10.0.1.0-)") + pool_end + R"("]
routers = ["10.0.0.1"]
dns = ["10.0.0.53"]
domain = "bench.example"
lease_time = 86400
)" + (o.policy ? policy_text() : std::string()) + (o.ddns ? std::string("[ddns]\nqualifying_suffix = \"bench.example\"\n") : std::string()) +
         "[conflict]\nprobe = \"" + o.probe + "\"\nprobe_timeout_ms = " + std::to_string(o.probe_timeout_ms) + "\n";
}

// ---- the generator ----------------------------------------------------------

struct alignas(64) Generator {
  // Set up by main before launch.
  std::vector<rte_ring*> rx;     // requests to RX queue q (worker q polls it)
  std::vector<rte_ring*> tx;     // replies from TX queue q
  std::uint32_t clients = 0;
  unsigned window = 0;
  rte_mempool* pool = nullptr;
  std::unique_ptr<bench::RequestSlot> discover, request;
  std::size_t xid_offset = 0, eth_src_offset = 6;
  std::uint64_t rx_flags = 0;            // what a NIC with RX checksum offload would set
  bool tx_checksum_offload = false;      // replies' checksums to complete, as the NIC would
  std::vector<std::uint8_t> queue_of;    // per client: RX queue of its requests
  std::vector<std::uint8_t> state;       // per client: 0 idle, 1 DISCOVER out, 2 REQUEST out
  std::vector<wire::Ipv4> offered;       // per client: address of the last OFFER
  std::vector<std::uint8_t> leased;      // per client: had an ACK once

  // gen: rw, main: ro.
  std::atomic<std::uint64_t> completed{0};   // ACKs seen for a REQUEST of ours
  std::atomic<std::uint64_t> busy_cycles{0};   // TSC cycles of loops that took replies
  std::atomic<bool> finished{false};
  // main: rw, gen: ro.
  std::atomic<bool> draining{false};
  std::atomic<std::uint64_t> drain_deadline_tsc{0};
  // Read by main after finished.
  std::uint64_t offers = 0, unexpected = 0, malformed = 0, leases = 0;
  std::uint64_t probes = 0;   // conflict probes (ARP, ICMP) the workers sent: nobody answers
  std::uint64_t in_flight = 0;

  std::uint32_t next_client = 0;
  struct Outq {
    unsigned n = 0;
    std::array<rte_mbuf*, kGenBurst> m{};
  };
  std::vector<Outq> out;

  void write_request(rte_mbuf* m, const bench::RequestSlot& t, std::uint32_t id) noexcept {
    m->data_off = RTE_PKTMBUF_HEADROOM;
    auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
    std::memcpy(p, t.frame.data(), t.frame.size());
    const wire::MacAddr mac = bench::mac_of(id);
    std::memcpy(p + eth_src_offset, mac.b.data(), 6);
    std::memcpy(p + t.chaddr_offset, mac.b.data(), 6);
    if (t.name_digits_offset != 0) {   // --names own-*: "bench-<id in 8 hex digits>"
      static constexpr char kHex[] = "0123456789abcdef";
      for (unsigned i = 0; i < 8; ++i)
        p[t.name_digits_offset + i] = static_cast<std::uint8_t>(kHex[(id >> (28 - 4 * i)) & 0xfu]);
    }
    wire::store_be32(p + xid_offset, 0x5a000000u ^ id);
    m->data_len = static_cast<std::uint16_t>(t.frame.size());
    m->pkt_len = static_cast<std::uint32_t>(t.frame.size());
    m->nb_segs = 1;
    // As a PMD's RX and the mempool leave it: `next` (the mbuf's second
    // cache line) written only when set. Writing it always dirtied that
    // line on this core, and the worker's TX offload fields (l2_len,
    // l3_len) are on it: a NIC's RX does not send that line across.
    if (m->next != nullptr) m->next = nullptr;
    m->ol_flags = rx_flags;
    m->vlan_tci = 0;
  }

  void push(rte_mbuf* m, unsigned q) noexcept {
    Outq& o = out[q];
    o.m[o.n] = m;
    if (++o.n == kGenBurst) flush(q);
  }
  void flush(unsigned q) noexcept {
    Outq& o = out[q];
    if (o.n == 0) return;
    // The rings hold the whole window: a short enqueue is a bug; the
    // mbufs are counted as lost (the run then reports them).
    const unsigned k = rte_ring_sp_enqueue_burst(rx[q], reinterpret_cast<void**>(o.m.data()), o.n, nullptr);
    if (k < o.n) {
      rte_pktmbuf_free_bulk(o.m.data() + k, o.n - k);
      in_flight -= o.n - k;
    }
    o.n = 0;
  }

  // The next client with no exchange in flight; false when draining.
  bool start_next(rte_mbuf* m) noexcept {
    if (draining.load(std::memory_order_relaxed)) return false;
    for (std::uint32_t tries = 0; tries < clients; ++tries) {
      const std::uint32_t id = next_client;
      next_client = next_client + 1 == clients ? 0 : next_client + 1;
      if (state[id] != 0) continue;
      state[id] = 1;
      write_request(m, *discover, id);
      push(m, queue_of[id]);
      return true;
    }
    return false;
  }

  void on_reply(rte_mbuf* m) noexcept {
    // The NIC's part of TX checksum offload, done on the generator's core:
    // the checksums are then verified by parse_frame like any other.
    if (tx_checksum_offload && (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM)
      wire::complete_offloaded_checksums({rte_pktmbuf_mtod(m, std::uint8_t*), m->data_len}, m->l2_len);
    const wire::Bytes pkt(rte_pktmbuf_mtod(m, const std::uint8_t*), m->data_len);
    const wire::Frame f = wire::parse_frame(pkt);
    // A conflict probe (--probe): the worker's own mbuf, not one of ours;
    // silence, so the worker offers the address after its timeout.
    if (f.error == wire::Error::ok && (f.kind == wire::FrameKind::arp || f.kind == wire::FrameKind::ipv4_icmp)) {
      ++probes;
      rte_pktmbuf_free(m);
      return;
    }
    wire::DhcpMessage& msg = discover->msg;   // scratch: the templates are never re-parsed
    std::uint32_t id = clients;
    if (f.error == wire::Error::ok && f.kind == wire::FrameKind::ipv4_udp &&
        f.udp.dst_port == wire::kPortBootpc && msg.parse(f.udp_payload(pkt)) == wire::Error::ok &&
        msg.htype == 1 && msg.hlen == 6) {
      const wire::MacAddr mac = msg.chaddr_mac();
      const std::uint32_t n = (std::uint32_t{mac.b[2]} << 24) | (std::uint32_t{mac.b[3]} << 16) |
                              (std::uint32_t{mac.b[4]} << 8) | mac.b[5];
      if (mac.b[0] == 0x02 && mac.b[1] == 0 && n < clients) id = n;
    }
    if (id == clients) {
      ++malformed;
      if (!start_next(m)) retire(m);
      return;
    }
    const auto type = msg.message_type();
    if (type == wire::MessageType::offer && state[id] == 1 && msg.yiaddr != 0) {
      ++offers;
      state[id] = 2;
      offered[id] = msg.yiaddr;
      write_request(m, *request, id);
      wire::store_be32(rte_pktmbuf_mtod(m, std::uint8_t*) + request->requested_offset, msg.yiaddr);
      push(m, queue_of[id]);
      return;
    }
    if (type == wire::MessageType::ack && state[id] == 2 && msg.yiaddr == offered[id]) {
      completed.store(completed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      if (leased[id] == 0) {
        leased[id] = 1;
        ++leases;
      }
    } else {
      ++unexpected;
    }
    state[id] = 0;
    if (!start_next(m)) retire(m);
  }

  void retire(rte_mbuf* m) noexcept {
    rte_pktmbuf_free(m);
    --in_flight;
  }

  // Fills the window with DISCOVERs; false if the pool runs short.
  bool prime() {
    out.resize(rx.size());
    for (unsigned i = 0; i < window; ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool);
      if (m == nullptr) return false;
      ++in_flight;
      if (!start_next(m)) {
        retire(m);
        break;
      }
    }
    for (unsigned q = 0; q < out.size(); ++q) flush(q);
    return true;
  }

  int run() noexcept {
    std::array<void*, kGenBurst> objs;
    while (in_flight != 0) {
      const std::uint64_t loop_start = rte_rdtsc();
      unsigned work = 0;
      for (unsigned q = 0; q < tx.size(); ++q) {
        const unsigned n = rte_ring_sc_dequeue_burst(tx[q], objs.data(), kGenBurst, nullptr);
        work += n;
        for (unsigned i = 0; i < n; ++i) {
          if (i + 2 < n) rte_prefetch0(rte_pktmbuf_mtod(static_cast<rte_mbuf*>(objs[i + 2]), void*));
          on_reply(static_cast<rte_mbuf*>(objs[i]));
        }
      }
      for (unsigned q = 0; q < out.size(); ++q) flush(q);
      if (work != 0)
        busy_cycles.store(busy_cycles.load(std::memory_order_relaxed) + (rte_rdtsc() - loop_start),
                          std::memory_order_relaxed);
      if (draining.load(std::memory_order_relaxed) &&
          rte_rdtsc() > drain_deadline_tsc.load(std::memory_order_relaxed))
        break;   // lost: reported as in_flight
    }
    finished.store(true, std::memory_order_release);
    return 0;
  }
  static int launch(void* self) { return static_cast<Generator*>(self)->run(); }
};

// ---- counters --------------------------------------------------------------

// On-CPU nanoseconds of this process's thread named `comm` (the EAL names
// lcore threads "rte-worker-<lcore>"), from /proc/self/task/*/schedstat:
// time actually run, not time preempted, so that figures from a shared
// machine are still the cost of the work. 0 if not found.
std::uint64_t thread_cpu_ns(const std::string& comm) {
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    char name[64] = "";
    if (FILE* f = std::fopen((t.path() / "comm").c_str(), "r")) {
      if (std::fgets(name, sizeof name, f) == nullptr) name[0] = '\0';
      std::fclose(f);
    }
    if (std::string(name) != comm + "\n") continue;
    unsigned long long run = 0;
    if (FILE* f = std::fopen((t.path() / "schedstat").c_str(), "r")) {
      if (std::fscanf(f, "%llu", &run) != 1) run = 0;
      std::fclose(f);
    }
    return run;
  }
  return 0;
}

struct Sample {
  std::uint64_t ns = 0;
  std::uint64_t completed = 0;
  std::vector<std::uint64_t> cpu_ns;   // per worker, then the generator
  std::uint64_t gen_busy_ns = 0;
  std::vector<std::map<std::string, std::uint64_t>> workers;
  std::uint64_t sum(const std::string& name) const {
    std::uint64_t s = 0;
    for (const auto& w : workers)
      if (auto it = w.find(name); it != w.end()) s += it->second;
    return s;
  }
  std::uint64_t of(unsigned w, const std::string& name) const {
    const auto it = workers[w].find(name);
    return it == workers[w].end() ? 0 : it->second;
  }
};

// The lcores of the workers (in the runtime's order) and, last, the generator.
std::vector<unsigned> thread_lcores(unsigned workers) {
  std::vector<unsigned> l;
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  for (unsigned i = 0; i <= workers; ++i, lcore = rte_get_next_lcore(lcore, 1, 0)) l.push_back(lcore);
  return l;
}

Sample sample(const runtime::Runtime& rt, const Generator& gen) {
  Sample s;
  for (const unsigned lcore : thread_lcores(rt.workers()))
    s.cpu_ns.push_back(thread_cpu_ns("rte-worker-" + std::to_string(lcore)));
  s.ns = now_ns();
  s.completed = gen.completed.load(std::memory_order_relaxed);
  s.gen_busy_ns = static_cast<std::uint64_t>(static_cast<double>(gen.busy_cycles.load(std::memory_order_relaxed)) *
                                             1e9 / static_cast<double>(rte_get_tsc_hz()));
  for (const auto& w : rt.snapshot()) {
    std::map<std::string, std::uint64_t> m(w.counters.begin(), w.counters.end());
    s.workers.push_back(std::move(m));
  }
  return s;
}

std::uint64_t drops_of(const Sample& s) {
  std::uint64_t d = 0;
  for (const auto& w : s.workers)
    for (const auto& [name, v] : w)
      if (name.rfind("drop.", 0) == 0 || name.rfind("engine.drop.", 0) == 0 || name.rfind("wire.", 0) == 0)
        d += v;
  return d;
}

// ---- the run -----------------------------------------------------------------

int pipeline(const Options& o) {
  store::Durability durability;
  if (o.durability == "off") durability = store::Durability::off;
  else if (o.durability == "async") durability = store::Durability::async;
  else if (o.durability == "fsync") durability = store::Durability::fsync;
  else {
    std::fprintf(stderr, "dorado-bench: --durability must be off, async or fsync\n");
    return 2;
  }
  const unsigned held_acks = 8192;   // per worker (RuntimeConfig default)
  unsigned window = o.window;
  if (window == 0) window = o.workers * (durability == store::Durability::fsync ? 4096u : 1024u);
  window = std::min<unsigned>(window, o.clients);
  if (durability == store::Durability::fsync && window > held_acks) {
    std::fprintf(stderr, "dorado-bench: --window above %u cannot be held in fsync mode\n", held_acks);
    return 2;
  }

  const unsigned lcores = o.workers + 2;
  const std::string lcore_map = o.lcores.empty() ? default_lcores(lcores) : o.lcores;
  std::vector<std::string> eal = {"--no-pci", "--no-shconf", "--no-telemetry", "--lcores=" + lcore_map,
                                  "--file-prefix=dorado-bench-" + std::to_string(getpid()),
                                  "--log-level=*:error"};
  if (!o.huge) eal.insert(eal.end(), {"--no-huge", "-m", "1024"});
  if (std::string e = runtime::init_eal("dorado-bench", eal); !e.empty()) {
    std::fprintf(stderr, "dorado-bench: %s\n", e.c_str());
    return 2;
  }
  if (rte_lcore_count() < lcores) {
    std::fprintf(stderr, "dorado-bench: need %u lcores (control, %u worker(s), generator), have %u\n",
                 lcores, o.workers, rte_lcore_count());
    return 2;
  }

  const config::LoadResult loaded = config::load_config_string(config_text(o.clients, o), "bench.toml");
  if (!loaded.ok()) {
    std::fprintf(stderr, "dorado-bench: config: %s\n", loaded.errors.front().to_string().c_str());
    return 2;
  }

  // The port: one RX and one TX ring per worker, each holding the window.
  const unsigned ring_size = std::bit_ceil(window + kGenBurst + 1);
  Generator gen;
  for (unsigned q = 0; q < o.workers; ++q) {
    const std::string n = std::to_string(q);
    gen.rx.push_back(rte_ring_create(("bench_rx" + n).c_str(), ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ));
    gen.tx.push_back(rte_ring_create(("bench_tx" + n).c_str(), ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ));
    if (gen.rx.back() == nullptr || gen.tx.back() == nullptr) {
      std::fprintf(stderr, "dorado-bench: rte_ring_create: %s\n", rte_strerror(rte_errno));
      return 2;
    }
  }
  const int port = rte_eth_from_rings("bench_port", gen.rx.data(), o.workers, gen.tx.data(), o.workers,
                                      SOCKET_ID_ANY);
  if (port < 0) {
    std::fprintf(stderr, "dorado-bench: rte_eth_from_rings: %s\n", rte_strerror(rte_errno));
    return 2;
  }
  gen.pool = rte_pktmbuf_pool_create("bench_gen", std::bit_ceil(window + 1024) - 1, 256, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (gen.pool == nullptr) {
    std::fprintf(stderr, "dorado-bench: mbuf pool: %s\n", rte_strerror(rte_errno));
    return 2;
  }

  // Request templates (the engine benchmark's: PRL, vendor class, hostname;
  // REQUEST with server id and option 50), no UDP checksum.
  const bench::ClientName names = o.names == "none"     ? bench::ClientName::none
                                  : o.names == "own-12" ? bench::ClientName::hostname
                                  : o.names == "own-81" ? bench::ClientName::fqdn
                                                        : bench::ClientName::bench_host;
  gen.discover = bench::make_slot(wire::MessageType::discover, names);
  gen.request = bench::make_slot(wire::MessageType::request, names);
  if (!gen.discover || !gen.request || gen.request->requested_offset == 0) {
    std::fprintf(stderr, "dorado-bench: cannot build the request frames\n");
    return 2;
  }
  gen.xid_offset = gen.discover->chaddr_offset - 28 + 4;
  gen.clients = o.clients;
  if (o.rx_checksum_offload) gen.rx_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  gen.tx_checksum_offload = o.tx_checksum_offload;
  gen.window = window;
  gen.queue_of.resize(o.clients);
  gen.state.assign(o.clients, 0);
  gen.offered.assign(o.clients, 0);
  gen.leased.assign(o.clients, 0);
  for (std::uint32_t id = 0; id < o.clients; ++id) {
    const wire::MacAddr mac = bench::mac_of(id);
    const engine::ClientKey k = engine::client_key_hw(1, wire::Bytes{mac.b.data(), 6});
    gen.queue_of[id] = o.one_queue ? 0 : static_cast<std::uint8_t>(engine::shard_for_hash(k.hash, o.workers));
  }

  // The store, as the daemon opens it.
  std::unique_ptr<store::Store> st;
  std::string store_dir = o.store_dir;
  if (durability != store::Durability::off) {
    if (store_dir.empty()) store_dir = "/dev/shm/dorado-bench-" + std::to_string(getpid());
    store::StoreOptions so;
    so.dir = store_dir;
    so.durability = durability;
    so.workers = o.workers;
    auto opened = store::Store::open(so);
    if (!opened.store) {
      std::fprintf(stderr, "dorado-bench: %s\n", opened.error.c_str());
      return 2;
    }
    st = std::move(opened.store);
  }

  runtime::RuntimeConfig rc;
  rc.program_name = "dorado-bench";
  rc.workers = o.workers;
  rc.idle_sleep_us = 0;
  rc.ports = {static_cast<std::uint16_t>(port)};
  rc.burst = static_cast<std::uint16_t>(o.burst);
  rc.server_address = bench::kServer;
  rc.hold_acks = durability == store::Durability::fsync;
  rc.ship_changes = st != nullptr;   // as the daemon: no store, no consumer
  rc.assume_tx_checksum_offload = o.tx_checksum_offload;   // the generator is the NIC
  rc.held_acks = held_acks;
  engine::LeaseTableSizes table;
  const std::uint64_t per_shard = o.clients / o.workers + 1;
  table.capacity = static_cast<std::uint32_t>(per_shard + per_shard / 4 + 4096);
  table.hostname_capacity = table.capacity;
  table.long_key_capacity = 64;
  rc.shard_table = table;
  auto created = runtime::Runtime::create(rc, *loaded.compiled);
  if (!created.runtime) {
    std::fprintf(stderr, "dorado-bench: %s\n", created.error.c_str());
    return 2;
  }
  runtime::Runtime& rt = *created.runtime;
  if (std::string e = rt.start(); !e.empty()) {
    std::fprintf(stderr, "dorado-bench: %s\n", e.c_str());
    return 2;
  }
  const unsigned gen_lcore = thread_lcores(o.workers).back();
  if (!gen.prime()) {
    std::fprintf(stderr, "dorado-bench: generator pool too small\n");
    return 2;
  }
  if (int ret = rte_eal_remote_launch(&Generator::launch, &gen, gen_lcore); ret != 0) {
    std::fprintf(stderr, "dorado-bench: generator lcore %u: %s\n", gen_lcore, rte_strerror(-ret));
    return 2;
  }

  // The control loop of control/daemon/serve.cpp.
  const runtime::Runtime::ChangeSink sink = [&st](unsigned w, std::span<const engine::LeaseChange> c) {
    if (st) st->take(w, c);
  };
  const long tick_ns = st ? 200'000 : 1'000'000;
  auto housekeeping = [&] {
    rt.poll_control(sink);
    if (st) {
      if (std::string msg = st->tick(now_ns() / 1000); !msg.empty())
        std::fprintf(stderr, "dorado-bench: %s\n", msg.c_str());
      for (unsigned w = 0; w < rt.workers(); ++w) rt.publish_durable(w, st->durable_shard_seq(w));
    }
    std::this_thread::sleep_for(std::chrono::nanoseconds(tick_ns));
  };

  const std::uint64_t t_start = now_ns();
  bool warm = true;
  while (gen.completed.load(std::memory_order_relaxed) < o.clients) {
    if (now_ns() - t_start > static_cast<std::uint64_t>(o.warmup_timeout * 1e9)) {
      warm = false;
      break;
    }
    housekeeping();
  }
  const double warmup_s = static_cast<double>(now_ns() - t_start) / 1e9;
  const Sample a = sample(rt, gen);
  while (warm && now_ns() - a.ns < static_cast<std::uint64_t>(o.seconds * 1e9)) housekeeping();
  const Sample b = sample(rt, gen);
  gen.drain_deadline_tsc.store(rte_rdtsc() + 5 * rte_get_tsc_hz(), std::memory_order_relaxed);
  gen.draining.store(true, std::memory_order_relaxed);
  while (!gen.finished.load(std::memory_order_acquire)) housekeeping();
  rte_eal_wait_lcore(gen_lcore);
  rt.stop();
  rt.poll_control(sink);
  const Sample end = sample(rt, gen);
  std::uint64_t store_records = 0;
  if (st) {
    if (std::string e = st->close(false); !e.empty()) std::fprintf(stderr, "dorado-bench: store: %s\n", e.c_str());
    store_records = st->counters().records;
    st.reset();
    std::error_code ec;
    if (o.store_dir.empty()) std::filesystem::remove_all(store_dir, ec);
  }

  // Figures.
  const double secs = static_cast<double>(b.ns - a.ns) / 1e9;
  const std::uint64_t dora = b.completed - a.completed;
  const double dora_s = secs > 0 ? static_cast<double>(dora) / secs : 0;
  const std::uint64_t packets = b.sum("rx_packets") - a.sum("rx_packets");
  const std::uint64_t busy = b.sum("busy_ns") - a.sum("busy_ns");
  // The workers' cost per packet on a dedicated core. On a shared machine
  // wall time includes preemption and on-CPU time includes idle polls; a
  // thread is preempted alike in busy and idle loops, so its on-CPU time in
  // busy loops is on_cpu * busy_wall / wall. Both raw figures are printed.
  const double wall_ns = static_cast<double>(b.ns - a.ns);
  auto busy_cpu = [&](unsigned t) {   // thread t: worker index, or o.workers = generator
    const double c = static_cast<double>(b.cpu_ns[t] - a.cpu_ns[t]);
    const double bz = t < o.workers ? static_cast<double>(b.of(t, "busy_ns") - a.of(t, "busy_ns"))
                                    : static_cast<double>(b.gen_busy_ns - a.gen_busy_ns);
    return wall_ns > 0 ? c * std::min(1.0, bz / wall_ns) : 0.0;
  };
  double cpu = 0, cpu_raw = 0;
  for (unsigned w = 0; w < o.workers; ++w) {
    cpu += busy_cpu(w);
    cpu_raw += static_cast<double>(b.cpu_ns[w] - a.cpu_ns[w]);
  }
  const double ns_pkt = packets != 0 ? cpu / static_cast<double>(packets) : 0;
  const double cpu_ns_pkt = packets != 0 ? cpu_raw / static_cast<double>(packets) : 0;
  const double busy_ns_pkt = packets != 0 ? static_cast<double>(busy) / static_cast<double>(packets) : 0;
  const double capacity = ns_pkt > 0 ? 1e9 / (2 * ns_pkt) : 0;   // DORA/s per dedicated worker core
  const double gen_cpu = busy_cpu(o.workers);
  const double gen_ns_dora = dora != 0 ? gen_cpu / static_cast<double>(dora) : 0;
  const double wall_ns_pkt =
      packets != 0 ? secs * 1e9 * o.workers / static_cast<double>(packets) : 0;
  const std::uint64_t acks_sent = end.sum("engine.tx_ack");
  const std::uint64_t drops = drops_of(end);
  const std::uint64_t total = gen.completed.load();

  std::string per_worker;
  for (unsigned w = 0; w < o.workers; ++w) {
    const std::uint64_t p = b.of(w, "rx_packets") - a.of(w, "rx_packets");
    const std::uint64_t h = b.of(w, "handed_in") - a.of(w, "handed_in");
    const std::uint64_t bz = b.of(w, "busy_ns") - a.of(w, "busy_ns");
    const std::uint64_t c = b.cpu_ns[w] - a.cpu_ns[w];
    char buf[240];
    std::snprintf(buf, sizeof buf,
                  "  worker %u: %" PRIu64 " packets in, %" PRIu64 " handed in, on CPU %.0f%% of the time, "
                  "in busy loops %.0f%%, %.1f ns/packet taken (in + handed in)\n",
                  w, p, h, wall_ns > 0 ? 100.0 * static_cast<double>(c) / wall_ns : 0.0,
                  wall_ns > 0 ? 100.0 * static_cast<double>(bz) / wall_ns : 0.0,
                  p + h != 0 ? busy_cpu(w) / static_cast<double>(p + h) : 0.0);
    per_worker += buf;
  }
  std::printf("dorado-bench pipeline: %u worker(s), %u clients (names %s), durability %s, ddns %s, window %u, lcores %s, %ld CPUs%s%s\n",
              o.workers, o.clients, o.names.c_str(), o.durability.c_str(), o.ddns ? "on" : "off", window,
              lcore_map.c_str(), sysconf(_SC_NPROCESSORS_ONLN),
              o.rx_checksum_offload ? ", RX checksums marked good (as by NIC offload)" : "",
              o.tx_checksum_offload ? ", TX checksums completed by the generator (as by NIC offload)" : "");
  std::printf("  warm-up: %.2f s (every client one DORA: %.0f new-client DORA/s)%s\n", warmup_s,
              warmup_s > 0 ? o.clients / warmup_s : 0.0, warm ? "" : " TIMED OUT");
  if (o.probe != "off")
    std::printf("  conflict probes: %s, timeout %u ms: %" PRIu64 " probes seen by the generator, %" PRIu64
                " sent, %" PRIu64 " timed out, %" PRIu64 " OFFERs unprobed\n",
                o.probe.c_str(), o.probe_timeout_ms, gen.probes, end.sum("probes_sent"),
                end.sum("probes_timed_out"), end.sum("probes_skipped"));
  std::printf("  steady state: %.2f s, %" PRIu64 " DORAs: %.0f DORA/s, %.0f DORA/s per worker\n", secs, dora,
              dora_s, dora_s / o.workers);
  std::printf("  worker cost: %.1f ns/packet on CPU in busy loops (= %.0f DORA/s per dedicated worker core); "
              "raw: %.1f ns/packet on CPU, %.1f in busy loops (wall), %.1f of wall time per worker\n",
              ns_pkt, capacity, cpu_ns_pkt, busy_ns_pkt, wall_ns_pkt);
  std::printf("  generator: %.1f ns on CPU per DORA in busy loops\n", gen_ns_dora);
  std::fputs(per_worker.c_str(), stdout);
  std::printf("  whole run: %" PRIu64 " DORAs seen by the generator, %" PRIu64 " ACKs sent by the engine, %" PRIu64
              " leases, %" PRIu64 " unexpected, %" PRIu64 " malformed, %" PRIu64 " lost, %" PRIu64 " drops, %" PRIu64
              " store records\n",
              total, acks_sent, gen.leases, gen.unexpected, gen.malformed, gen.in_flight, drops, store_records);
  if (o.json) {
    std::printf("{\"workers\":%u,\"clients\":%u,\"durability\":\"%s\",\"seconds\":%.3f,\"window\":%u,"
                "\"dora\":%" PRIu64 ",\"dora_per_sec\":%.0f,\"dora_per_sec_per_worker\":%.0f,"
                "\"ns_per_packet\":%.1f,\"cpu_ns_per_packet\":%.1f,\"busy_ns_per_packet\":%.1f,\"wall_ns_per_packet\":%.1f,"
                "\"dora_per_sec_per_core_capacity\":%.0f,\"generator_ns_per_dora\":%.1f,\"warmup_seconds\":%.3f,\"warmup_dora_per_sec\":%.0f,"
                "\"probe\":\"%s\",\"probe_timeout_ms\":%u,\"probes_sent\":%" PRIu64 ",\"probes_skipped\":%" PRIu64 ","
                "\"dora_total\":%" PRIu64 ",\"acks_sent\":%" PRIu64 ",\"leases\":%" PRIu64
                ",\"unexpected\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"drops\":%" PRIu64
                ",\"store_records\":%" PRIu64 ",\"cpus\":%ld,\"lcores\":\"%s\",\"rx_checksum_offload\":%s,\"tx_checksum_offload\":%s,"
                "\"ddns\":%s,\"names\":\"%s\",\"policy\":%s}\n",
                o.workers, o.clients, o.durability.c_str(), secs, window, dora, dora_s, dora_s / o.workers, ns_pkt,
                cpu_ns_pkt, busy_ns_pkt, wall_ns_pkt, capacity, gen_ns_dora, warmup_s,
                warmup_s > 0 ? o.clients / warmup_s : 0.0, o.probe.c_str(), o.probe_timeout_ms, end.sum("probes_sent"),
                end.sum("probes_skipped"), total, acks_sent, gen.leases, gen.unexpected, gen.malformed, gen.in_flight,
                drops, store_records, sysconf(_SC_NPROCESSORS_ONLN), lcore_map.c_str(),
                o.rx_checksum_offload ? "true" : "false", o.tx_checksum_offload ? "true" : "false",
                o.ddns ? "true" : "false", o.names.c_str(), o.policy ? "true" : "false");
  }
  std::fflush(stdout);

  // Teardown: what is left in the rings, then the runtime (closes the port), rings, pool.
  for (rte_ring* r : gen.rx) {
    void* m = nullptr;
    while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
  }
  for (rte_ring* r : gen.tx) {
    void* m = nullptr;
    while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
  }
  created.runtime.reset();
  for (rte_ring* r : gen.rx) rte_ring_free(r);
  for (rte_ring* r : gen.tx) rte_ring_free(r);
  rte_mempool_free(gen.pool);
  runtime::cleanup_eal();
  return warm && gen.in_flight == 0 && gen.unexpected == 0 && gen.malformed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dorado-bench: whole-pipeline benchmarks of dorado (DPDK in one process, no NIC)"};
  app.require_subcommand(1);
  Options o;
  CLI::App* p = app.add_subcommand(
      "pipeline",
      "generator + N runtime workers over net_ring ports: DORA/s and ns/packet in steady state");
  p->add_option("-w,--workers", o.workers, "worker lcores")->check(CLI::Range(1, 64));
  p->add_option("-n,--clients", o.clients, "distinct clients")->check(CLI::Range(1u, 1u << 24));
  p->add_option("-s,--seconds", o.seconds, "steady-state seconds measured")->check(CLI::Range(0.1, 3600.0));
  p->add_option("-d,--durability", o.durability, "off, async or fsync (store on tmpfs)")
      ->check(CLI::IsMember({"off", "async", "fsync"}));
  p->add_option("--window", o.window, "DORAs in flight (default 1024 per worker, 4096 with fsync)");
  p->add_option("--burst", o.burst, "the runtime's RX burst")->check(CLI::Range(1, 512));
  p->add_option("--lcores", o.lcores, "EAL --lcores map for control, workers, generator (default: lcore i on CPU i mod ncpu)");
  p->add_option("--store-dir", o.store_dir, "store directory (default /dev/shm/dorado-bench-PID, removed at exit)");
  p->add_option("--warmup-timeout", o.warmup_timeout, "seconds allowed for the warm-up");
  p->add_flag("--one-queue", o.one_queue, "all requests on RX queue 0 (as a NIC without RSS for DHCP): the other workers get theirs through the handoff rings");
  p->add_flag("--rx-checksum-offload", o.rx_checksum_offload,
              "mark requests as a NIC with RX checksum offload does (IPv4 and UDP checksums good): the workers do not sum them");
  p->add_flag("--tx-checksum-offload", o.tx_checksum_offload,
              "replies leave their IPv4 and UDP checksums to the NIC, as on a port with TX checksum offload; the "
              "generator completes them as the NIC would (on its own core) before checking them");
  p->add_flag("--huge", o.huge, "use hugepages (default --no-huge)");
  p->add_flag("--policy", o.policy,
              "50 [[class]] and 1,000 reservations (issue 16; engine_bench's BM_EngineDoraPolicy config): "
              "3 classes match every request, two of them add options 150 and 66");
  p->add_flag("--ddns", o.ddns,
              "[ddns] on (qualifying_suffix bench.example): the workers decide names and write option 81; no DNS "
              "server is involved (the control thread's updates are ddns_bench.sh's)");
  p->add_option("--names", o.names,
                "what the clients send: bench-host (option 12 \"bench-host\", the default), none, own-12 (option 12 "
                "\"bench-<id>\"), own-81 (option 81 S=1 E=1 \"bench-<id>\")")
      ->check(CLI::IsMember({"bench-host", "none", "own-12", "own-81"}));
  p->add_option("--probe", o.probe, "[conflict] probe: conflict detection before each new client's OFFER (the generator never answers)")
      ->check(CLI::IsMember({"off", "arp", "icmp"}));
  p->add_option("--probe-timeout-ms", o.probe_timeout_ms, "[conflict] probe_timeout_ms")->check(CLI::Range(1, 10000));
  p->add_flag("--json", o.json, "last line: one JSON object with the figures");
  CLI11_PARSE(app, argc, argv);
  return pipeline(o);
}
