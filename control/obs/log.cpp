#include "obs/log.hpp"

#include <ctime>

namespace dorado::obs {

std::string_view level_name(Level l) noexcept {
  switch (l) {
    case Level::error: return "error";
    case Level::warning: return "warning";
    case Level::info: return "info";
    case Level::debug: return "debug";
  }
  return "?";
}

std::string utc_timestamp(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return when;
}

std::string Logger::format(Level level, std::string_view text, std::int64_t now) {
  std::string line = "dorado: " + utc_timestamp(now) + " ";
  if (level != Level::info) {
    line += level_name(level);
    line += ": ";
  }
  line += text;
  line += '\n';
  return line;
}

void Logger::write(Level level, std::string_view text) {
  if (level > max_) return;
  const std::string line = format(level, text, static_cast<std::int64_t>(std::time(nullptr)));
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

std::optional<std::uint64_t> RateLimiter::allow(std::string_view key, std::uint64_t now_us) {
  auto it = state_.find(key);
  if (it == state_.end()) {
    state_.emplace(std::string(key), State{now_us, 0});
    return 0;
  }
  State& s = it->second;
  if (now_us - s.last_us < interval_us_) {
    ++s.suppressed;
    return std::nullopt;
  }
  const std::uint64_t n = s.suppressed;
  s = State{now_us, 0};
  return n;
}

bool warn_limited(Logger& log, RateLimiter& limiter, std::string_view key, std::string_view text,
                  std::uint64_t now_us) {
  const auto ok = limiter.allow(key, now_us);
  if (!ok) return false;
  if (*ok == 0) {
    log.warning(text);
  } else {
    log.warning(std::string(text) + " (" + std::to_string(*ok) + " more since the last report)");
  }
  return true;
}

}  // namespace dorado::obs
