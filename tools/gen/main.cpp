// dorado-gen: a DPDK DHCPv4 client emulator and load generator. Process
// wiring only: command line, signals, run_driver(), the report.
//
//   dorado-gen [EAL args] -- --mode dora|renew|mixed|storm --clients N
//              --rate R|max --duration SECONDS [--giaddr A --server-ip S]
//              [--vlan ID] [--hostname PREFIX] [--fqdn PREFIX] [--json] ...
#include <csignal>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "gen/driver.hpp"
#include "runtime/eal_args.hpp"
#include "wire/text.hpp"

namespace {

constexpr int kExitUsage = 2;

struct Args {
  dorado::gen::GenConfig gen;
  dorado::gen::DriverOptions driver;
  bool json = false;
  std::optional<int> exit_code;
};

Args parse_args(int argc, char** argv) {
  Args r;
  dorado::runtime::SplitArgs split = dorado::runtime::split_eal_args(argc, argv);
  r.driver.eal_args = std::move(split.eal);
  const std::vector<std::string>& app_args = split.app;

  CLI::App app{
      "dorado-gen: emulates DHCPv4 clients (RFC 2131 state machine, retransmission,\n"
      "link-local fallback: RFC 3927 ARP probes and announcements) on a DPDK port and\n"
      "measures a server.\n\n"
      "Usage: dorado-gen [EAL args] -- --mode MODE --clients N --rate R|max --duration S [options]\n"
      "Modes: dora (new clients), renew (clients get a lease, then each renews it once:\n"
      "unicast REQUEST with ciaddr), mixed (--renew-ratio of the operations renew a lease\n"
      "taken earlier in the run, the rest are new DORAs), storm (every client at once;\n"
      "with --reboot they hold leases first and all INIT-REBOOT at once).\n"
      "Relay mode (--giaddr, --server-ip): dorado-gen is the relay agent; it sends from\n"
      "giaddr:67 with option 82 and answers ARP for giaddr and its clients' addresses.\n"
      "With --json the last line of stdout is the JSON summary. Exit: 0 done, 1 some\n"
      "operation did not complete, 2 usage or port error.",
      "dorado-gen"};
  std::string mode = "dora", rate = "max", giaddr, server_ip, first_mac = "02:00:00:00:00:01",
              retransmit;
  std::uint32_t vlan = 0;
  app.add_option("--mode", mode, "dora | renew | mixed | storm")->capture_default_str();
  app.add_option("--clients", r.gen.clients, "emulated clients (distinct MACs)")->capture_default_str();
  app.add_option("--rate", rate, "new operations per second, or max")->capture_default_str();
  app.add_option("--duration", r.gen.duration_s, "seconds, bound of the run (and of the warm-up)")
      ->capture_default_str();
  app.add_option("--giaddr", giaddr, "relay mode: act as relay agent with this address");
  app.add_option("--server-ip", server_ip, "relay mode: the server's address (requests go there)");
  app.add_option("--vlan", vlan, "802.1Q tag (1..4095) on every frame");
  app.add_flag("--client-id", r.gen.client_id, "send option 61 (type 1 + MAC)");
  app.add_option("--hostname", r.gen.hostname_prefix,
                 "client i sends option 12 \"PREFIX-i\" in DISCOVER and REQUEST")
      ->type_name("PREFIX");
  app.add_option("--fqdn", r.gen.fqdn_prefix,
                 "client i sends option 81 \"PREFIX-i\" (S=1, wire encoding, not qualified)")
      ->type_name("PREFIX");
  app.add_option("--first-mac", first_mac, "MAC of client 0; client i has first-mac + i")
      ->capture_default_str();
  app.add_flag("--release", r.gen.release, "release each lease as soon as it is bound");
  app.add_option("--decline-ratio", r.gen.decline_ratio, "share of ACKs answered with DECLINE");
  app.add_option("--renew-ratio", r.gen.renew_ratio, "mixed: share of renewals")->capture_default_str();
  app.add_flag("--reboot", r.gen.reboot, "storm: clients hold leases and INIT-REBOOT at once");
  app.add_option("--window", r.gen.window, "--rate max: operations in flight at most (not storm)")
      ->capture_default_str();
  app.add_option("--retransmit", retransmit,
                 "waits after each try, seconds, comma-separated (default 2,4,6,16; +-1 s jitter)");
  app.add_option("--jitter", r.gen.jitter_s, "retransmission randomisation, +- seconds")->capture_default_str();
  app.add_option("--link-local-retry", r.gen.link_local_retry_s,
                 "seconds between DISCOVERs of a client holding a link-local address")
      ->capture_default_str();
  app.add_option("--link-local-scale", r.gen.link_local_scale,
                 "multiplies the RFC 3927 probe/announce timers (tests: e.g. 0.1)")
      ->capture_default_str();
  app.add_option("--seed", r.gen.seed, "random seed (xids, jitter, ratios)")->capture_default_str();
  app.add_option("--port", r.driver.port, "DPDK port id")->capture_default_str();
  app.add_option("--idle-sleep-us", r.driver.idle_sleep_us,
                 "sleep when a loop found nothing to do (machine shared with the server); 0 = busy poll")
      ->capture_default_str();
  app.add_flag("--json", r.json, "print the JSON summary as the last line of stdout");
  app.add_flag("!--quiet", r.driver.progress, "no progress line every second on stderr");
  std::vector<std::string> reversed(app_args.rbegin(), app_args.rend());   // CLI11 pops from the back
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    r.exit_code = rc == 0 ? 0 : kExitUsage;
    return r;
  }
  auto usage = [&](const std::string& msg) {
    std::fprintf(stderr, "dorado-gen: %s\n", msg.c_str());
    r.exit_code = kExitUsage;
    return r;
  };
  using dorado::gen::Mode;
  if (mode == "dora") r.gen.mode = Mode::dora;
  else if (mode == "renew") r.gen.mode = Mode::renew;
  else if (mode == "mixed") r.gen.mode = Mode::mixed;
  else if (mode == "storm") r.gen.mode = Mode::storm;
  else return usage("--mode must be dora, renew, mixed or storm");
  if (rate == "max") {
    r.gen.rate = 0;
  } else {
    try {
      std::size_t used = 0;
      r.gen.rate = std::stod(rate, &used);
      if (used != rate.size() || !(r.gen.rate > 0)) return usage("--rate must be a positive number or max");
    } catch (const std::exception&) {
      return usage("--rate must be a positive number or max");
    }
  }
  if (!giaddr.empty()) {
    const auto a = dorado::wire::parse_ipv4(giaddr);
    if (!a) return usage("--giaddr: not an IPv4 address: " + giaddr);
    r.gen.giaddr = *a;
  }
  if (!server_ip.empty()) {
    const auto a = dorado::wire::parse_ipv4(server_ip);
    if (!a) return usage("--server-ip: not an IPv4 address: " + server_ip);
    r.gen.server_ip = *a;
  }
  if (vlan > 4095) return usage("--vlan must be 1..4095");
  r.gen.vlan = static_cast<std::uint16_t>(vlan);
  const auto mac = dorado::wire::parse_mac(first_mac);
  if (!mac) return usage("--first-mac: not a MAC address: " + first_mac);
  r.gen.first_mac = 0;
  for (const std::uint8_t b : mac->b) r.gen.first_mac = (r.gen.first_mac << 8) | b;
  if (!retransmit.empty()) {
    r.gen.retransmit_s.clear();
    std::stringstream ss(retransmit);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        r.gen.retransmit_s.push_back(std::stod(item));
      } catch (const std::exception&) {
        return usage("--retransmit: not a number: " + item);
      }
    }
    r.gen.max_tries = static_cast<std::uint32_t>(r.gen.retransmit_s.size());
  }
  if (const std::string e = dorado::gen::validate(r.gen); !e.empty()) return usage(e);
  return r;
}

