#include "daemon/ha.hpp"

#include <utility>
#include <vector>

#include "engine/engine.hpp"
#include "wire/text.hpp"

namespace dorado::daemon {

class HaWiring::Host final : public ha::Host {
 public:
  Host(runtime::Runtime& rt, Reloader& reloader, std::function<void(const std::string&)> log,
       std::function<void()> while_waiting)
      : rt_(rt), reloader_(reloader), log_(std::move(log)), while_waiting_(std::move(while_waiting)) {}

  unsigned shards() const override { return rt_.workers(); }
  unsigned shard_of(const engine::LeaseChange& c) const override {
    return engine::owner_shard_of(c, reloader_.compiled(), rt_.workers());
  }
  unsigned block_shard_of(const engine::LeaseChange& c) const override {
    return engine::block_owner_of(c, reloader_.compiled(), rt_.workers());
  }
  bool submit(unsigned shard, const engine::AdminRequest& r) override { return rt_.submit_admin(shard, r); }
  void set_serve(engine::HaServe serve) override { rt_.set_ha_serve(serve); }
  void set_partner_blocks(bool on) override {
    const ReloadResult r = reloader_.set_ha_all_blocks(on, while_waiting_);
    for (const std::string& line : r.lines) log_("ha: " + line);
  }
  void unacked(const std::function<void(std::uint32_t)>& fn) override { rt_.ha_unacked(cursors_, fn); }
  void log(const std::string& line) override { log_(line); }

 private:
  runtime::Runtime& rt_;
  Reloader& reloader_;
  std::function<void(const std::string&)> log_;
  std::function<void()> while_waiting_;
  std::vector<std::uint32_t> cursors_;
};

ha::ServiceSettings ha_settings(const config::DaemonConfig& config) {
  const config::HaSection& h = config.ha;
  ha::ServiceSettings s;
  const config::HaPeer* self = h.self();
  const config::HaPeer* partner = h.partner();
  s.this_name = self->name;
  s.partner_name = partner->name;
  s.mode = h.mode == config::HaMode::hot_standby ? ha::Mode::hot_standby : ha::Mode::load_balancing;
  s.role = self->role == config::HaRole::primary     ? ha::Role::primary
           : self->role == config::HaRole::secondary ? ha::Role::secondary
                                                     : ha::Role::standby;
  const auto endpoint = [](std::uint32_t ip, std::uint16_t port) {
    return ha::Endpoint{wire::format_ipv4(ip), port};
  };
  s.listen = endpoint(h.listen_ip, h.listen_port);
  s.partner = endpoint(partner->ip, partner->port);
  s.tls = {h.insecure, h.ca, h.cert, h.key};
  s.ack_partner = h.ack == config::HaAck::partner;
  s.heartbeat_ms = h.heartbeat_ms;
  s.max_response_delay_ms = h.max_response_delay_ms;
  s.max_unacked_clients = h.max_unacked_clients;
  s.mclt_s = h.mclt;
  s.backlog_bytes = std::uint64_t{h.backlog_mb} << 20;
  s.config_digest = config::ha_config_digest(config);
  s.state_dir = config.store.dir;
  return s;
}

HaWiring::Created HaWiring::create(const config::DaemonConfig& config, store::Store& store, runtime::Runtime& rt,
                                   Reloader& reloader, std::function<void(const std::string&)> log,
                                   std::function<void()> while_waiting, std::uint64_t now_ms) {
  Created c;
  std::unique_ptr<HaWiring> w(new HaWiring());
  w->host_ = std::make_unique<Host>(rt, reloader, std::move(log), std::move(while_waiting));
  ha::Service::Created s = ha::Service::create(ha_settings(config), store, *w->host_, now_ms);
  if (!s.service) {
    c.error = "ha: " + s.error;
    return c;
  }
  w->service_ = std::move(s.service);
  c.wiring = std::move(w);
  return c;
}

HaWiring::~HaWiring() = default;

void HaWiring::tick(std::uint64_t now_ms) { service_->tick(now_ms); }

}  // namespace dorado::daemon
