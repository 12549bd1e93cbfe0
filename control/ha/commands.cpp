#include "ha/commands.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

namespace dorado::ha {
namespace {

using api::Answer;
using api::Args;
using api::Json;
using api::Reply;
using api::Request;

std::string role_name(Role r) {
  return r == Role::primary ? "primary" : r == Role::secondary ? "secondary" : "standby";
}

// Kea's scopes: the servers whose clients this one answers now.
Json scopes(const ServiceSettings& s, HaState state) {
  Json v = Json::array();
  const bool all = state == HaState::partner_down || state == HaState::partner_in_maintenance;
  const bool own = state == HaState::load_balancing || state == HaState::communication_recovery ||
                   (state == HaState::hot_standby && s.role == Role::primary);
  if (all) {
    v.push_back(s.role == Role::primary ? s.this_name : s.partner_name);
    if (s.mode == Mode::load_balancing) v.push_back(s.role == Role::primary ? s.partner_name : s.this_name);
  } else if (own) {
    v.push_back(s.this_name);
  }
  return v;
}

std::string utc_now() {
  char buf[64];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

Json ha_status(const Service& svc, std::uint64_t now_ms) {
  const ServiceSettings& s = svc.settings();
  const ServiceStatus st = svc.status(now_ms);
  const Role partner_role = s.mode == Mode::hot_standby ? (s.role == Role::primary ? Role::standby : Role::primary)
                                                        : (s.role == Role::primary ? Role::secondary : Role::primary);
  Json local{{"role", role_name(s.role)},
             {"scopes", scopes(s, st.state)},
             {"state", ha_state_name(st.state)},
             {"server-name", s.this_name}};
  Json remote{{"role", role_name(partner_role)},
              {"server-name", s.partner_name},
              {"last-state", st.partner_known ? ha_state_name(st.partner_state) : ""},
              {"in-touch", st.connected},
              {"unacked-clients", st.unacked_clients},
              {"communication-interrupted", !st.connected}};
  const ServiceCounters& c = st.counters;
  Json dorado{{"state", ha_state_name(st.state)},
              {"state-age-ms", st.state_age_ms},
              {"partner-state", st.partner_known ? ha_state_name(st.partner_state) : "unknown"},
              {"connected", st.connected},
              {"epoch", st.epoch},
              {"last-seq", st.last_seq},
              {"partner-acked-seq", st.partner_acked_seq},
              {"partner-last-seq", st.partner_last_seq},
              {"applied-seq", st.applied_seq},
              {"unsent-update-count", st.unsent},
              {"lag-seconds", st.lag_seconds},
              {"records-sent", c.records_sent},
              {"records-received", c.records_received},
              {"records-applied", c.records_applied},
              {"records-unchanged", c.records_unchanged},
              {"records-rejected", c.records_rejected},
              {"conflicts-won", c.conflicts_won},
              {"connections", c.connections},
              {"connection-failures", c.connection_failures},
              {"auth-failures", c.auth_failures},
              {"resyncs", c.resyncs},
              {"last-resync-seconds", c.last_resync_seconds},
              {"full-transfers-sent", c.full_transfers_sent}};
  return Json{{"ha-mode", s.mode == Mode::hot_standby ? "hot-standby" : "load-balancing"},
              {"ha-servers", Json{{"local", local}, {"remote", remote}}},
              {"dorado", dorado}};
}

}  // namespace

void register_ha_commands(api::CommandTable& t, Service* svc, std::function<std::uint64_t()> now_ms) {
  const auto start = std::chrono::steady_clock::now();
  t.add("status-get", "pid, uptime and the HA state of both servers (Kea's shape)",
        [svc, now_ms, start](const Request& r, Reply done) {
          Args a(r.arguments);
          if (!a.finish()) return done(api::error_answer(a.error()));
          Json v{{"pid", ::getpid()},
                 {"uptime", std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
                                .count()}};
          if (svc != nullptr) v["high-availability"] = Json::array({ha_status(*svc, now_ms())});
          done(api::success("dorado is running", v));
        });
  const auto need = [svc](Reply& done) {
    if (svc == nullptr) done(api::error_answer("HA is not configured ([ha] in the config)"));
    return svc != nullptr;
  };
  t.add("ha-heartbeat", "this server's HA state, time and unsent updates (Kea's ha-heartbeat)",
        [svc, now_ms, need](const Request& r, Reply done) {
          Args a(r.arguments);
          if (!a.finish()) return done(api::error_answer(a.error()));
          if (!need(done)) return;
          const ServiceStatus st = svc->status(now_ms());
          done(api::success("HA peer status returned.",
                            Json{{"state", ha_state_name(st.state)},
                                 {"date-time", utc_now()},
                                 {"unsent-update-count", st.unsent}}));
        });
  t.add("ha-maintenance-start", "serve alone; the partner goes to in-maintenance",
        [svc, now_ms, need](const Request& r, Reply done) {
          Args a(r.arguments);
          if (!a.finish()) return done(api::error_answer(a.error()));
          if (!need(done)) return;
          if (std::string e = svc->maintenance_start(now_ms()); !e.empty()) return done(api::error_answer(e));
          done(api::success("Server is now in the partner-in-maintenance state."));
        });
  t.add("ha-maintenance-cancel", "end maintenance: both servers resume", [svc, now_ms, need](const Request& r, Reply done) {
    Args a(r.arguments);
    if (!a.finish()) return done(api::error_answer(a.error()));
    if (!need(done)) return;
    if (std::string e = svc->maintenance_cancel(now_ms()); !e.empty()) return done(api::error_answer(e));
    done(api::success("Server maintenance successfully canceled."));
  });
  t.add("ha-continue", "accepted for Kea compatibility: dorado's HA state machine never pauses",
        [need](const Request& r, Reply done) {
          Args a(r.arguments);
          if (!a.finish()) return done(api::error_answer(a.error()));
          if (!need(done)) return;
          done(api::success("HA state machine is not paused."));
        });
  t.add("ha-sync", "fetch every lease from the partner again (full transfer; this server stops serving until in sync)",
        [svc, now_ms, need](const Request& r, Reply done) {
          Args a(r.arguments);
          a.string("server-name", false);   // Kea's argument: the partner (there is only one)
          a.integer("max-period", false, 0, 3600);
          if (!a.finish()) return done(api::error_answer(a.error()));
          if (!need(done)) return;
          svc->sync(now_ms());
          done(api::success("Lease database synchronization started."));
        });
}

}  // namespace dorado::ha