extern "C" void on_signal(int) { dorado::gen::request_stop(); }

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  if (args.exit_code) return *args.exit_code;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  const dorado::gen::DriverResult r = dorado::gen::run_driver(args.driver, args.gen);
  if (!r.error.empty()) {
    std::fprintf(stderr, "dorado-gen: %s\n", r.error.c_str());
    if (r.json.empty()) return r.exit_code;
  }
  if (!r.port_stats.empty()) std::fprintf(stderr, "dorado-gen: port %s\n", r.port_stats.c_str());
  const dorado::gen::Counters& c = r.counters;
  if (args.json) {
    std::printf("%s\n", r.json.c_str());
  } else {
    std::printf("offered %llu, completed %llu (%.1f/s), naks %llu, timeouts %llu, link-local %llu, "
                "retransmits %llu, drops %llu\n"
                "latency us: p50 %llu p90 %llu p99 %llu p99.9 %llu max %llu\n",
                static_cast<unsigned long long>(c.offered), static_cast<unsigned long long>(c.completed),
                r.per_sec, static_cast<unsigned long long>(c.naks),
                static_cast<unsigned long long>(c.timeouts), static_cast<unsigned long long>(c.link_local),
                static_cast<unsigned long long>(c.retransmits),
                static_cast<unsigned long long>(c.rx_unparsable),
                static_cast<unsigned long long>(r.latency.p50), static_cast<unsigned long long>(r.latency.p90),
                static_cast<unsigned long long>(r.latency.p99), static_cast<unsigned long long>(r.latency.p999),
                static_cast<unsigned long long>(r.latency.max));
    std::printf("clients:");
    for (std::size_t s = 0; s < dorado::gen::kStates; ++s)
      if (r.states[s] != 0)
        std::printf(" %s %llu", dorado::gen::state_name(static_cast<dorado::gen::State>(s)),
                    static_cast<unsigned long long>(r.states[s]));
    std::printf("; link-local held %llu, claimed %llu, conflicts %llu\n",
                static_cast<unsigned long long>(r.ll_held), static_cast<unsigned long long>(c.ll_claimed),
                static_cast<unsigned long long>(c.ll_conflicts));
  }
  std::fflush(stdout);
  // 0 when operations were offered and every one completed.
  return c.offered > 0 && c.completed >= c.offered ? 0 : 1;
}
