// Prometheus text exposition format, version 0.0.4 (what /metrics serves):
// "# HELP name text", "# TYPE name counter|gauge", then one line per sample,
// `name{label="value",...} 123`. A small writer that gets the escaping and
// the name rules right so that callers cannot produce an unparseable page.
//
// Pure: no I/O, no locks; any thread, one writer per thread. Allocates (the
// text grows); not for the packet path.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace dorado::obs {

enum class MetricType : std::uint8_t { counter, gauge };

// A label as written: name="value" (the value is escaped by the writer).
using Label = std::pair<std::string_view, std::string_view>;

// True for [a-zA-Z_:][a-zA-Z0-9_:]* (metric names).
bool valid_metric_name(std::string_view name) noexcept;
// True for [a-zA-Z_][a-zA-Z0-9_]* not starting with "__" (label names).
bool valid_label_name(std::string_view name) noexcept;
// Label values: backslash, double quote and newline escaped (\\, \", \n).
std::string escape_label_value(std::string_view v);
// HELP text: backslash and newline escaped.
std::string escape_help(std::string_view v);

class Exposition {
 public:
  // Starts a family: HELP and TYPE lines. A name that is not a valid metric
  // name is replaced by "invalid_metric_name" (a bug, but the page parses).
  // Counters should end in _total (not enforced: the caller names them).
  void family(std::string_view name, MetricType type, std::string_view help);
  // One sample of the current family (name may carry a suffix, e.g. the
  // family name itself). Labels with invalid names are skipped.
  void sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);

  const std::string& text() const noexcept { return text_; }
  std::string take() noexcept { return std::move(text_); }

 private:
  void start_sample(std::string_view name, std::initializer_list<Label> labels);
  std::string text_;
};

}  // namespace dorado::obs
