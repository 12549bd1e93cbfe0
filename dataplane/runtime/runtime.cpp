#include "runtime/runtime.hpp"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>

#include "runtime/worker.hpp"
#include "wire/text.hpp"

namespace dorado::runtime {
namespace {

constexpr unsigned kHandoffRingSize = 4096;   // holds 4095 mbuf pointers
constexpr unsigned kMempoolCache = 256;
// rte_mempool's per-lcore cache holds up to 1.5x its size before flushing.
constexpr unsigned kMempoolCacheMax = kMempoolCache * 3 / 2;
// A request appends at most this many records to its shard's change log
// (engine.cpp kMaxChangesPerRequest); the log is drained after every burst.
constexpr unsigned kChangesPerRequest = 4;
// Control-API rings per worker (requests in, replies out): a few requests in
// flight, and a request's replies (<= kMaxAdminReplies) always fit.
constexpr unsigned kAdminRingSize = 256;
static_assert(kAdminRingSize > engine::kMaxAdminReplies);
constexpr std::uint64_t kMaxMbufs = 1ull << 31;   // beyond any sane pool; keeps the rounding in range

static_assert(sizeof(engine::LeaseChange) % 4 == 0, "rte_ring_create_elem: multiple of 4 bytes");
static_assert(std::is_trivially_copyable_v<engine::LeaseChange>);

// The EAL is process-wide and can be initialised once; this mirrors its state.
// Touched by the main thread only (init_eal, cleanup_eal, Runtime::create).
enum class EalState : std::uint8_t { none, ready, cleaned_up };
EalState& eal_state() {
  static EalState state = EalState::none;
  return state;
}

std::string errno_text(int err) { return rte_strerror(err < 0 ? -err : err); }

std::string port_error(std::uint16_t port, int queue, const char* what, int ret) {
  std::string s = "port " + std::to_string(port);
  if (queue >= 0) s += " queue " + std::to_string(queue);
  return s + ": " + what + ": " + errno_text(ret);
}

// Mempools are most efficient at 2^k - 1 elements (their ring has 2^k slots).
std::uint64_t round_up_pow2_minus1(std::uint64_t n) {
  std::uint64_t p = 1;
  while (p - 1 < n) p <<= 1;
  return p - 1;
}

void free_mbufs_in(rte_ring* r) {
  std::array<void*, 64> objs;
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst(r, objs.data(), objs.size(), nullptr)) != 0)
    for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(untag(objs[i]));
}

}  // namespace

engine::LeaseTableSizes shard_table_for(const engine::CompiledConfig& config, unsigned workers,
                                        std::uint32_t max_leases) {
  std::uint64_t addresses = 0;
  for (const auto& b : config.blocks) addresses += static_cast<unsigned>(__builtin_popcountll(b.allocatable));
  const std::uint64_t per_shard = addresses / std::max(workers, 1u) + 1;
  const std::uint64_t cap = max_leases != 0
                                ? max_leases
                                : std::max<std::uint64_t>(4096, 2 * per_shard + config.reservations.size());
  engine::LeaseTableSizes t;
  t.capacity = static_cast<std::uint32_t>(std::min<std::uint64_t>(cap, 1u << 30));
  t.hostname_capacity = t.capacity;
  t.long_key_capacity = std::max<std::uint32_t>(64, t.capacity / 16);
  return t;
}

