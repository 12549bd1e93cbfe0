#include "daemon/serve.hpp"

#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "obs/collect.hpp"
#include "api/builtin.hpp"
#include "api/leases.hpp"
#include "api/server.hpp"
#include "api/trace.hpp"
#include "daemon/ddns.hpp"
#include "daemon/ha.hpp"
#include "daemon/notify.hpp"   // systemd hooks (marked "systemd:" below)
#include "daemon/reload.hpp"
#include "ddns/commands.hpp"
#include "ha/commands.hpp"
#include "leasequery/service.hpp"
#include "madcap/service.hpp"
#include "store/store.hpp"
#include "wire/text.hpp"

namespace dorado::daemon {
namespace {

constexpr int kExitStart = 2;

std::uint64_t monotonic_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}
std::uint64_t monotonic_ms() { return monotonic_us() / 1000; }
std::uint32_t unix_now() { return static_cast<std::uint32_t>(std::time(nullptr)); }

// "dorado: 2026-11-22T10:00:00Z store: ..." on stderr.
void log_line(const std::string& text) {
  char when[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::fprintf(stderr, "dorado: %s %s\n", when, text.c_str());
  std::fflush(stderr);
}

store::StoreOptions store_options(const config::StoreSection& s, unsigned workers) {
  store::StoreOptions o;
  o.dir = s.dir;
  o.durability = s.durability == config::Durability::fsync ? store::Durability::fsync
                                                           : store::Durability::async;
  o.commit_interval_us = s.commit_interval_us;
  o.commit_records = s.commit_records;
  o.segment_bytes = std::uint64_t{s.segment_mb} << 20;
  o.snapshot_records = s.snapshot_records;
  o.workers = workers;
  return o;
}

std::string recovery_text(const store::RecoveryStats& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "store: recovered %" PRIu64 " leases in %.3f s (%.3f s CPU; snapshot %s with %" PRIu64
                " leases, %u segment(s), %" PRIu64 " records replayed, %u torn, %u corrupt, %u "
                "snapshot(s) rejected, last seq %" PRIu64 ")",
                r.leases, r.seconds, r.cpu_seconds, r.snapshot.empty() ? "none" : r.snapshot.c_str(),
                r.snapshot_leases, r.segments, r.records_replayed, r.torn, r.corrupt,
                r.snapshots_rejected, r.last_seq);
  return buf;
}

// Every lease of the store to its shard; one line with what happened.
void restore_leases(const store::Store& st, runtime::Runtime& rt, std::uint64_t leases) {
  const engine::Seconds now = rt.now();
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = store::thread_cpu_seconds();
  rt.reserve_leases(leases);
  std::array<std::uint64_t, engine::kRestoreStatusCount> counts{};
  // Each lease is restored kAhead leases after its owner's index slot was
  // prefetched, in the mirror's order: the random index misses overlap
  // (bench/results/2026-12-07.md "Start-up, second pass").
  constexpr std::size_t kAhead = 16;
  std::vector<store::StoredLease> ring(kAhead);
  std::size_t head = 0, waiting = 0;
  const auto restore_oldest = [&] {
    ++counts[static_cast<std::size_t>(rt.restore_lease(ring[head], now))];
    head = (head + 1) % kAhead;
    --waiting;
  };
  // Each lease is read straight into its ring slot, only as far as its
  // lengths (Store::read_lease): no zeroed 256-byte copy and no function
  // object per lease (bench/results/2026-12-07.md "Hand-over: a cheaper walk").
  const std::uint32_t end = st.lease_slot_end();
  for (std::uint32_t i = 0; i < end; ++i) {
    if (waiting == kAhead) restore_oldest();
    store::StoredLease& slot = ring[(head + waiting) % kAhead];
    if (!st.read_lease(i, slot)) continue;
    if (slot.key_len != 0 && slot.key[0] == madcap::kKeyKindMadcap) continue;   // MADCAP's (docs/madcap.md)
    ++waiting;
    rt.prefetch_restore(slot);
  }
  while (waiting > 0) restore_oldest();
  std::string line = "store: handed leases to the shards:";
  for (std::size_t i = 0; i < counts.size(); ++i)
    line += ' ' + std::string(engine::restore_status_name(static_cast<engine::RestoreStatus>(i))) +
            " " + std::to_string(counts[i]);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  char buf[64];
  std::snprintf(buf, sizeof buf, " (%.3f s, %.3f s CPU)", took.count(), store::thread_cpu_seconds() - cpu0);
  log_line(line + buf);
}

// The control API's lease commands go to the workers' admin rings.
class RuntimePort final : public api::ShardPort {
 public:
  explicit RuntimePort(runtime::Runtime& rt) : rt_(rt) {}
  unsigned shards() const override { return rt_.workers(); }
  bool submit(unsigned shard, const engine::AdminRequest& r) override { return rt_.submit_admin(shard, r); }

