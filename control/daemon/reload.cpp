#include "daemon/reload.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

namespace dorado::daemon {

namespace {
// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(out).str();
}
}  // namespace

std::vector<engine::AddressRange> pool_ranges(const engine::EngineConfig& config) {
  std::vector<engine::AddressRange> out;
  for (const auto& s : config.subnets) out.insert(out.end(), s.pools.begin(), s.pools.end());
  return out;
}

Reloader::Reloader(std::string path, const config::DaemonConfig& running,
                   const engine::CompiledConfig& compiled, runtime::Runtime& runtime)
    : path_(std::move(path)),
      running_(running),
      initial_(&compiled),
      text_(read_text(path_).value_or("")),
      runtime_(runtime) {}

ReloadResult Reloader::reload(const std::function<void()>& while_waiting) {
  ReloadResult r;
  const auto t0 = std::chrono::steady_clock::now();
  // One read: the text validated is the text config-write gives back.
  std::optional<std::string> text = read_text(path_);
  config::LoadResult loaded =
      text ? config::load_config_string(*text, path_) : config::load_config_file(path_);
  if (!loaded.ok()) {
    for (const config::ConfigError& e : loaded.errors) r.lines.push_back(e.to_string());
    r.lines.push_back("reload refused: " + path_ + " has " + std::to_string(loaded.errors.size()) +
                      " error(s); still serving with the previous config");
    return r;
  }
  std::vector<config::ConfigError> fixed = config::restart_only_changes(running_, *loaded.config, path_);
  if (!fixed.empty()) {
    for (const config::ConfigError& e : fixed) r.lines.push_back(e.to_string());
    r.lines.push_back("reload refused: restart dorado to apply these; still serving with the previous config");
    return r;
  }
  auto next = std::make_unique<engine::CompiledConfig>(std::move(*loaded.compiled));
  next->ha.all_blocks = ha_all_blocks_;
  const std::chrono::duration<double, std::milli> load_ms = std::chrono::steady_clock::now() - t0;
  const std::vector<engine::AddressRange> watch = pool_ranges(loaded.config->engine);
  const runtime::Runtime::ReconfigureResult sw = runtime_.reconfigure(*next, watch, while_waiting);
  if (!sw.ok) {
    r.lines.push_back("reload failed: " + sw.error + "; workers may be on either config");
    stranded_.push_back(std::move(next));
    if (current_) stranded_.push_back(std::move(current_));
    return r;
  }
  current_ = std::move(next);   // the previous one (if ours) is freed here: no worker uses it
  running_ = std::move(*loaded.config);
  text_ = text ? std::move(*text) : std::string();
  r.pool_sizes = sw.pool_sizes;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "reload: %s applied (load+compile %.1f ms, switch %.1f ms, longest worker pause "
                "%.2f ms): %u leases/offers/probations kept, %u leases outside the new pools (kept "
                "until they expire, not renewed), %u inactive kept, %u dropped",
                path_.c_str(), load_ms.count(), sw.total_ns / 1e6, sw.max_pause_ns / 1e6,
                sw.stats.kept, sw.stats.withdrawn, sw.stats.history_kept, sw.stats.dropped);
  r.lines.emplace_back(buf);
  r.ok = true;
  return r;
}

ReloadResult Reloader::set_ha_all_blocks(bool on, const std::function<void()>& while_waiting) {
  ReloadResult r;
  ha_all_blocks_ = on;
  auto next = std::make_unique<engine::CompiledConfig>(compiled());
  next->ha.all_blocks = on;
  const runtime::Runtime::ReconfigureResult sw =
      runtime_.reconfigure(*next, pool_ranges(running_.engine), while_waiting);
  if (!sw.ok) {
    r.lines.push_back("partner blocks switch failed: " + sw.error + "; workers may be on either setting");
    stranded_.push_back(std::move(next));
    if (current_) stranded_.push_back(std::move(current_));
    return r;
  }
  current_ = std::move(next);
  r.pool_sizes = sw.pool_sizes;
  r.lines.push_back(std::string(on ? "allocating in both servers' blocks" : "allocating in this server's blocks") +
                    " (switch " + std::to_string(sw.total_ns / 1000000) + " ms)");
  r.ok = true;
  return r;
}

}  // namespace dorado::daemon
