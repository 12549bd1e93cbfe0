// The daemon's log: one line per event on stderr,
//   "dorado: 2026-11-22T10:00:00Z store: recovered ..."            (info)
//   "dorado: 2026-11-22T10:00:00Z warning: pool nearly full: ..."  (warning)
//   "dorado: 2026-11-22T10:00:00Z error: metrics: cannot listen ..." (error)
// (info keeps the daemon's earlier format, which scripts grep), and a rate
// limiter per key for warnings that may repeat: at most one line per key
// per interval; the next one that gets through says how many were
// suppressed in between.
//
// Threads: Logger::write() takes a mutex (the control thread and the
// metrics thread both log); never called by workers, never per packet.
// RateLimiter is plain data owned by one thread (the control thread).
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace dorado::obs {

enum class Level : std::uint8_t { error, warning, info, debug };
std::string_view level_name(Level l) noexcept;

// "2026-11-22T10:00:00Z" for a Unix time.
std::string utc_timestamp(std::int64_t unix_seconds);

class Logger {
 public:
  explicit Logger(std::FILE* out = stderr, Level max = Level::info) : out_(out), max_(max) {}
  // Writes one line if `level` is at most the logger's level; flushes.
  void write(Level level, std::string_view text);
  void error(std::string_view text) { write(Level::error, text); }
  void warning(std::string_view text) { write(Level::warning, text); }
  void info(std::string_view text) { write(Level::info, text); }
  void set_level(Level max) noexcept { max_ = max; }
  // The line write() would produce at Unix time `now` (for tests).
  static std::string format(Level level, std::string_view text, std::int64_t now);

 private:
  std::mutex mu_;
  std::FILE* out_;
  Level max_;
};

class RateLimiter {
 public:
  explicit RateLimiter(std::uint64_t interval_us = 10'000'000) : interval_us_(interval_us) {}
  // Whether a message with `key` may be written at `now_us` (a monotonic
  // clock): nullopt if not (it is counted as suppressed); else the number
  // suppressed since the last one written for that key.
  std::optional<std::uint64_t> allow(std::string_view key, std::uint64_t now_us);
  std::size_t keys() const noexcept { return state_.size(); }

 private:
  struct State {
    std::uint64_t last_us = 0;
    std::uint64_t suppressed = 0;
  };
  std::uint64_t interval_us_;
  std::map<std::string, State, std::less<>> state_;
};

// Writes `text` as a warning through `limiter` (key `key`): suppressed
// repeats are counted and announced with the next line, "... (3 more in the
// last 10 s)". Returns whether a line was written.
bool warn_limited(Logger& log, RateLimiter& limiter, std::string_view key, std::string_view text,
                  std::uint64_t now_us);

}  // namespace dorado::obs
