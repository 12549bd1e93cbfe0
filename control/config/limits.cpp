// Per-circuit limits (issue 16; engine/limits.hpp):
//   [limits]                          the global scope
//   max_leases_per_circuit = N        1..16777215 active leases per circuit
//   max_new_clients_per_second = N    1..1000000 new clients per circuit and second
//   limit_by = "circuit_id"           | "remote_id" | "mac": what a circuit is
// and the same three keys in a [[subnet]]: that subnet counts its leases
// apart, keys it leaves out take [limits]' values.
// -> engine::EngineConfig::limits, SubnetConfig::limits (reloadable).
// Documented in docs/configuration.md, "[limits]".
#include <string>

#include "config/toml_reader.hpp"

namespace dorado::config::detail {
namespace {

constexpr std::int64_t kMaxLeasesPerCircuit = (std::int64_t{1} << 24) - 1;   // LimitTable's 24-bit count
constexpr std::int64_t kMaxNewPerSecond = 1'000'000;

class LimitsReader : public TableReader {
 public:
  using TableReader::TableReader;

  void run(const Value& t, const std::string& prefix, engine::LimitConfig& out) {
    if (auto x = integer(t, prefix, "max_leases_per_circuit", 1, kMaxLeasesPerCircuit))
      out.max_leases = static_cast<std::uint32_t>(*x);
    if (auto x = integer(t, prefix, "max_new_clients_per_second", 1, kMaxNewPerSecond))
      out.max_new_per_second = static_cast<std::uint32_t>(*x);
    if (auto s = string(t, prefix, "limit_by")) {
      const Where w = where_of(t.at("limit_by"), join(prefix, "limit_by"));
      if (*s == "circuit_id")
        out.by = engine::LimitBy::circuit_id;
      else if (*s == "remote_id")
        out.by = engine::LimitBy::remote_id;
      else if (*s == "mac")
        out.by = engine::LimitBy::mac;
      else {
        error(w, "must be \"circuit_id\", \"remote_id\" or \"mac\" (got \"" + *s + "\")");
        return;
      }
      out.by_set = true;
    }
  }
};

}  // namespace

void read_limits(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t) {
  LimitsReader r(out, lines, file);
  r.check_keys(t, "limits", {"max_leases_per_circuit", "max_new_clients_per_second", "limit_by"});
  r.run(t, "limits", out.config.engine.limits);
}

void read_subnet_limits(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t,
                        const std::string& prefix, engine::LimitConfig& limits) {
  LimitsReader(out, lines, file).run(t, prefix, limits);
}

}  // namespace dorado::config::detail
