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

#include <atomic>
#include <cstring>
#include <ctime>

#include "runtime/worker.hpp"

namespace dorado::runtime {
namespace {

constexpr unsigned kHandoffRingSize = 4096;
constexpr unsigned kChangeRingSize = 16384;
constexpr unsigned kMempoolCache = 256;

std::string errno_text(int err) { return rte_strerror(err < 0 ? -err : err); }

std::string port_error(std::uint16_t port, int queue, const char* what, int ret) {
  std::string s = "port " + std::to_string(port);
  if (queue >= 0) s += " queue " + std::to_string(queue);
  return s + ": " + what + ": " + errno_text(ret);
}

unsigned round_up_pow2_minus1(unsigned n) {
  unsigned p = 1;
  while (p - 1 < n) p <<= 1;
  return p - 1;   // mempools are most efficient at 2^k - 1 elements
}

std::string mac_text(const wire::MacAddr& m) {
  char buf[18];
  wire::format_mac(m, buf);
  return std::string(buf, 17);
}

}  // namespace

struct Runtime::Impl {
  RuntimeConfig config;
  const engine::CompiledConfig* engine_config = nullptr;
  std::vector<PortState> ports;              // in configuration order
  std::array<int, RTE_MAX_ETHPORTS> port_index{};   // port id -> ports[] index, -1 none
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<rte_ring*> rings;              // every ring we created, for cleanup
  std::atomic<bool> quit{false};
  static_assert(std::atomic<bool>::is_always_lock_free);
  bool started = false;
  bool stopped = false;
  Clock clock;

  std::string init_eal();
  std::string setup_ports();
  std::string setup_port(PortState& p);
  std::string setup_workers();
};

std::string Runtime::Impl::init_eal() {
  static bool eal_ready = false;   // the EAL can be initialised once per process
  if (eal_ready) return {};
  std::vector<std::string> args;
  args.push_back(config.program_name);
  args.insert(args.end(), config.eal_args.begin(), config.eal_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int ret = rte_eal_init(static_cast<int>(args.size()), argv.data());
  if (ret < 0) return "EAL initialisation failed: " + errno_text(rte_errno);
  eal_ready = true;
  return {};
}

std::string Runtime::Impl::setup_port(PortState& p) {
  rte_eth_dev_info info;
  int ret = rte_eth_dev_info_get(p.id, &info);
  if (ret != 0) return port_error(p.id, -1, "rte_eth_dev_info_get", ret);
  const unsigned workers = config.workers;
  p.rx_queues = static_cast<std::uint16_t>(std::min<unsigned>(workers, info.max_rx_queues));
  p.tx_queues = static_cast<std::uint16_t>(std::min<unsigned>(workers, info.max_tx_queues));
  if (p.rx_queues == 0 || p.tx_queues == 0)
    return "port " + std::to_string(p.id) + ": device reports no RX or TX queue";

  rte_eth_conf conf{};
  if (p.rx_queues > 1) {
    // DHCP from 0.0.0.0:68 or one relay hashes to one queue anyway; RSS only
    // spreads the rest. The handoff rings put each client on its shard.
    const std::uint64_t hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
    if (hf != 0) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf = hf;
    }
  }
  ret = rte_eth_dev_configure(p.id, p.rx_queues, p.tx_queues, &conf);
  if (ret != 0) return port_error(p.id, -1, "rte_eth_dev_configure", ret);
  std::uint16_t rx_desc = config.rx_desc, tx_desc = config.tx_desc;
  ret = rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &rx_desc, &tx_desc);
  if (ret != 0) return port_error(p.id, -1, "rte_eth_dev_adjust_nb_rx_tx_desc", ret);

  const int socket = rte_eth_dev_socket_id(p.id);
  const unsigned socket_id = socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket);
  // Every descriptor may hold an mbuf, plus what can sit in handoff rings,
  // TX buffers and per-lcore caches.
  unsigned need = p.rx_queues * rx_desc + p.tx_queues * tx_desc +
                  workers * (2u * config.burst + kMempoolCache) +
                  (workers > 1 ? workers * kHandoffRingSize : 0u);
  need = std::max(need, config.mbufs);
  const std::string pool_name = "dorado_mb_" + std::to_string(p.id);
  p.pool = rte_pktmbuf_pool_create(pool_name.c_str(), round_up_pow2_minus1(need), kMempoolCache,
                                   0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(socket_id));
  if (p.pool == nullptr) return port_error(p.id, -1, "rte_pktmbuf_pool_create", rte_errno);

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
  // our MAC; nothing else is of interest, so no promiscuous mode.
  return {};
}

