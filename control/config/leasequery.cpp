// [leasequery] (RFC 4388 leasequery, engine/leasequery.hpp; RFC 6926 bulk
// leasequery, control/leasequery/service.hpp):
//   allowed = ["a.b.c.d", ...]   the requesters whose DHCPLEASEQUERY is answered
//   bulk_listen = "ADDRESS:PORT" TCP listener of bulk leasequery ("" = none;
//                                default "0.0.0.0:67")
// -> engine::EngineConfig::leasequery_allowed (reloadable: it is part of the
// compiled config) and DaemonConfig::leasequery (read at start only).
// Documented in docs/configuration.md, "[leasequery]".
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "config/toml_reader.hpp"
#include "config/values.hpp"

namespace dorado::config::detail {
namespace {

class LeasequeryReader : public TableReader {
 public:
  using TableReader::TableReader;

  void run(const Value& t) {
    check_keys(t, p_, {"allowed", "bulk_listen"});
    LeasequerySection& lq = out_.config.leasequery;
    lq.bulk = true;
    if (const auto s = string(t, p_, "bulk_listen")) {
      const Where w = where_of(t.at("bulk_listen"), "leasequery.bulk_listen");
      const auto ep = s->empty() ? std::nullopt : parse_endpoint(*s);
      if (s->empty()) {
        lq.bulk = false;
        lq.bulk_listen.clear();
      } else if (!ep) {
        error(w, "must be \"ADDRESS:PORT\" with an IPv4 address and a port 1..65535, or \"\" for none (got \"" +
                     *s + "\")");
      } else if (ep->ip != 0 && ((ep->ip >> 28) == 0xe || ep->ip == 0xffffffffu)) {
        error(w, "must be a unicast address, or 0.0.0.0 for every interface (got \"" + *s + "\")");
      } else {
        lq.bulk_listen = *s;
        lq.bulk_address = ep->ip;
        lq.bulk_port = ep->port;
      }
    }
    if (!find(t, "allowed")) {
      missing(t, p_, "allowed");
      return;
    }
    std::vector<std::pair<Ipv4, Where>> seen;
    for (auto& [ip, w] : ipv4_list(t, p_, "allowed")) {
      if (ip == 0 || ip == 0xffffffffu || (ip >> 28) == 0xe) {
        error(w, "must be a unicast address (a relay or access concentrator that sends DHCPLEASEQUERY)");
        continue;
      }
      const auto dup = std::find_if(seen.begin(), seen.end(),
                                    [ip = ip](const auto& s) { return s.first == ip; });
      if (dup != seen.end()) {
        error(w, "listed twice (first " + at(dup->second) + ")");
        continue;
      }
      seen.emplace_back(ip, w);
      out_.config.engine.leasequery_allowed.push_back(ip);
    }
  }

 private:
  const std::string p_ = "leasequery";
};

}  // namespace

void read_leasequery(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t) {
  LeasequeryReader(out, lines, file).run(t);
}

}  // namespace dorado::config::detail