 private:
  runtime::Runtime& rt_;
};

// The runtime's counters summed over workers, then the ports' (portN.name).
api::CounterList counter_totals(const runtime::Runtime& rt) {
  api::CounterList out;
  for (const auto& w : rt.snapshot())
    for (const auto& c : w.counters) out.push_back(c);
  for (const auto& p : rt.port_snapshot())
    for (const auto& [name, v] : p.counters) out.emplace_back("port" + std::to_string(p.lcore) + "." + name, v);
  return out;
}

}  // namespace

StoreRecovery::StoreRecovery(const config::DaemonConfig& config, unsigned workers)
    : durable_(config.store.durability != config::Durability::off),
      started_(std::chrono::steady_clock::now()) {
  if (durable_)
    thread_ = std::thread([this, o = store_options(config.store, workers)] { opened_ = store::Store::open(o); });
}

StoreRecovery::~StoreRecovery() {
  if (thread_.joinable()) thread_.join();
}

store::Store::Opened StoreRecovery::take() {
  if (thread_.joinable()) thread_.join();
  return std::move(opened_);
}

int serve(const config::DaemonConfig& config, const engine::CompiledConfig& compiled,
          runtime::RuntimeConfig rcfg, const sigset_t& signals, const ServeOptions& options,
          StoreRecovery& recovery) {
  const config::StoreSection& sc = config.store;
  const bool durable = sc.durability != config::Durability::off;
  if (!durable) log_line("store: durability \"off\": leases are not journaled and are lost at restart");
  if (config.ha.enabled && !durable) {
    std::fprintf(stderr, "dorado: [ha] needs a lease store: set [store] durability to \"fsync\" or \"async\"\n");
    return kExitStart;
  }
  if (config.ddns.enabled && !durable) {
    std::fprintf(stderr, "dorado: [ddns] needs a lease store (what is registered in DNS is journaled with the leases): "
                         "set [store] durability to \"fsync\" or \"async\"\n");
    return kExitStart;
  }
  rcfg.hold_acks = sc.durability == config::Durability::fsync;
  rcfg.ship_changes = durable;   // durability off: nothing reads the records

  // Start-up (docs/operations.md "Start-up time"): the store's recovery
  // (snapshot and journal into its mirror) runs on its own thread, started
  // by main() before the EAL, while the EAL, the ports and the shards are
  // set up; the leases go to the shards when both are done.
  const auto t_start = std::chrono::steady_clock::now();
  auto created = runtime::Runtime::create(rcfg, compiled);
  const std::chrono::duration<double> runtime_took = std::chrono::steady_clock::now() - t_start;
  const std::chrono::duration<double> eal_took = t_start - recovery.started();
  store::Store::Opened opened = recovery.take();
  std::unique_ptr<store::Store> st;
  if (durable) {
    if (!opened.store) {
      std::fprintf(stderr, "dorado: %s\n", opened.error.c_str());
      return kExitStart;
    }
    st = std::move(opened.store);
    log_line(recovery_text(opened.stats));
  }
  if (!created.runtime) {
    std::fprintf(stderr, "dorado: %s\n", created.error.c_str());
    return kExitStart;
  }
  {
    char buf[128];
    std::snprintf(buf, sizeof buf, "start-up: EAL ready in %.3f s, ports and shards in %.3f s more",
                  eal_took.count(), runtime_took.count());
    log_line(buf);
  }
  runtime::Runtime& rt = *created.runtime;
  if (st) restore_leases(*st, rt, st->lease_count());
  // DDNS (docs/dns.md): made before the workers start, so that its tap sees
  // every lease change from the first; the work a stop left is rebuilt from
  // the store's leases and the ddns-state file.
  std::unique_ptr<DdnsWiring> dns;
  auto make_dns = [&](const config::DaemonConfig& c) {
    DdnsWiring::Created d = DdnsWiring::create(c, *st, log_line, monotonic_ms());
    if (!d.wiring) log_line(d.error);
    return std::move(d.wiring);
  };
  if (config.ddns.enabled) {
    dns = make_dns(config);
    if (!dns) {
      std::fprintf(stderr, "dorado: DDNS could not start (logged above)\n");
      return kExitStart;
    }
  }
  // MADCAP (docs/madcap.md): multicast leases journaled in the same store,
  // a kernel UDP socket polled from this loop.
  std::unique_ptr<madcap::Service> mc;
  auto make_mc = [&](const config::DaemonConfig& c) {
    madcap::Service::Created m = madcap::Service::create(madcap::settings_from(c), *st, log_line, unix_now());
    if (!m.service) log_line(m.error);
    return std::move(m.service);
  };
  if (config.madcap.enabled) {
    if (!st) {
      std::fprintf(stderr, "dorado: [madcap] needs a lease store (multicast leases are journaled with the others): "
                           "set [store] durability to \"fsync\" or \"async\"\n");
      return kExitStart;
    }
    mc = make_mc(config);
    if (!mc) {
      std::fprintf(stderr, "dorado: MADCAP could not start (logged above)\n");
      return kExitStart;
    }
  }
  obs::Logger logger;
  obs::Observer observer(rt, st.get(), config, compiled, logger);   // metrics, telemetry, pdump
  if (std::string e = rt.start(); !e.empty()) {
    std::fprintf(stderr, "dorado: %s\n", e.c_str());
    return kExitStart;
  }
  observer.start();   // before "serving": scripts may scrape right after it
  {
    // The whole start in one line: wall time since main() began and the
    // process's CPU time (all threads; bench/recovery.sh reads it).
    timespec cpu{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    const std::chrono::duration<double> total = std::chrono::steady_clock::now() - recovery.started();
    char buf[128];
    std::snprintf(buf, sizeof buf, "start-up: serving %.3f s after main() began, %.3f s of CPU",
                  total.count(), static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) * 1e-9);
    log_line(buf);
  }
  char server[16];
  server[wire::format_ipv4(rcfg.server_address, server)] = '\0';
  std::printf("dorado: serving with %u worker(s), server address %s\n%s", rcfg.workers, server,
              rt.describe().c_str());
  std::fflush(stdout);

  // Control API: commands answered from this loop; lease commands by the
  // shards through the admin rings. A socket that cannot be opened leaves
  // the API off (logged), not the server down.
  // Reload (SIGHUP, config-reload): the Reloader owns the config in force
  // from then on; `apply_reload` below wires a successful one into the API
  // and the metrics.
  Reloader reloader(options.config_path, config, compiled, rt);
  api::CommandTable commands;
  api::Statistics stats([&rt, &dns, &mc] {
    api::CounterList totals = counter_totals(rt);
    if (dns) dns->add_counters(totals, monotonic_ms());
    if (mc) {
      for (const madcap::CounterRow& r : madcap::counter_rows(mc->counters()))
        totals.emplace_back(std::string("madcap.") + r.name, r.value);
      totals.emplace_back("madcap.leases", mc->bound_count());
    }
    return totals;
  });
  bool shutdown_requested = false;
  std::function<api::ReloadOutcome()> reload_hook;   // set once the loop's parts exist
  api::register_daemon_commands(
      commands, stats,
      {DORADO_VERSION, &reloader.config(), options.config_path,
       [&shutdown_requested] { shutdown_requested = true; },
       [&reload_hook] { return reload_hook(); }, [&reloader] { return reloader.config_text(); }});
  RuntimePort port(rt);
  api::LeaseService leases(port, compiled, [&rt] { return rt.now(); });
  leases.register_commands(commands);
  // Bulk leasequery (RFC 6926, [leasequery] bulk_listen): a TCP listener
  // here, the leases paged from the shards by admin messages. One that
  // cannot listen is logged and left off; the server goes on.
  std::unique_ptr<leasequery::BulkService> bulk;
  if (config.leasequery.bulk) {
    leasequery::BulkOptions bo;
    bo.listen_address = config.leasequery.bulk_address;
    bo.listen_port = config.leasequery.bulk_port;
    bo.server_id = rcfg.server_address;
    auto opened = leasequery::BulkService::open(bo, port, compiled);
    if (opened.service) {
      bulk = std::move(opened.service);
      log_line("bulk leasequery: listening on " + config.leasequery.bulk_listen + " (TCP)");
    } else {
      log_line(opened.error + ": bulk leasequery is off");
    }
  }
  // The targeted trace (docs/operations.md "Tracing one client"): the
  // workers record, the control thread reads their rings.
  api::register_trace_commands(
      commands, {[&rt](const engine::TraceFilter& f) { rt.trace_start(f); }, [&rt] { return rt.trace_stop(); },
                 [&rt] {
                   runtime::Runtime::TraceReading t = rt.trace_read();
                   return api::TraceView{t.session, t.active, t.filter, std::move(t.records), std::move(t.full),
                                         std::move(t.waiting)};
                 },
                 [&reloader] { return &reloader.config(); }});
  // fsync: an API change is answered once durable, like an ACK.
  if (st && rcfg.hold_acks)
    leases.set_durable([&st](unsigned w) { return st->durable_shard_seq(w); });
  ha::register_ha_commands(commands, nullptr, monotonic_ms);   // replaced below with [ha]
  // DDNS: lease4-resend-ddns, and the lease answers' hostname / fqdn-fwd / fqdn-rev.
  auto wire_dns = [&] {
    ddns::register_ddns_commands(commands, dns ? &dns->service() : nullptr);
    if (dns)
      leases.set_dns([&dns](wire::Ipv4 a) { return dns ? dns->view(a) : std::nullopt; });
    else
      leases.set_dns({});
    if (dns)
      observer.set_ddns_source([&dns] { return dns ? dns->stats(monotonic_ms()) : obs::DdnsStats{}; });
    else
      observer.set_ddns_source({});
  };
  wire_dns();
  // MADCAP's counters in the metrics (the statistics read `mc` directly).
  auto wire_mc = [&] {
    if (mc)
      observer.set_madcap_source([&mc] {
        obs::MadcapStats m;
        if (!mc) return m;
        m.present = true;
        for (const madcap::CounterRow& r : madcap::counter_rows(mc->counters()))
          m.counters.push_back({r.name, r.help, r.value});
        m.leases = mc->bound_count();
        return m;
      });
    else
      observer.set_madcap_source({});
  };
  wire_mc();
  // HA (docs/ha.md): created once the loop's parts exist (below); the lease
  // commands' durability and the admin replies consult it.
  std::unique_ptr<HaWiring> ha;
  std::unique_ptr<api::Server> api_server;
  if (!config.control.socket.empty()) {
    auto opened = api::Server::open({config.control.socket}, commands);
    if (opened.server) {
      api_server = std::move(opened.server);
      log_line("control socket " + config.control.socket + " (mode 0600)");
    } else {
      log_line(opened.error + ": the control API is off");
    }
  }

  const runtime::Runtime::ChangeSink sink = [&st](unsigned w,
                                                  std::span<const engine::LeaseChange> c) {
    if (st) st->take(w, c);
  };
  // Housekeeping pace: often enough that a record waits little for its
  // group commit (fsync), rarely enough to cost nothing when idle.
  const long tick_ns = st ? std::min<long>(200'000, 1000L * sc.commit_interval_us) : 1'000'000;
  const timespec tick{0, tick_ns};
  bool writable = true;
  // The journal's part of the loop: lease changes in, group commit, durable
  // seqs out. Also all that runs while a reload waits for the workers.
  auto commit_work = [&] {
    rt.poll_control(sink);
    if (!st) return;
    if (std::string msg = st->tick(monotonic_us()); !msg.empty()) log_line(msg);
    for (unsigned w = 0; w < rt.workers(); ++w) {
      const std::uint32_t local = st->durable_shard_seq(w);
      rt.publish_durable(w, ha ? ha->service().durable_limit(w, local) : local);   // ack = "partner"
    }
    if (st->writable() != writable) {
      writable = st->writable();
      rt.set_store_writable(writable);
      log_line(writable ? "store: writable again: new leases are granted"
                        : "store: cannot write: no new leases until it can (renewals keep their expiry)");
    }
  };
  std::vector<std::uint32_t> conflict_cursors;   // Runtime::probe_conflicts
  auto housekeeping = [&] {
    commit_work();
    observer.tick(monotonic_us());
    const std::uint64_t now_ms = monotonic_us() / 1000;
    rt.poll_admin([&leases, &ha, &bulk](unsigned w, const engine::AdminReply& r) {
      if ((r.id & ha::kHaAdminId) && ha)
        ha->service().on_admin_reply(w, r);
      else if ((r.id & leasequery::kBulkAdminId) && bulk)
        bulk->on_admin_reply(w, r);
      else
        leases.on_reply(w, r);
    });
    leases.tick(now_ms);
    if (bulk)
      for (const std::string& line : bulk->tick(rt.now(), now_ms)) log_line(line);
    // Conflict detection: each address a probe found in use, with who answered.
    rt.probe_conflicts(conflict_cursors, [](wire::Ipv4 ip, const wire::MacAddr& mac) {
      log_line("conflict: " + wire::format_ipv4(ip) + " answered a probe from " + wire::format_mac(mac) +
               ": not offered, in probation as if declined");
    });
    if (ha) ha->tick(now_ms);
    if (dns) dns->tick(now_ms);
    if (mc) mc->tick(unix_now());
    if (api_server) api_server->poll(now_ms);
  };
  // One reload, from SIGHUP or config-reload (called from inside
  // housekeeping, so the reload's own wait runs commit_work only: no API
  // request, and so no second reload, is taken meanwhile).
  std::string running_madcap_listen = config.madcap.listen;
  auto apply_reload = [&](const char* why) {
    log_line(std::string("reload: ") + why + ": reading " + options.config_path);
    ReloadResult r = reloader.reload(commit_work);
    for (const std::string& line : r.lines) log_line(line);
    if (r.ok) {
      leases.set_config(reloader.compiled());
      if (bulk) bulk->set_config(reloader.compiled());
      observer.reconfigure(reloader.config(), reloader.compiled(), r.pool_sizes);
      // [ddns] added, removed or changed: the service follows (docs/dns.md "Reload").
      const config::DaemonConfig& now = reloader.config();
      if (now.ddns.enabled && dns) {
        dns->reconfigure(now);
      } else if (now.ddns.enabled != (dns != nullptr)) {
        if (now.ddns.enabled && st) dns = make_dns(now);
        else dns.reset();
        log_line(dns ? "ddns: started by the reload" : "ddns: stopped by the reload ([ddns] removed)");
        wire_dns();
      }
      // [madcap] added, removed or changed (a new listen address: a new socket).
      if (now.madcap.enabled && mc && reloader.config().madcap.listen == running_madcap_listen) {
        mc->reconfigure(madcap::settings_from(now));
        log_line("madcap: " + std::to_string(now.multicast_scopes.size()) + " scope(s) after the reload");
      } else if (now.madcap.enabled || mc) {
        mc.reset();
        if (now.madcap.enabled && st) mc = make_mc(now);
        log_line(mc ? "madcap: (re)started by the reload" : "madcap: stopped by the reload");
        wire_mc();
      }
      running_madcap_listen = now.madcap.listen;
    }
    return api::ReloadOutcome{r.ok, std::move(r.lines)};
  };
  reload_hook = [&apply_reload] { return apply_reload("config-reload"); };
  if (config.ha.enabled) {
    HaWiring::Created h = HaWiring::create(config, *st, rt, reloader, log_line, commit_work, monotonic_ms());
    if (!h.wiring) {
      std::fprintf(stderr, "dorado: %s\n", h.error.c_str());
      observer.stop();
      rt.stop();
      return kExitStart;
    }
    ha = std::move(h.wiring);
    ha::register_ha_commands(commands, &ha->service(), monotonic_ms);
    observer.set_ha_source([&ha] {
      const ha::ServiceStatus st = ha->service().status(monotonic_ms());
      obs::HaStats h;
      h.present = true;
      h.state = ha::ha_state_name(st.state);
      h.connected = st.connected;
      h.lag_records = st.unsent;
      h.lag_seconds = st.lag_seconds;
      h.sent = st.counters.records_sent;
      h.received = st.counters.records_received;
      h.applied = st.counters.records_applied;
      h.unchanged = st.counters.records_unchanged;
      h.rejected = st.counters.records_rejected;
      h.resyncs = st.counters.resyncs;
      h.last_resync_seconds = st.counters.last_resync_seconds;
      h.connection_failures = st.counters.connection_failures;
      h.auth_failures = st.counters.auth_failures;
      h.epoch = st.epoch;
      return h;
    });
    log_line("ha: " + config.ha.this_server + " listening on " + config.ha.listen + ", partner " +
             config.ha.partner()->name + " at " + config.ha.partner()->address);
  }
  // systemd: READY=1 (Type=notify) once serving, the control socket and HA up (daemon/notify.hpp).
  notify::ready("serving with " + std::to_string(rcfg.workers) + " worker(s), server address " + server);
  unsigned shutdown_ticks = 0;
  while (true) {
    notify::watchdog();   // systemd: WATCHDOG=1 at half of WATCHDOG_USEC (daemon/notify.hpp)
    housekeeping();
    // shutdown (control API): stop once its answer is out (or after ~1 s).
    if (shutdown_requested &&
        (!api_server || api_server->open_connections() == 0 || ++shutdown_ticks * tick_ns > 1'000'000'000L))
      break;
    siginfo_t info;
    const int sig = sigtimedwait(&signals, &info, &tick);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (sig == SIGHUP) apply_reload("SIGHUP");
    if (sig == SIGUSR1) {
      std::fputs(rt.counters_text().c_str(), stdout);
      std::fflush(stdout);
    }
  }
  std::printf("dorado: stopping\n");
  notify::stopping();   // systemd: STOPPING=1 (daemon/notify.hpp)
  observer.stop();
  rt.stop();
  rt.poll_control(sink);   // the records the workers pushed last
  ha.reset();              // its last applied position written; before the store closes
  dns.reset();             // the ddns-state file synced; its tap removed before the store closes
  mc.reset();              // its records are in the store already
  if (st) {
    if (std::string e = st->close(sc.snapshot_on_exit); !e.empty()) log_line("store: " + e);
    const store::StoreCounters c = st->counters();
    log_line("store: closed: " + std::to_string(c.records) + " records, " +
             std::to_string(c.commits) + " commits, " + std::to_string(c.write_errors) +
             " write errors, " + std::to_string(c.leases) + " leases");
  }
  if (options.stats_on_exit) std::fputs(rt.counters_text().c_str(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace dorado::daemon
