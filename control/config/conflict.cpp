// [conflict] and a subnet's [subnet.conflict] -> engine::ProbePolicy and
// engine::SubnetProbe (engine/probe.hpp): conflict detection before an
// OFFER. Every error names FILE:LINE and key, as everywhere in the loader.
// Keys and bounds: docs/configuration.md, "[conflict]".
#include <cstdint>
#include <string>

#include "config/toml_reader.hpp"
#include "engine/probe.hpp"

namespace dorado::config::detail {
namespace {

constexpr std::int64_t kMaxProbeAfter = 0xffffffffLL;

class ConflictReader : public TableReader {
 public:
  using TableReader::TableReader;

  std::optional<engine::ProbeMode> mode(const Value& t, const std::string& p) {
    const auto s = string(t, p, "probe");
    if (!s) return std::nullopt;
    if (const auto m = engine::probe_mode_from(s->c_str())) return m;
    error(where_of(*find(t, "probe"), join(p, "probe")),
          "must be \"icmp\", \"arp\" or \"off\" (got \"" + *s + "\")");
    return std::nullopt;
  }

  void global(const Value& t) {
    const std::string p = "conflict";
    check_keys(t, p, {"probe", "probe_after", "probe_timeout_ms", "probes"});
    engine::ProbePolicy& e = out_.config.engine.probe;
    if (auto m = mode(t, p)) e.mode = *m;
    if (auto x = integer(t, p, "probe_after", 0, kMaxProbeAfter)) e.probe_after_s = static_cast<std::uint32_t>(*x);
    if (auto x = integer(t, p, "probe_timeout_ms", 1, engine::kProbeMaxTimeoutMs))
      e.timeout_ms = static_cast<std::uint32_t>(*x);
    if (auto x = integer(t, p, "probes", 1, engine::kProbeMaxProbes)) e.probes = static_cast<std::uint32_t>(*x);
  }

  void subnet(const Value& t, const std::string& p, engine::SubnetProbe& s) {
    for (const char* k : {"probe_timeout_ms", "probes"})
      if (const Value* v = find(t, k))
        error(where_of(*v, join(p, k)), "set in [conflict] only: one timer for every subnet of a worker");
    check_keys(t, p, {"probe", "probe_after", "probe_timeout_ms", "probes"});
    s.mode = mode(t, p);
    if (auto x = integer(t, p, "probe_after", 0, kMaxProbeAfter)) s.probe_after_s = static_cast<std::uint32_t>(*x);
  }
};

}  // namespace

void read_conflict(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t) {
  ConflictReader(out, lines, file).global(t);
}

void read_subnet_conflict(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t,
                          const std::string& prefix, engine::SubnetProbe& s) {
  ConflictReader r(out, lines, file);
  if (!t.is_table()) {
    r.type_error(t, prefix, "a table [subnet.conflict]");
    return;
  }
  r.subnet(t, prefix, s);
}

}  // namespace dorado::config::detail
