#include "config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <tuple>

#include "config/detail.hpp"

namespace dorado::config {

unsigned default_mbufs(unsigned workers, unsigned rx_desc, unsigned tx_desc) noexcept {
  const unsigned long long want =
      static_cast<unsigned long long>(workers) * (rx_desc + tx_desc + 4096ull);
  unsigned long long n = 8192;
  while (n < want + 1 && n < (1ull << 31)) n *= 2;
  return static_cast<unsigned>(n - 1);
}

std::string ConfigError::to_string() const {
  std::string s = file + ":" + std::to_string(line) + ": ";
  if (!key.empty()) s += key + ": ";
  return s + message;
}

namespace detail {

Diag compile_diag(const engine::CompileResult& result, const ConfigWhere& w) {
  Diag d{0, 0, "", "rejected by the engine: " + result.error};
  if (result.subnet_index < w.subnets.size()) {
    const Where& table = w.subnets[result.subnet_index].table;
    d.line = table.line;
    d.column = table.column;
    d.key = table.key;
  }
  return d;
}

}  // namespace detail

namespace {

using detail::Diag;

LoadResult finish(std::vector<Diag> diags, const std::string& file) {
  std::stable_sort(diags.begin(), diags.end(), [](const Diag& a, const Diag& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  LoadResult r;
  for (Diag& d : diags)
    r.errors.push_back(ConfigError{file, d.line, std::move(d.key), std::move(d.message)});
  return r;
}

// [ha] -> the engine's part (engine/ha.hpp): this server's side of the
// blocks, the RFC 3074 buckets it answers in normal operation, when a
// client of the partner's counts as unanswered; and with ack = "local" the
// MCLT bound on lease times (a lease is never given for longer than the
// partner may not know of it).
void apply_ha(DaemonConfig& c) {
  const HaSection& h = c.ha;
  const HaPeer* self = h.self();
  engine::HaConfig& e = c.engine.ha;
  e.enabled = true;
  e.side = self->role == HaRole::primary ? 0 : 1;
  e.all_blocks = false;
  if (h.mode == HaMode::hot_standby)
    e.buckets = self->role == HaRole::primary ? engine::BucketSet::range(0, 256) : engine::BucketSet{};
  else
    e.buckets = self->role == HaRole::primary ? engine::BucketSet::range(0, h.split)
                                              : engine::BucketSet::range(h.split, 256);
  e.max_answer_secs = h.mode == HaMode::load_balancing
                          ? static_cast<std::uint16_t>(std::min<std::uint32_t>(h.max_answer_secs, 0xffff))
                          : 0;
  e.unacked_secs = static_cast<std::uint16_t>(std::min<std::uint32_t>(h.max_ack_delay_ms / 1000, 0xfffe));
  if (h.ack == HaAck::local) {
    for (engine::SubnetConfig& s : c.engine.subnets) {
      s.lease_time = std::min(s.lease_time, h.mclt);
      s.max_lease_time = std::min(s.max_lease_time, h.mclt);
      s.min_lease_time = std::min(s.min_lease_time, s.max_lease_time);
    }
  }
}

LoadResult load(std::string_view text, const std::string& name) {
  detail::Loaded loaded = detail::read_toml(text, name);
  if (loaded.parsed) {
    std::vector<Diag> more = detail::cross_check(loaded.config, loaded.where, name);
    loaded.diags.insert(loaded.diags.end(), std::make_move_iterator(more.begin()),
                        std::make_move_iterator(more.end()));
  }
  if (!loaded.diags.empty()) return finish(std::move(loaded.diags), name);

  if (loaded.config.split_scope.enabled) {
    loaded.config.split_pools = compute_split_scope(loaded.config.engine, loaded.config.split_scope);
    for (const SplitPool& p : loaded.config.split_pools) {
      std::vector<engine::AddressRange>& ex = loaded.config.engine.subnets[p.subnet_index].exclusions;
      for (const engine::AddressRange& r : p.excluded()) {
        ex.push_back(r);
        loaded.config.engine.peer_ranges.push_back(r);
      }
    }
  }
  if (loaded.config.ha.enabled) apply_ha(loaded.config);
  engine::CompileResult compiled = engine::compile(loaded.config.engine);
  if (!compiled.ok())
    return finish({detail::compile_diag(compiled, loaded.where)}, name);
  LoadResult r;
  r.config = std::move(loaded.config);
  r.compiled = std::move(compiled.config);
  return r;
}

LoadResult internal_error(const std::string& name, const char* what) {
  LoadResult r;
  r.errors.push_back(ConfigError{name, 0, "", std::string("internal error while loading: ") + what});
  return r;
}

}  // namespace

LoadResult load_config_string(std::string_view toml, const std::string& name) {
  try {
    return load(toml, name);
  } catch (const std::exception& e) {
    return internal_error(name, e.what());
  } catch (...) {
    return internal_error(name, "unknown exception");
  }
}

LoadResult load_config_file(const std::string& path) {
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      LoadResult r;
      r.errors.push_back(ConfigError{path, 0, "", "cannot read: is a directory"});
      return r;
    }
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      LoadResult r;
      r.errors.push_back(ConfigError{path, 0, "", std::string("cannot open: ") +
                                                      (errno ? std::strerror(errno) : "unknown error")});
      return r;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
      LoadResult r;
      r.errors.push_back(ConfigError{path, 0, "", "cannot read the file"});
      return r;
    }
    return load_config_string(text.str(), path);
  } catch (const std::exception& e) {
    return internal_error(path, e.what());
  } catch (...) {
    return internal_error(path, "unknown exception");
  }
}

}  // namespace dorado::config
