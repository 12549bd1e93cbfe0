#include "gen/driver.hpp"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <unistd.h>

namespace dorado::gen {

namespace {

constexpr unsigned kBurst = 32;
constexpr unsigned kMbufs = 16383;
constexpr unsigned kMempoolCache = 256;

std::atomic<bool> g_stop{false};   // written by signal handlers, read by the loop
static_assert(std::atomic<bool>::is_always_lock_free);

std::string port_error(std::uint16_t port, const char* what, int ret) {
  return "port " + std::to_string(port) + ": " + what + ": " + std::strerror(ret < 0 ? -ret : ret);
}

struct Port {
  std::uint16_t id = 0;
  MacAddr mac{};
  rte_mempool* pool = nullptr;
  bool started = false;
  ~Port() {
    if (started) {
      rte_eth_dev_stop(id);
      rte_eth_dev_close(id);
    }
    if (pool != nullptr) rte_mempool_free(pool);
  }
};

// Configures and starts port o.port into `p` (which owns it from then on).
std::string setup_port(Port& p, const DriverOptions& o) {
  if (!rte_eth_dev_is_valid_port(o.port))
    return "port " + std::to_string(o.port) + ": no such DPDK port (give a --vdev or a PCI device)";
  p.id = o.port;
  rte_eth_conf conf{};
  int ret = rte_eth_dev_configure(p.id, 1, 1, &conf);
  if (ret != 0) return port_error(p.id, "rte_eth_dev_configure", ret);
  std::uint16_t rx_desc = o.rx_desc, tx_desc = o.tx_desc;
  ret = rte_eth_dev_adjust_nb_rx_tx_desc(p.id, &rx_desc, &tx_desc);
  if (ret != 0) return port_error(p.id, "rte_eth_dev_adjust_nb_rx_tx_desc", ret);
  const int socket = rte_eth_dev_socket_id(p.id);
  const int socket_id = socket < 0 ? SOCKET_ID_ANY : socket;
  const std::string pool_name = "gen_mb_" + std::to_string(p.id);
  p.pool = rte_pktmbuf_pool_create(pool_name.c_str(), kMbufs, kMempoolCache, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, socket_id);
  if (p.pool == nullptr) return port_error(p.id, "rte_pktmbuf_pool_create", rte_errno);
  ret = rte_eth_rx_queue_setup(p.id, 0, rx_desc, static_cast<unsigned>(socket_id < 0 ? 0 : socket_id),
                               nullptr, p.pool);
  if (ret != 0) return port_error(p.id, "rte_eth_rx_queue_setup", ret);
  ret = rte_eth_tx_queue_setup(p.id, 0, tx_desc, static_cast<unsigned>(socket_id < 0 ? 0 : socket_id),
                               nullptr);
  if (ret != 0) return port_error(p.id, "rte_eth_tx_queue_setup", ret);
  rte_ether_addr a;
  ret = rte_eth_macaddr_get(p.id, &a);
  if (ret != 0) return port_error(p.id, "rte_eth_macaddr_get", ret);
  std::memcpy(p.mac.b.data(), a.addr_bytes, 6);
  ret = rte_eth_dev_start(p.id);
  if (ret != 0) return port_error(p.id, "rte_eth_dev_start", ret);
  p.started = true;
  // Replies go to each client's own MAC.
  ret = rte_eth_promiscuous_enable(p.id);
  if (ret != 0 && ret != -ENOTSUP) return port_error(p.id, "rte_eth_promiscuous_enable", ret);
  return {};
}

// Moves up to one burst from the generator's TX ring into mbufs and onto
// the port; returns false when the port took less than offered.
bool flush_burst(Port& p, TxRing& tx) {
  const auto n = static_cast<unsigned>(std::min<std::size_t>(tx.size(), kBurst));
  if (n == 0) return false;
  std::array<rte_mbuf*, kBurst> m;
  if (rte_pktmbuf_alloc_bulk(p.pool, m.data(), n) != 0) return false;
  for (unsigned k = 0; k < n; ++k) {
    const wire::Bytes f = tx.frame(k);
    std::memcpy(rte_pktmbuf_mtod(m[k], void*), f.data(), f.size());
    m[k]->data_len = static_cast<std::uint16_t>(f.size());
    m[k]->pkt_len = static_cast<std::uint32_t>(f.size());
  }
  const std::uint16_t sent = rte_eth_tx_burst(p.id, 0, m.data(), static_cast<std::uint16_t>(n));
  if (sent < n) rte_pktmbuf_free_bulk(m.data() + sent, n - sent);
  tx.pop(sent);
  return sent == n;
}

struct Clock {
  std::uint64_t t0 = rte_rdtsc();
  double us_per_tick = 1e6 / static_cast<double>(rte_get_tsc_hz());
  std::uint64_t now_us() const noexcept {
    return static_cast<std::uint64_t>(static_cast<double>(rte_rdtsc() - t0) * us_per_tick);
  }
};

void print_progress(const Generator& g, std::uint64_t now, std::uint64_t& last_completed,
                    std::uint64_t& last_tx, double seconds, const char* phase = nullptr) {
  const Counters& c = g.counters();
  const std::uint64_t tx = c.tx_discover + c.tx_request + c.tx_renew + c.tx_rebind + c.tx_reboot;
  std::fprintf(stderr,
               "dorado-gen: %s t=%.0fs completed=%" PRIu64 " (%.0f/s) offered=%" PRIu64
               " in_flight=%" PRIu64 " sent/s=%.0f naks=%" PRIu64 " timeouts=%" PRIu64
               " retransmits=%" PRIu64 " link_local=%" PRIu64 " drops=%" PRIu64 " bound=%" PRIu64
               " ll_probing=%" PRIu64 " ll_held=%" PRIu64 "\n",
               phase != nullptr ? phase : g.measuring() ? "run" : "warm-up",
               static_cast<double>(now) / 1e6, c.completed,
               static_cast<double>(c.completed - std::min(c.completed, last_completed)) / seconds,
               c.offered, g.in_flight(),
               static_cast<double>(tx - std::min(tx, last_tx)) / seconds, c.naks, c.timeouts,
               c.retransmits, c.link_local, c.rx_unparsable, g.state_count(State::bound),
               g.state_count(State::ll_probing), g.ll_held());
  last_completed = c.completed;
  last_tx = tx;
}

}  // namespace

void request_stop() noexcept { g_stop.store(true, std::memory_order_relaxed); }

DriverResult run_driver(const DriverOptions& options, GenConfig config) {
  DriverResult r;
  std::vector<std::string> args{"dorado-gen"};
  args.insert(args.end(), options.eal_args.begin(), options.eal_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    r.error = std::string("EAL initialisation failed (rte_eal_init: ") + rte_strerror(rte_errno) + ")";
    r.exit_code = 2;
    return r;
  }
  {
    Port port;
    if (std::string e = setup_port(port, options); !e.empty()) {
      r.error = e;
      r.exit_code = 2;
    } else {
      config.port_mac = port.mac;
      // Allocating millions of clients takes a while: the clock starts after.
      std::unique_ptr<Generator> gen;
      try {
        gen = std::make_unique<Generator>(config, 0);
      } catch (const std::exception& e) {
        r.error = "cannot set up " + std::to_string(config.clients) + " clients: " + e.what();
        r.exit_code = 2;
        return r;   // Port's destructor closes the port; the EAL is left to exit
      }
      const Clock clock;
      std::array<rte_mbuf*, kBurst> rx;
      std::uint64_t next_progress = 1'000'000, last_completed = 0, last_tx = 0;
      bool was_measuring = gen->measuring();
      while (!g_stop.load(std::memory_order_relaxed)) {
        const std::uint64_t now = clock.now_us();
        const std::uint16_t n = rte_eth_rx_burst(port.id, 0, rx.data(), kBurst);
        for (std::uint16_t k = 0; k < n; ++k)
          gen->receive({rte_pktmbuf_mtod(rx[k], const std::uint8_t*), rx[k]->data_len}, now);
        if (n != 0) rte_pktmbuf_free_bulk(rx.data(), n);
        const std::uint64_t sent_before = gen->tx().size();
        gen->poll(now);
        const bool idle = n == 0 && sent_before == 0 && gen->tx().size() == 0;
        while (flush_burst(port, gen->tx())) {}
        if (gen->measuring() != was_measuring) {
          was_measuring = true;
          last_completed = last_tx = 0;
        }
        if (options.progress && now >= next_progress) {
          print_progress(*gen, now, last_completed, last_tx, 1.0);
          next_progress = std::max(next_progress + 1'000'000, now - now % 1'000'000);
        }
        if (gen->finished(now)) break;
        if (idle && options.idle_sleep_us > 0) usleep(options.idle_sleep_us);
      }
      // What the last replies triggered (RELEASE, DECLINE) still leaves.
      const std::uint64_t drain_until = clock.now_us() + 200'000;
      while (gen->tx().size() > 0 && clock.now_us() < drain_until) flush_burst(port, gen->tx());
      if (options.progress) {
        const std::uint64_t now = clock.now_us();
        const double since = static_cast<double>(now - (next_progress - 1'000'000)) / 1e6;
        print_progress(*gen, now, last_completed, last_tx, since > 0 ? since : 1.0, "end");
      }
      const std::uint64_t end = clock.now_us();
      r.json = gen->json_report(end);
      if (config.giaddr != 0 && !gen->server_mac_known())
        r.error = "the server (--server-ip) never answered ARP: no request was sent";
      r.counters = gen->counters();
      r.states = gen->state_counts();
      r.ll_held = gen->ll_held();
      r.latency = gen->histograms().operation.summary();
      const double active = static_cast<double>(gen->last_completion_us() - gen->measure_start_us()) / 1e6;
      r.per_sec = active > 0 ? static_cast<double>(r.counters.completed) / active : 0;
      rte_eth_stats st;
      if (rte_eth_stats_get(port.id, &st) == 0) {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "ipackets %" PRIu64 " opackets %" PRIu64 " imissed %" PRIu64 " ierrors %" PRIu64
                      " oerrors %" PRIu64 " rx_nombuf %" PRIu64,
                      st.ipackets, st.opackets, st.imissed, st.ierrors, st.oerrors, st.rx_nombuf);
        r.port_stats = buf;
      }
    }
  }
  rte_eal_cleanup();
  return r;
}

}  // namespace dorado::gen