std::string init_eal(const std::string& program_name, const std::vector<std::string>& eal_args) {
  switch (eal_state()) {
    case EalState::ready: return {};
    case EalState::cleaned_up: return "EAL initialisation: the EAL was already cleaned up";
    case EalState::none: break;
  }
  std::vector<std::string> args;
  args.push_back(program_name);
  args.insert(args.end(), eal_args.begin(), eal_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // rte_eal_init permutes argv but copies what it keeps.
  const int ret = rte_eal_init(static_cast<int>(args.size()), argv.data());
  if (ret < 0) {
    std::string s = "EAL initialisation failed (rte_eal_init: " + errno_text(rte_errno) +
                    "); EAL arguments:";
    if (eal_args.empty()) s += " (none)";
    for (const auto& a : eal_args) s += " " + a;
    return s;
  }
  eal_state() = EalState::ready;
  return {};
}

void cleanup_eal() noexcept {
  if (eal_state() != EalState::ready) return;
  rte_eal_cleanup();
  eal_state() = EalState::cleaned_up;
}

struct Runtime::Impl {
  RuntimeConfig config;
  const engine::CompiledConfig* engine_config = nullptr;
  std::vector<PortState> ports;              // in configuration order
  std::array<int, RTE_MAX_ETHPORTS> port_index{};   // port id -> ports[] index, -1 none
  // Per-circuit limits (engine/limits.hpp): one count table for every
  // worker's shard, declared before `workers` so that it outlives them.
  // Address space only until written (engine/reserved.hpp).
  std::unique_ptr<engine::LimitTable> limits;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<rte_ring*> handoff_rings;      // mbuf pointers, worker -> worker
  std::vector<rte_ring*> change_rings;       // LeaseChange records, worker -> control
  std::vector<rte_ring*> admin_rings;        // control API: requests in, replies out, per worker
  // Pool segments of the watched pools (watch_pools, reconfigure) over the
  // config in force; read-only for the workers, replaced only once every
  // worker has switched to the next one.
  std::unique_ptr<std::vector<PoolSegment>> pool_segments = std::make_unique<std::vector<PoolSegment>>();
  std::uint32_t watched_pools = 0;
  // reconfigure() under way (or timed out): workers may be swapping their
  // config gauges, so gauges() answers `frozen_gauges` instead. cp only.
  bool reconfiguring = false;
  std::vector<WorkerGauges> frozen_gauges;
  // cp: rw (request_stop, from the control thread or a signal handler),
  // dp: ro (every worker polls it once per loop).
  std::atomic<bool> quit{false};
  static_assert(std::atomic<bool>::is_always_lock_free);
  std::atomic<bool> store_writable{true};   // cp: rw, dp: ro (every loop)
  std::atomic<std::uint8_t> ha_serve{static_cast<std::uint8_t>(engine::HaServe::none)};   // cp: rw, dp: ro
  std::uint64_t reload_generation = 0;      // cp only: last reconfigure's generation
  // Trace orders (trace_start, trace_stop) with the generation each was
  // posted at, oldest first; the last is in force. One is freed once every
  // worker has acknowledged a later generation (retire_trace_orders). cp only.
  std::deque<std::pair<std::uint64_t, std::unique_ptr<TraceOrder>>> trace_orders;
  std::uint64_t trace_generation = 0;
  std::uint64_t trace_session = 0;
  bool start_attempted = false;
  bool launched = false;                     // some worker may have been launched
  bool stopped = false;
  Clock clock;

  Impl() { port_index.fill(-1); }
  // Releases whatever create() got to, in the only safe order: workers
  // joined, rings emptied, ports stopped and closed (which returns their RX
  // mbufs), TX buffers, rings, pools.
  ~Impl();

  void post_trace(std::unique_ptr<TraceOrder> order);
  void retire_trace_orders();
  std::string setup_ports();
  std::string setup_port(PortState& p);
  std::string setup_workers();
  void stop();
};

Runtime::Impl::~Impl() {
  stop();
  for (auto& p : ports)
    if (p.configured) rte_eth_dev_close(p.id);
  workers.clear();
  for (rte_ring* r : handoff_rings) rte_ring_free(r);
  for (rte_ring* r : change_rings) rte_ring_free(r);
  for (rte_ring* r : admin_rings) rte_ring_free(r);
  for (auto& p : ports) rte_mempool_free(p.pool);
}

void Runtime::Impl::stop() {
  if (stopped) return;
  quit.store(true, std::memory_order_relaxed);
  if (launched) rte_eal_mp_wait_lcore();
  // A worker that stopped first may have had replies or requests put in its
  // rings by a peer that had not seen `quit` yet: nobody else will take them.
  for (rte_ring* r : handoff_rings) free_mbufs_in(r);
  for (auto& p : ports) {
    if (!p.started) continue;
    rte_eth_dev_stop(p.id);
    p.started = false;
  }
  stopped = true;
}

std::string Runtime::Impl::setup_port(PortState& p) {
  rte_eth_dev_info info;
  int ret = rte_eth_dev_info_get(p.id, &info);
  if (ret != 0) return port_error(p.id, -1, "rte_eth_dev_info_get", ret);
  const unsigned workers = config.workers;
  // Fewer queues than workers is fine: workers without an RX queue get their
  // clients through the handoff rings, those without a TX queue forward
  // replies to the queue's owner (setup_workers).
  p.rx_queues = static_cast<std::uint16_t>(std::min<unsigned>(workers, info.max_rx_queues));
  p.tx_queues = static_cast<std::uint16_t>(std::min<unsigned>(workers, info.max_tx_queues));
  if (p.rx_queues == 0 || p.tx_queues == 0)
    return "port " + std::to_string(p.id) + ": device reports no RX or TX queue";

  rte_eth_conf conf{};
  if (p.rx_queues > 1) {
    // DHCP from 0.0.0.0:68 or one relay hashes to one queue anyway; RSS only
    // spreads the rest. The handoff rings put each client on its shard.
    // Only hash types the PMD offers: asking for others fails the configure;
    // without any (no RSS) packets land on queue 0 or as the PMD spreads them.
    const std::uint64_t hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
    if (hf != 0) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf = hf;
    }
  }
  // RX checksum offload where the NIC has it: a frame it marks good is not
  // summed again by the worker (about 330 bytes per request); one it marks
  // bad or unknown is checked in software, which decides and counts.
  conf.rxmode.offloads =
      info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
  p.rx_checksum_offload = conf.rxmode.offloads;
  // TX checksum offload where the NIC has both: a reply's IPv4 and UDP
  // checksums are then the NIC's work, not a sum over ~330 bytes the worker
  // has just written (25-35 ns per packet, bench/results/2026-11-30.md).
  constexpr std::uint64_t kTxChecksums = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  if ((info.tx_offload_capa & kTxChecksums) == kTxChecksums) conf.txmode.offloads = kTxChecksums;
  p.tx_checksum_offload = conf.txmode.offloads != 0;
  p.tx_checksum_assumed = !p.tx_checksum_offload && config.assume_tx_checksum_offload;
  ret = rte_eth_dev_configure(p.id, p.rx_queues, p.tx_queues, &conf);
  if (ret != 0) return port_error(p.id, -1, "rte_eth_dev_configure", ret);
  p.configured = true;
  std::uint16_t rx_desc = config.rx_desc, tx_desc = config.tx_desc;
  ret = rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &rx_desc, &tx_desc);
  if (ret != 0) return port_error(p.id, -1, "rte_eth_dev_adjust_nb_rx_tx_desc", ret);
  p.rx_desc = rx_desc;
  p.tx_desc = tx_desc;

  const int socket = rte_eth_dev_socket_id(p.id);
  const unsigned socket_id = socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket);
  // What can be out of the pool at once: every RX descriptor, every TX
  // descriptor until the PMD frees it, per worker a burst in hand and a TX
  // buffer, per lcore that frees mbufs (workers and the main lcore, which
  // closes the port) a full mempool cache, and the handoff rings: one ring's
  // worth per worker. A consumer that falls further behind shows as
  // rx_nombuf (counted by the NIC), not as a stall. [dpdk] mbufs only raises
  // this floor: below it the RX rings could not even be filled.
  std::uint64_t need = std::uint64_t{p.rx_queues} * rx_desc + std::uint64_t{p.tx_queues} * tx_desc +
                       std::uint64_t{workers} * 2 * config.burst +
                       std::uint64_t{workers + 1} * kMempoolCacheMax +
                       (workers > 1 ? std::uint64_t{workers} * (kHandoffRingSize - 1) : 0) +
                       (config.hold_acks ? std::uint64_t{workers} * config.held_acks : 0);
  need = std::max<std::uint64_t>(need, config.mbufs);
  const std::uint64_t mbufs = round_up_pow2_minus1(need);
  if (mbufs >= kMaxMbufs)
    return "port " + std::to_string(p.id) + ": " + std::to_string(need) + " mbufs: too many";
  const std::string pool_name = "dorado_mb_" + std::to_string(p.id);
  p.pool = rte_pktmbuf_pool_create(pool_name.c_str(), static_cast<unsigned>(mbufs), kMempoolCache,
                                   0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(socket_id));
  if (p.pool == nullptr)
    return port_error(p.id, -1,
                      ("rte_pktmbuf_pool_create (" + std::to_string(mbufs) + " mbufs)").c_str(),
                      rte_errno);

  for (std::uint16_t q = 0; q < p.rx_queues; ++q) {
    ret = rte_eth_rx_queue_setup(p.id, q, rx_desc, socket_id, nullptr, p.pool);
    if (ret != 0) return port_error(p.id, q, "rte_eth_rx_queue_setup", ret);
  }
  for (std::uint16_t q = 0; q < p.tx_queues; ++q) {
    ret = rte_eth_tx_queue_setup(p.id, q, tx_desc, socket_id, nullptr);
    if (ret != 0) return port_error(p.id, q, "rte_eth_tx_queue_setup", ret);
  }
  rte_ether_addr mac;
  ret = rte_eth_macaddr_get(p.id, &mac);
  if (ret != 0) return port_error(p.id, -1, "rte_eth_macaddr_get", ret);
  std::memcpy(p.mac.b.data(), mac.addr_bytes, 6);
  // Clients send to the broadcast address, relays and renewing clients to
  // our MAC; nothing else is of interest, so no promiscuous mode. No VLAN
  // strip offload either: tags stay in the frame and go back in the reply.
  return {};
}

