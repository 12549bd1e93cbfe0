#include "daemon/ddns.hpp"

#include <ctime>

namespace dorado::daemon {

DdnsWiring::Created DdnsWiring::create(const config::DaemonConfig& config, store::Store& store,
                                       std::function<void(const std::string&)> log, std::uint64_t now_ms) {
  Created c;
  ddns::Service::Created s = ddns::Service::create(ddns::settings_from(config), store, std::move(log), now_ms,
                                                   static_cast<std::uint32_t>(std::time(nullptr)));
  if (!s.service) {
    c.error = s.error;
    return c;
  }
  c.wiring.reset(new DdnsWiring());
  c.wiring->service_ = std::move(s.service);
  return c;
}

void DdnsWiring::reconfigure(const config::DaemonConfig& config) {
  service_->reconfigure(ddns::settings_from(config));
}

void DdnsWiring::add_counters(api::CounterList& out, std::uint64_t now_ms) const {
  const ddns::Status st = service_->status(now_ms);
  for (const ddns::CounterRow& r : ddns::counter_rows(st.counters)) out.emplace_back(std::string("ddns.") + r.name, r.value);
  for (const auto& [rcode, n] : st.counters.refused_by_rcode) out.emplace_back("ddns.update_refused." + rcode, n);
  out.emplace_back("ddns.queue_depth", st.queue_depth);
  out.emplace_back("ddns.oldest_wait_s", static_cast<std::uint64_t>(st.oldest_wait_s));
  out.emplace_back("ddns.registered", st.registered);
}

obs::DdnsStats DdnsWiring::stats(std::uint64_t now_ms) const {
  const ddns::Status st = service_->status(now_ms);
  obs::DdnsStats d;
  d.present = true;
  for (const ddns::CounterRow& r : ddns::counter_rows(st.counters)) d.counters.push_back({r.name, r.help, r.value});
  for (const auto& [rcode, n] : st.counters.refused_by_rcode) d.refused.emplace_back(rcode, n);
  d.queue_depth = st.queue_depth;
  d.oldest_wait_s = st.oldest_wait_s;
  d.registered = st.registered;
  return d;
}

std::optional<api::LeaseDnsView> DdnsWiring::view(wire::Ipv4 address) const {
  const std::optional<ddns::LeaseDns> d = service_->registered(address);
  if (!d) return std::nullopt;
  return api::LeaseDnsView{d->fqdn, d->forward, d->reverse};
}

}  // namespace dorado::daemon
