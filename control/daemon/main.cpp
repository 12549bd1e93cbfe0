// dorado: process wiring only. Parses the command line, loads the config,
// initialises the EAL, runs serve() (store, runtime, control loop), releases
// the EAL.
//
//   dorado -c FILE                       EAL args from [dpdk] eal_args
//   dorado [EAL args] -- -c FILE         EAL args from the command line
//   dorado --check-config [-c] FILE      validate, print errors, exit 0 or 2
//   dorado --show-split-scope [-c] FILE  print the [split_scope] parts of every pool
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "daemon/serve.hpp"
#include "runtime/eal_args.hpp"
#include "runtime/runtime.hpp"

namespace {

constexpr int kExitUsage = 2;
constexpr const char* kVersion = "dorado 0.1.0";

struct Options {
  std::string config_path = "/etc/dorado/dorado.toml";
  bool check_config = false;
  bool show_split_scope = false;
  bool stats_on_exit = true;
  std::vector<std::string> eal_args;   // before "--"; empty = from config
};

struct ParsedArgs {
  Options options;
  std::optional<int> exit_code;   // set when the process should end now (help, version, usage)
};

// Splits DPDK-style "[EAL args] -- [app args]" and parses the app part.
ParsedArgs parse_args(int argc, char** argv) {
  ParsedArgs r;
  Options& o = r.options;
  dorado::runtime::SplitArgs split = dorado::runtime::split_eal_args(argc, argv);
  o.eal_args = std::move(split.eal);
  const std::vector<std::string>& app_args = split.app;

  CLI::App app{
      "dorado: a DHCPv4 server on DPDK.\n\n"
      "Usage: dorado [EAL args --] [-c FILE]\n"
      "       dorado --check-config [-c] FILE\n"
      "       dorado --show-split-scope [-c] FILE\n"
      "FILE defaults to /etc/dorado/dorado.toml. EAL arguments come from the\n"
      "config's [dpdk] eal_args, or from the command line before \"--\" (the\n"
      "command line wins). The config file format is in docs/configuration.md\n"
      "and tools/dorado.example.toml.\n\n"
      "Signals: SIGINT/SIGTERM stop (counters are printed), SIGUSR1 prints counters,\n"
      "SIGHUP reloads the config file (an invalid one changes nothing).\n"
      "Exit status: 0 after a clean stop or a valid --check-config, 2 for a bad\n"
      "config, bad arguments or a start-up failure (the port/queue is named).",
      "dorado"};
  app.add_option("-c,--config", o.config_path, "configuration file (TOML)")
      ->capture_default_str();
  app.add_flag("--check-config", o.check_config,
               "validate the config and exit: 0 if valid, 2 with FILE:LINE: key: message per error");
  app.add_flag("--show-split-scope", o.show_split_scope,
               "print each pool's split among the [split_scope] servers (this server's part and "
               "what it excludes) and exit; 2 for a bad config or no [split_scope]");
  std::string positional_config;
  app.add_option("FILE", positional_config,
                 "with --check-config or --show-split-scope: the configuration file (as -c FILE)");
  app.add_flag("!--no-stats", o.stats_on_exit, "do not print counters when stopping");
  app.set_version_flag("-V,--version", kVersion);
  std::vector<std::string> reversed(app_args.rbegin(), app_args.rend());   // CLI11 pops from the back
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    r.exit_code = rc == 0 ? 0 : kExitUsage;
    return r;
  }
  if (!positional_config.empty()) {
    const char* problem = nullptr;
    if (!o.check_config && !o.show_split_scope)
      problem = "a config file argument needs --check-config or --show-split-scope; "
                "to run the server, give it with -c FILE";
    else if (app.count("--config") != 0)
      problem = "give the config file once: -c FILE or FILE, not both";
    if (problem != nullptr) {
      std::fprintf(stderr, "dorado: %s\n", problem);
      r.exit_code = kExitUsage;
      return r;
    }
    o.config_path = positional_config;
  }
  return r;
}

// The [dpdk] and [server] sections as the runtime takes them.
dorado::runtime::RuntimeConfig runtime_config(const dorado::config::DaemonConfig& c,
                                              std::vector<std::string> eal_args,
                                              const char* program_name) {
  dorado::runtime::RuntimeConfig r;
  r.program_name = program_name;
  r.eal_args = std::move(eal_args);
  r.workers = c.dpdk.workers;
  r.idle_sleep_us = c.dpdk.idle_sleep_us;
  r.ports = c.dpdk.ports;
  r.mbufs = c.dpdk.mbufs;
  r.rx_desc = static_cast<std::uint16_t>(c.dpdk.rx_desc);   // loader: 1..65535
  r.tx_desc = static_cast<std::uint16_t>(c.dpdk.tx_desc);
  r.burst = static_cast<std::uint16_t>(c.dpdk.burst);       // loader: 1..512 = runtime::kMaxBurst
  r.server_address = c.server.address;
  r.max_leases = c.dpdk.max_leases;
  return r;
}

// The signals the control loop takes synchronously (sigtimedwait).
sigset_t control_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGHUP);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const ParsedArgs args = parse_args(argc, argv);
  if (args.exit_code) return *args.exit_code;
  const Options& opts = args.options;

  auto loaded = dorado::config::load_config_file(opts.config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return kExitUsage;
  }
  if (opts.show_split_scope) {
    if (!loaded.config->split_scope.enabled) {
      std::fprintf(stderr, "%s: no [split_scope] section\n", opts.config_path.c_str());
      return kExitUsage;
    }
    std::fputs(dorado::config::split_scope_text(loaded.config->split_scope,
                                                loaded.config->split_pools).c_str(), stdout);
    return 0;
  }
  if (opts.check_config) {
    std::printf("%s: OK\n", opts.config_path.c_str());
    return 0;
  }

  // Block the control signals before the EAL starts any thread, so that every
  // thread inherits the mask and only sigtimedwait() in serve() takes them.
  const sigset_t signals = control_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const auto rcfg = runtime_config(*loaded.config,
                                   opts.eal_args.empty() ? loaded.config->dpdk.eal_args : opts.eal_args,
                                   argv[0]);
  // The store's recovery starts now, on its own thread (after the signal
  // mask, which it inherits), and runs while the EAL starts (serve.hpp).
  dorado::daemon::StoreRecovery recovery(*loaded.config, rcfg.workers);
  if (std::string e = dorado::runtime::init_eal(rcfg.program_name, rcfg.eal_args); !e.empty()) {
    std::fprintf(stderr, "dorado: %s\n", e.c_str());
    return kExitUsage;
  }
  const int rc = dorado::daemon::serve(*loaded.config, *loaded.compiled, rcfg, signals,
                                       {opts.stats_on_exit, opts.config_path}, recovery);
  dorado::runtime::cleanup_eal();
  return rc;
}