std::string Runtime::Impl::setup_ports() {
  std::vector<std::uint16_t> ids = config.ports;
  if (ids.empty()) {
    std::uint16_t id;
    RTE_ETH_FOREACH_DEV(id) ids.push_back(id);
  }
  if (ids.empty()) return "no DPDK port found: give a PCI device bound to vfio-pci or a --vdev";
  for (std::uint16_t id : ids) {
    if (id >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(id))
      return "port " + std::to_string(id) + ": no such port";
    if (port_index[id] >= 0) return "port " + std::to_string(id) + ": listed twice";
    port_index[id] = static_cast<int>(ports.size());
    ports.push_back(PortState{});
    ports.back().id = id;
  }
  for (auto& p : ports)
    if (std::string e = setup_port(p); !e.empty()) return e;
  return {};
}

std::string Runtime::Impl::setup_workers() {
  const unsigned n = config.workers;
  if (rte_lcore_count() < n + 1)
    return "need " + std::to_string(n + 1) + " lcores (1 control + " + std::to_string(n) +
           " workers), the EAL has " + std::to_string(rte_lcore_count()) + ": adjust -l";
  const engine::LeaseTableSizes table = config.shard_table.value_or(shard_table_for(*engine_config, n, config.max_leases));
  // Sized for every lease record of every shard: a reload may turn limits on.
  limits = std::make_unique<engine::LimitTable>(std::uint64_t{table.capacity} * n);
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  for (unsigned w = 0; w < n; ++w, lcore = rte_get_next_lcore(lcore, 1, 0)) {
    engine::ShardConfig sc;
    sc.identity = engine::ShardIdentity{w, n};
    sc.table = table;
    // The change log holds one burst's records (the worker drains it after
    // every burst) plus the sweep's, which sweep() bounds by the room left.
    sc.change_log_capacity = std::max<std::uint32_t>(sc.change_log_capacity,
                                                     2 * kChangesPerRequest * config.burst);
    sc.change_bodies = config.ship_changes;   // else the worker only counts them
    // Option 82 kept and journaled for leasequery, and with per-circuit
    // limits at start-up so that a restart counts each lease by its circuit.
    sc.keep_relay_info = !engine_config->leasequery_allowed.empty() ||
                         !engine_config->subnet_limits.empty();   // engine/relay_info.hpp
    sc.limits = limits.get();
    auto created = engine::Shard::create(*engine_config, sc);
    if (!created.shard) return "worker " + std::to_string(w) + ": " + created.error;
    workers.push_back(std::make_unique<Worker>(WorkerSetup{
        w, lcore, std::move(created.shard), config.server_address, config.burst,
        config.idle_sleep_us, &quit, &clock, config.hold_acks, config.held_acks, &store_writable,
        engine_config->ha.enabled ? &ha_serve : nullptr, config.ship_changes}));
  }
  // Queues: worker w polls RX queue w and sends on TX queue w of each port
  // where the port has that many; otherwise it forwards replies to the worker
  // owning TX queue (w % tx_queues), which keeps every queue single-writer.
  for (auto& w : workers) {
    for (const auto& p : ports) {
      if (w->index() < p.rx_queues) w->add_rx(p.id, static_cast<std::uint16_t>(w->index()));
      const bool own_tx = w->index() < p.tx_queues;
      const unsigned tx_owner = own_tx ? w->index() : w->index() % p.tx_queues;
      const unsigned tx_buffer = std::min<unsigned>(config.burst, std::max(1, p.tx_desc / 2));
      auto st = w->add_tx(p.id, static_cast<std::uint16_t>(tx_owner), own_tx, p.mac, p.pool,
                          tx_buffer, p.tx_checksum_offload || p.tx_checksum_assumed);
      if (!st.empty()) return st;
    }
  }
  for (unsigned a = 0; a < n; ++a) {
    for (unsigned b = 0; b < n; ++b) {
      if (a == b) continue;
      const std::string name = "dorado_h" + std::to_string(a) + "_" + std::to_string(b);
      // On the consumer's socket: it is the one that reads the mbufs next.
      rte_ring* r = rte_ring_create(name.c_str(), kHandoffRingSize,
                                    static_cast<int>(rte_lcore_to_socket_id(workers[b]->lcore())),
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (r == nullptr) return "ring " + name + ": " + errno_text(rte_errno);
      handoff_rings.push_back(r);
      workers[a]->connect_out(b, r);
      workers[b]->connect_in(r);
    }
    const std::string name = "dorado_c" + std::to_string(a);
    rte_ring* r = rte_ring_create_elem(name.c_str(), sizeof(engine::LeaseChange), config.change_ring,
                                       static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r == nullptr) return "ring " + name + ": " + errno_text(rte_errno);
    change_rings.push_back(r);
    workers[a]->connect_changes(r);
    const std::string qname = "dorado_aq" + std::to_string(a), rname = "dorado_ar" + std::to_string(a);
    rte_ring* q = rte_ring_create_elem(qname.c_str(), sizeof(engine::AdminRequest), kAdminRingSize,
                                       static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (q == nullptr) return "ring " + qname + ": " + errno_text(rte_errno);
    admin_rings.push_back(q);
    rte_ring* rr = rte_ring_create_elem(rname.c_str(), sizeof(engine::AdminReply), kAdminRingSize,
                                        static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (rr == nullptr) return "ring " + rname + ": " + errno_text(rte_errno);
    admin_rings.push_back(rr);
    workers[a]->connect_admin(q, rr);
  }
  for (auto& w : workers) w->set_peers(n);
  return {};
}

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Runtime::Created Runtime::create(const RuntimeConfig& config,
                                 const engine::CompiledConfig& engine_config) {
  if (config.workers == 0) return {nullptr, "workers must be at least 1"};
  if (config.burst == 0 || config.burst > kMaxBurst)
    return {nullptr, "burst must be 1.." + std::to_string(kMaxBurst) + " (got " +
                         std::to_string(config.burst) + ")"};
  if (config.rx_desc == 0 || config.tx_desc == 0) return {nullptr, "rx_desc and tx_desc must be at least 1"};
  if (!std::has_single_bit(config.change_ring) || config.change_ring < 1024)
    return {nullptr, "change_ring must be a power of two >= 1024"};
  if (config.hold_acks && !std::has_single_bit(config.held_acks))
    return {nullptr, "held_acks must be a power of two"};
  if (std::string e = init_eal(config.program_name, config.eal_args); !e.empty()) return {nullptr, e};
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->engine_config = &engine_config;
  impl->clock = Clock::start();
  // On failure `impl` is destroyed here, which releases what was set up.
  if (std::string e = impl->setup_ports(); !e.empty()) return {nullptr, e};
  if (std::string e = impl->setup_workers(); !e.empty()) return {nullptr, e};
  return {std::unique_ptr<Runtime>(new Runtime(std::move(impl))), {}};
}

Runtime::~Runtime() = default;   // Impl::~Impl stops and releases

std::string Runtime::start() {
  Impl& im = *impl_;
  if (im.start_attempted) return "runtime: start() may be called once";
  im.start_attempted = true;
  for (auto& p : im.ports) {
    const int ret = rte_eth_dev_start(p.id);
    if (ret != 0) return port_error(p.id, -1, "rte_eth_dev_start", ret);
    p.started = true;
  }
  for (auto& w : im.workers) {
    const int ret = rte_eal_remote_launch(&Worker::launch, w.get(), w->lcore());
    if (ret != 0)   // the ones already running are joined by stop()
      return "lcore " + std::to_string(w->lcore()) + ": rte_eal_remote_launch: " + errno_text(ret);
    im.launched = true;
  }
  return {};
}

void Runtime::request_stop() noexcept { impl_->quit.store(true, std::memory_order_relaxed); }
bool Runtime::stop_requested() const noexcept { return impl_->quit.load(std::memory_order_relaxed); }

void Runtime::stop() { impl_->stop(); }

void Runtime::reserve_leases(std::uint64_t leases) {
  const std::uint64_t n = impl_->workers.size();
  // The client hash spreads the leases binomially: a shard's count stays
  // within 4 standard deviations (sqrt of the mean) of its share. (It was
  // 1/8 over, which put 1 M leases on 1 worker in an index of 4 M slots.)
  const std::uint64_t mean = leases / n;
  const std::uint64_t share = mean + 4 * static_cast<std::uint64_t>(std::sqrt(static_cast<double>(mean))) + 64;
  for (auto& w : impl_->workers)
    w->reserve_leases(static_cast<std::uint32_t>(std::min<std::uint64_t>(share, 1u << 30)));
}

void Runtime::prefetch_restore(const engine::LeaseChange& lease) const noexcept {
  const Impl& im = *impl_;
  const auto n = static_cast<std::uint32_t>(im.workers.size());
  im.workers[engine::owner_shard_of(lease, *im.engine_config, n)]->prefetch_restore(lease);
}

engine::RestoreStatus Runtime::restore_lease(const engine::LeaseChange& lease, engine::Seconds now) {
  Impl& im = *impl_;
  const auto n = static_cast<std::uint32_t>(im.workers.size());
  const std::uint32_t owner = engine::owner_shard_of(lease, *im.engine_config, n);
  const engine::RestoreStatus st = im.workers[owner]->restore(lease, now);
  if (st != engine::RestoreStatus::foreign) return st;
  // The worker count changed since the lease was written: its client's
  // shard serves it, the block's owner holds the address until it expires.
  const std::uint32_t block_owner = engine::block_owner_of(lease, *im.engine_config, n);
  const engine::RestoreStatus hold = im.workers[block_owner]->restore_hold(lease, now);
  if (hold == engine::RestoreStatus::restored) return st;
  im.workers[owner]->forget_foreign(lease);   // no hold: the client must not keep it either
  return hold;
}

std::size_t Runtime::poll_control(const ChangeSink& sink) {
  std::size_t total = 0;
  for (auto& w : impl_->workers)
    total += w->drain_changes([&](std::span<const engine::LeaseChange> c) { sink(w->index(), c); });
  return total;
}

namespace {
// The allocatable addresses of each of `pools` per address block of `cc`, as
// segments (pool order, then address order); sizes[p] = pool p's addresses.
std::vector<PoolSegment> pool_segments_of(const engine::CompiledConfig& cc,
                                          std::span<const engine::AddressRange> pools,
                                          std::vector<std::uint64_t>& sizes) {
  std::vector<PoolSegment> out;
  sizes.assign(pools.size(), 0);
  for (std::uint32_t p = 0; p < pools.size(); ++p) {
    const engine::AddressRange r = pools[p];
    const std::uint32_t s = cc.subnet_index_of(r.first);
    if (s == engine::kNil || r.last < r.first) continue;
    for (std::uint64_t base = r.first & ~63u; base <= r.last; base += 64) {
      const auto ip = static_cast<engine::Ipv4>(base);
      // The chunk may begin below a small subnet: look it up by an address of the pool.
      const engine::Ipv4 probe = std::max<engine::Ipv4>(ip, r.first);
      if (!cc.subnets[s].contains(probe)) continue;
      const std::uint32_t b = cc.block_of(cc.subnets[s], probe);
      if (b == engine::kNil) continue;
      const unsigned lo = r.first > ip ? r.first - ip : 0;
      const unsigned hi = r.last - ip >= 63 ? 63 : r.last - ip;
      const std::uint64_t span = (hi == 63 ? ~0ull : (1ull << (hi + 1)) - 1) & ~((1ull << lo) - 1);
      const std::uint64_t mask = span & cc.blocks[b].allocatable;
      if (mask == 0) continue;
      out.push_back({b, p, mask});
      sizes[p] += static_cast<std::uint64_t>(std::popcount(mask));
    }
  }
  return out;
}
}  // namespace

Runtime::ReconfigureResult Runtime::reconfigure(const engine::CompiledConfig& next,
                                                std::span<const engine::AddressRange> watch,
                                                const std::function<void()>& while_waiting,
                                                unsigned timeout_ms) {
  Impl& im = *impl_;
  ReconfigureResult r;
  if (!im.launched || im.stopped) {
    r.error = "the workers are not running";
    return r;
  }
  const std::size_t n = im.workers.size();
  std::vector<std::unique_ptr<engine::Allocator>> fresh;
  std::vector<std::unique_ptr<ConfigGauges>> new_gauges;
  std::vector<ReloadOrder> orders(n);
  auto segments = std::make_unique<std::vector<PoolSegment>>();
  try {
    *segments = pool_segments_of(next, watch, r.pool_sizes);
    for (std::size_t w = 0; w < n; ++w) {
      fresh.push_back(std::make_unique<engine::Allocator>(next, im.workers[w]->identity()));
      new_gauges.push_back(std::make_unique<ConfigGauges>(
          ConfigGauges::make(static_cast<std::uint32_t>(next.subnets.size()), segments.get(),
                             static_cast<std::uint32_t>(watch.size()))));
    }
  } catch (const std::bad_alloc&) {
    r.error = "out of memory building the new address bitmaps";
    return r;
  }
  im.frozen_gauges = gauges();
  im.reconfiguring = true;
  const std::uint64_t generation = ++im.reload_generation;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t w = 0; w < n; ++w) {
    orders[w] = ReloadOrder{generation, &next, fresh[w].get(), new_gauges[w].get(), {}, 0};
    im.workers[w]->post_reload(&orders[w]);
  }
  const auto deadline = t0 + std::chrono::milliseconds(timeout_ms);
  while (true) {
    std::size_t done = 0;
    for (std::size_t w = 0; w < n; ++w) done += im.workers[w]->reload_done() == generation;
    if (done == n) break;
    if (std::chrono::steady_clock::now() > deadline) {
      // The orders and allocators must outlive the workers that may still
      // read them: leak them rather than free memory in use.
      for (auto& f : fresh) (void)f.release();
      for (auto& g : new_gauges) (void)g.release();
      (void)segments.release();
      static_cast<void>(new std::vector<ReloadOrder>(std::move(orders)));
      r.error = std::to_string(n - done) + " worker(s) did not switch within " +
                std::to_string(timeout_ms) + " ms";
      return r;
    }
    if (while_waiting) while_waiting();
    rte_delay_us_sleep(100);
  }
  r.total_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  for (const ReloadOrder& o : orders) {
    r.stats.kept += o.stats.kept;
    r.stats.withdrawn += o.stats.withdrawn;
    r.stats.history_kept += o.stats.history_kept;
    r.stats.dropped += o.stats.dropped;
    r.max_pause_ns = std::max(r.max_pause_ns, o.pause_ns);
  }
  im.engine_config = &next;
  im.reconfiguring = false;
  std::swap(im.pool_segments, segments);
  im.watched_pools = static_cast<std::uint32_t>(watch.size());
  r.ok = true;
  // `fresh`, `new_gauges` and `segments` now hold the old allocators, gauges and
  // pool segments, which no worker uses any more: freed here, on the control thread.
  return r;
}

void Runtime::publish_durable(unsigned worker, std::uint32_t seq) noexcept {
  impl_->workers[worker]->publish_durable(seq);
}

void Runtime::set_store_writable(bool writable) noexcept {
  impl_->store_writable.store(writable, std::memory_order_relaxed);
}

void Runtime::set_ha_serve(engine::HaServe serve) noexcept {
  impl_->ha_serve.store(static_cast<std::uint8_t>(serve), std::memory_order_relaxed);
}

void Runtime::ha_unacked(std::vector<std::uint32_t>& cursors,
                         const std::function<void(std::uint32_t)>& fn) const {
  cursors.resize(impl_->workers.size(), 0);
  for (std::size_t w = 0; w < impl_->workers.size(); ++w) {
    const engine::Shard& s = impl_->workers[w]->shard();
    const std::uint32_t written = s.ha_unacked_written();
    std::uint32_t from = cursors[w];
    if (written - from > engine::kHaUnackedRing) from = written - engine::kHaUnackedRing;   // lapped
    for (; from != written; ++from) fn(s.ha_unacked_at(from));
    cursors[w] = written;
  }
}

void Runtime::probe_conflicts(std::vector<std::uint32_t>& cursors,
                              const std::function<void(wire::Ipv4, const wire::MacAddr&)>& fn) const {
  cursors.resize(impl_->workers.size(), 0);
  for (std::size_t w = 0; w < impl_->workers.size(); ++w) {
    const Worker& worker = *impl_->workers[w];
    const std::uint32_t written = worker.conflicts_written();
    std::uint32_t from = cursors[w];
    if (written - from > Worker::kConflictNotes) from = written - Worker::kConflictNotes;   // lapped
    for (; from != written; ++from) {
      const Worker::ConflictNote n = worker.conflict_at(from);
      fn(n.address, n.mac);
    }
    cursors[w] = written;
  }
}

bool Runtime::submit_admin(unsigned worker, const engine::AdminRequest& request) noexcept {
  return worker < impl_->workers.size() && impl_->workers[worker]->submit_admin(request);
}

std::size_t Runtime::poll_admin(const AdminSink& sink) {
  std::size_t total = 0;
  for (auto& w : impl_->workers)
    total += w->drain_admin([&](const engine::AdminReply& r) { sink(w->index(), r); });
  return total;
}

unsigned Runtime::workers() const noexcept { return static_cast<unsigned>(impl_->workers.size()); }

engine::Seconds Runtime::now() const noexcept { return impl_->clock.now(); }

LatencyHistogram Runtime::ack_hold() const {
  LatencyHistogram h;
  for (const auto& w : impl_->workers) h.merge(w->ack_hold());
  return h;
}

std::string Runtime::describe() const {
  std::string s;
  for (const auto& p : impl_->ports) {
    char name[RTE_ETH_NAME_MAX_LEN] = "?";
    rte_eth_dev_get_name_by_port(p.id, name);
    s += "port " + std::to_string(p.id) + " (" + name + ") mac " + wire::format_mac(p.mac) + ", " +
         std::to_string(p.rx_queues) + " rx / " + std::to_string(p.tx_queues) + " tx queues of " +
         std::to_string(p.rx_desc) + " / " + std::to_string(p.tx_desc) + " descriptors, " +
         std::to_string(p.pool != nullptr ? p.pool->size : 0) + " mbufs, RX checksum offload " +
         (p.rx_checksum_offload == 0 ? "none"
          : p.rx_checksum_offload == (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)
              ? "IPv4+UDP"
          : (p.rx_checksum_offload & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) ? "UDP"
                                                                   : "IPv4") +
         ", TX checksum offload " +
         (p.tx_checksum_offload ? "IPv4+UDP" : p.tx_checksum_assumed ? "assumed (emulated)" : "none") + "\n";
  }
  for (const auto& w : impl_->workers)
    s += "worker " + std::to_string(w->index()) + " on lcore " + std::to_string(w->lcore()) +
         ": " + w->describe() + "\n";
  return s;
}

std::vector<WorkerSnapshot> Runtime::snapshot() const {
  std::vector<WorkerSnapshot> out;
  for (const auto& w : impl_->workers) out.push_back(w->snapshot());
  return out;
}


std::vector<std::uint64_t> Runtime::watch_pools(std::span<const engine::AddressRange> pools) {
  Impl& im = *impl_;
  std::vector<std::uint64_t> sizes;
  *im.pool_segments = pool_segments_of(*im.engine_config, pools, sizes);
  im.watched_pools = static_cast<std::uint32_t>(pools.size());
  for (auto& w : im.workers) w->watch_pools(im.pool_segments.get(), im.watched_pools);
  return sizes;
}

std::vector<WorkerGauges> Runtime::gauges() const {
  if (impl_->reconfiguring) return impl_->frozen_gauges;
  std::vector<WorkerGauges> out;
  for (const auto& w : impl_->workers) out.push_back(w->gauges());
  return out;
}

std::vector<WorkerSnapshot> Runtime::port_snapshot() const {
  std::vector<WorkerSnapshot> out;
  for (const auto& p : impl_->ports) {
    WorkerSnapshot s;
    s.lcore = p.id;
    rte_eth_stats st;
    if (rte_eth_stats_get(p.id, &st) == 0) {
      // Always listed, zeros included: "imissed 0" is an answer, not noise.
      s.counters = {{"ipackets", st.ipackets}, {"opackets", st.opackets},
                    {"imissed", st.imissed},   {"ierrors", st.ierrors},
                    {"oerrors", st.oerrors},   {"rx_nombuf", st.rx_nombuf}};
    }
    out.push_back(std::move(s));
  }
  return out;
}

void Runtime::Impl::post_trace(std::unique_ptr<TraceOrder> order) {
  ++trace_generation;
  for (auto& w : workers) w->post_trace(order.get(), trace_generation);
  trace_orders.emplace_back(trace_generation, std::move(order));
  retire_trace_orders();
}

void Runtime::Impl::retire_trace_orders() {
  std::uint64_t done = trace_generation;
  for (const auto& w : workers) done = std::min(done, w->trace_done());
  while (trace_orders.size() > 1 && trace_orders.front().first < done) trace_orders.pop_front();
}

void Runtime::trace_start(const engine::TraceFilter& filter) {
  auto order = std::make_unique<TraceOrder>();
  order->session = ++impl_->trace_session;
  order->active = true;
  order->filter = filter;
  impl_->post_trace(std::move(order));
}

bool Runtime::trace_stop() {
  Impl& im = *impl_;
  if (im.trace_orders.empty() || !im.trace_orders.back().second->active) return false;
  auto order = std::make_unique<TraceOrder>(*im.trace_orders.back().second);
  order->active = false;
  im.post_trace(std::move(order));
  return true;
}

Runtime::TraceReading Runtime::trace_read() {
  Impl& im = *impl_;
  im.retire_trace_orders();
  TraceReading r;
  if (im.trace_orders.empty()) return r;
  const TraceOrder& o = *im.trace_orders.back().second;
  r.session = o.session;
  r.active = o.active;
  r.filter = o.filter;
  for (const auto& w : im.workers) {
    if (w->trace_done() < im.trace_orders.back().first) r.waiting.push_back(w->index());
    for (const engine::TraceRecord& rec : w->trace_records(o.session)) r.records.emplace_back(w->index(), rec);
    if (w->trace_full(o.session)) r.full.push_back(w->index());
  }
  return r;
}

std::string Runtime::counters_text() const {
  const auto workers = snapshot();
  const auto ports = port_snapshot();
  return runtime::counters_text(workers, ports, ack_hold().summary());
}

}  // namespace dorado::runtime
