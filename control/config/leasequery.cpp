// [leasequery] (RFC 4388 leasequery, engine/leasequery.hpp):
//   allowed = ["a.b.c.d", ...]   the requesters whose DHCPLEASEQUERY is answered
// -> engine::EngineConfig::leasequery_allowed. Reloadable (it is part of the
// compiled config). Documented in docs/configuration.md, "[leasequery]".
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "config/toml_reader.hpp"

namespace dorado::config::detail {
namespace {

class LeasequeryReader : public TableReader {
 public:
  using TableReader::TableReader;

  void run(const Value& t) {
    check_keys(t, p_, {"allowed"});
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