std::string Runtime::Impl::setup_ports() {
  port_index.fill(-1);
  std::vector<std::uint16_t> ids = config.ports;
  if (ids.empty()) {
    std::uint16_t id;
    RTE_ETH_FOREACH_DEV(id) ids.push_back(id);
  }
  if (ids.empty()) return "no DPDK port found: give a PCI device bound to vfio-pci or a --vdev";
  for (std::uint16_t id : ids) {
    if (!rte_eth_dev_is_valid_port(id)) return "port " + std::to_string(id) + ": no such port";
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
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  for (unsigned w = 0; w < n; ++w, lcore = rte_get_next_lcore(lcore, 1, 0)) {
    engine::ShardConfig sc;
    sc.identity = engine::ShardIdentity{w, n};
    sc.table = config.shard_table;
    auto created = engine::Shard::create(*engine_config, sc);
    if (!created.shard) return "worker " + std::to_string(w) + ": " + created.error;
    auto worker = std::make_unique<Worker>(WorkerSetup{
        w, lcore, std::move(created.shard), config.server_address, config.burst,
        config.idle_sleep_us, &quit, &clock});
    workers.push_back(std::move(worker));
  }
  // Queues: worker w polls RX queue w and sends on TX queue w of each port
  // where the port has that many; otherwise it forwards replies to the worker
  // owning TX queue (w % tx_queues), which keeps every queue single-writer.
  for (auto& w : workers) {
    for (const auto& p : ports) {
      if (w->index() < p.rx_queues) w->add_rx(p.id, static_cast<std::uint16_t>(w->index()));
      const bool own_tx = w->index() < p.tx_queues;
      const unsigned tx_owner = own_tx ? w->index() : w->index() % p.tx_queues;
      auto st = w->add_tx(p.id, static_cast<std::uint16_t>(tx_owner), own_tx, p.mac,
                          rte_eth_dev_socket_id(p.id));
      if (!st.empty()) return st;
    }
  }
  for (unsigned a = 0; a < n; ++a) {
    for (unsigned b = 0; b < n; ++b) {
      if (a == b) continue;
      const std::string name = "dorado_h" + std::to_string(a) + "_" + std::to_string(b);
      rte_ring* r = rte_ring_create(name.c_str(), kHandoffRingSize, rte_socket_id(),
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (r == nullptr) return "ring " + name + ": " + errno_text(rte_errno);
      rings.push_back(r);
      workers[a]->connect_out(b, r);
      workers[b]->connect_in(r);
    }
    const std::string name = "dorado_c" + std::to_string(a);
    rte_ring* r = rte_ring_create_elem(name.c_str(), sizeof(engine::LeaseChange), kChangeRingSize,
                                       rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r == nullptr) return "ring " + name + ": " + errno_text(rte_errno);
    rings.push_back(r);
    workers[a]->connect_changes(r);
  }
  for (auto& w : workers) w->set_peers(n);
  return {};
}

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Runtime::Created Runtime::create(const RuntimeConfig& config,
                                 const engine::CompiledConfig& engine_config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->engine_config = &engine_config;
  if (config.workers == 0) return {nullptr, "workers must be at least 1"};
  if (config.burst == 0 || config.burst > kMaxBurst)
    return {nullptr, "burst must be 1.." + std::to_string(kMaxBurst)};
  if (std::string e = impl->init_eal(); !e.empty()) return {nullptr, e};
  impl->clock = Clock::start();
  if (std::string e = impl->setup_ports(); !e.empty()) return {nullptr, e};
  if (std::string e = impl->setup_workers(); !e.empty()) return {nullptr, e};
  return {std::unique_ptr<Runtime>(new Runtime(std::move(impl))), {}};
}

Runtime::~Runtime() {
  stop();
  for (auto& p : impl_->ports) rte_eth_dev_close(p.id);
  impl_->workers.clear();   // frees TX buffers before the rings and pools
  for (rte_ring* r : impl_->rings) rte_ring_free(r);
  for (auto& p : impl_->ports) rte_mempool_free(p.pool);
}

std::string Runtime::start() {
  for (auto& p : impl_->ports) {
    const int ret = rte_eth_dev_start(p.id);
    if (ret != 0) return port_error(p.id, -1, "rte_eth_dev_start", ret);
  }
  for (auto& w : impl_->workers) {
    const int ret = rte_eal_remote_launch(&Worker::launch, w.get(), w->lcore());
    if (ret != 0) {
      request_stop();
      rte_eal_mp_wait_lcore();
      return "lcore " + std::to_string(w->lcore()) + ": rte_eal_remote_launch: " + errno_text(ret);
    }
  }
  impl_->started = true;
  return {};
}

void Runtime::request_stop() noexcept { impl_->quit.store(true, std::memory_order_relaxed); }
bool Runtime::stop_requested() const noexcept { return impl_->quit.load(std::memory_order_relaxed); }

void Runtime::stop() {
  if (impl_->stopped) return;
  request_stop();
  if (impl_->started) {
    rte_eal_mp_wait_lcore();
    for (auto& p : impl_->ports) rte_eth_dev_stop(p.id);
  }
  poll_control();   // take what the workers left in the change rings
  impl_->stopped = true;
}

std::size_t Runtime::poll_control() {
  std::size_t total = 0;
  for (auto& w : impl_->workers) total += w->drain_changes_for_control();
  return total;
}

std::string Runtime::describe() const {
  std::string s;
  for (const auto& p : impl_->ports) {
    char name[RTE_ETH_NAME_MAX_LEN] = "?";
    rte_eth_dev_get_name_by_port(p.id, name);
    s += "port " + std::to_string(p.id) + " (" + name + ") mac " + mac_text(p.mac) + ", " +
         std::to_string(p.rx_queues) + " rx / " + std::to_string(p.tx_queues) + " tx queues\n";
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

}  // namespace dorado::runtime
