// dorado: process wiring only. Parses the command line, loads the config,
// builds the runtime, waits for signals on the control thread, stops.
//
//   dorado -c FILE                       EAL args from [dpdk] eal_args
//   dorado [EAL args] -- -c FILE         EAL args from the command line
//   dorado --check-config -c FILE        validate, print errors, exit 0 or 2
#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "runtime/runtime.hpp"

namespace {

constexpr int kExitUsage = 2;
constexpr const char* kVersion = "dorado 0.1.0";

struct Options {
  std::string config_path = "/etc/dorado/dorado.toml";
  bool check_config = false;
  bool stats_on_exit = true;
  std::vector<std::string> eal_args;   // before "--"; empty = from config
};

// Splits DPDK-style "[EAL args] -- [app args]" and parses the app part.
// Returns an exit code when the process should end now (help, version, usage).
std::optional<int> parse_args(int argc, char** argv, Options& o) {
  int split = -1;
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--") {
      split = i;
      break;
    }
  std::vector<std::string> app_args;
  for (int i = 1; i < argc; ++i) {
    if (split < 0 || i > split) app_args.emplace_back(argv[i]);
    else if (i < split) o.eal_args.emplace_back(argv[i]);
  }

  CLI::App app{
      "dorado: a DHCPv4 server on DPDK.\n\n"
      "Usage: dorado [EAL args --] -c FILE [--check-config]\n"
      "EAL arguments come from the config's [dpdk] eal_args, or from the command\n"
      "line before \"--\" (the command line wins). The config file format is in\n"
      "README.md and tools/dorado.example.toml.\n\n"
      "Signals: SIGINT/SIGTERM stop (counters are printed), SIGUSR1 prints counters.\n"
      "Exit status: 0 after a clean stop or a valid --check-config, 2 for a bad\n"
      "config, bad arguments or a start-up failure (the port/queue is named).",
      "dorado"};
  app.add_option("-c,--config", o.config_path, "configuration file (TOML)")
      ->capture_default_str();
  app.add_flag("--check-config", o.check_config,
               "validate the config and exit: 0 if valid, 2 with FILE:LINE: key: message per error");
  app.add_flag("!--no-stats", o.stats_on_exit, "do not print counters when stopping");
  app.set_version_flag("-V,--version", kVersion);
  std::vector<std::string> reversed(app_args.rbegin(), app_args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  return std::nullopt;
}

dorado::runtime::RuntimeConfig runtime_config(const dorado::config::DaemonConfig& c,
                                              const dorado::engine::CompiledConfig& compiled,
                                              std::vector<std::string> cli_eal_args) {
  dorado::runtime::RuntimeConfig r;
  r.eal_args = cli_eal_args.empty() ? c.dpdk.eal_args : std::move(cli_eal_args);
  r.workers = c.dpdk.workers;
  r.idle_sleep_us = c.dpdk.idle_sleep_us;
  r.ports = c.dpdk.ports;
  r.mbufs = c.dpdk.mbufs;
  r.rx_desc = static_cast<std::uint16_t>(c.dpdk.rx_desc);
  r.tx_desc = static_cast<std::uint16_t>(c.dpdk.tx_desc);
  r.burst = static_cast<std::uint16_t>(std::min(c.dpdk.burst, 64u));
  r.server_address = c.server.address;
  // Lease records per shard: room for every address the shard can hand out
  // twice over (history of inactive clients keeps sticky addresses), plus
  // every reservation, never below 4096.
  std::uint64_t addresses = 0;
  for (const auto& b : compiled.blocks) addresses += static_cast<unsigned>(__builtin_popcountll(b.allocatable));
  const std::uint64_t per_shard = addresses / r.workers + 1;
  const std::uint64_t cap = std::max<std::uint64_t>(4096, 2 * per_shard + compiled.reservations.size());
  r.shard_table.capacity = static_cast<std::uint32_t>(std::min<std::uint64_t>(cap, 1u << 30));
  r.shard_table.hostname_capacity = r.shard_table.capacity;
  r.shard_table.long_key_capacity = std::max<std::uint32_t>(64, r.shard_table.capacity / 16);
  return r;
}

void print_counters(const dorado::runtime::Runtime& rt) {
  std::map<std::string, std::uint64_t> total;
  const auto snaps = rt.snapshot();
  for (std::size_t w = 0; w < snaps.size(); ++w)
    for (const auto& [name, v] : snaps[w].counters) total[name] += v;
  std::printf("counters (all workers):\n");
  for (const auto& [name, v] : total) std::printf("  %-40s %llu\n", name.c_str(), static_cast<unsigned long long>(v));
  for (const auto& port : rt.port_snapshot()) {
    std::printf("port %u:\n", port.lcore);
    for (const auto& [name, v] : port.counters)
      std::printf("  %-40s %llu\n", name.c_str(), static_cast<unsigned long long>(v));
  }
  if (snaps.size() > 1) {
    for (std::size_t w = 0; w < snaps.size(); ++w) {
      std::printf("worker %zu (lcore %u):\n", w, snaps[w].lcore);
      for (const auto& [name, v] : snaps[w].counters)
        std::printf("  %-40s %llu\n", name.c_str(), static_cast<unsigned long long>(v));
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  if (auto rc = parse_args(argc, argv, opts)) return *rc;

  auto loaded = dorado::config::load_config_file(opts.config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return kExitUsage;
  }
  if (opts.check_config) {
    std::printf("%s: OK\n", opts.config_path.c_str());
    return 0;
  }

  // Signals are taken synchronously by the control loop (sigtimedwait); block
  // them first so that every thread the EAL creates inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const auto& compiled = *loaded.compiled;
  auto rcfg = runtime_config(*loaded.config, compiled, opts.eal_args);
  rcfg.program_name = argv[0];
  auto created = dorado::runtime::Runtime::create(rcfg, compiled);
  if (!created.runtime) {
    std::fprintf(stderr, "dorado: %s\n", created.error.c_str());
    return kExitUsage;
  }
  auto& rt = *created.runtime;
  if (std::string e = rt.start(); !e.empty()) {
    std::fprintf(stderr, "dorado: %s\n", e.c_str());
    return kExitUsage;
  }
  char server[16];
  server[dorado::wire::format_ipv4(rcfg.server_address, server)] = '\0';
  std::printf("dorado: serving with %u worker(s), server address %s\n%s", rcfg.workers, server,
              rt.describe().c_str());
  std::fflush(stdout);

  const timespec tick{0, 1'000'000};   // 1 ms: the journal's group-commit pace
  while (true) {
    rt.poll_control();
    siginfo_t info;
    const int sig = sigtimedwait(&signals, &info, &tick);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (sig == SIGUSR1) print_counters(rt);
  }
  std::printf("dorado: stopping\n");
  rt.stop();
  if (opts.stats_on_exit) print_counters(rt);
  return 0;
}
