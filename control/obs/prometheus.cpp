#include "obs/prometheus.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace dorado::obs {
namespace {

bool alpha_(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty() || !(alpha_(name[0]) || name[0] == ':')) return false;
  for (char c : name)
    if (!(alpha_(c) || digit(c) || c == ':')) return false;
  return true;
}

bool valid_label_name(std::string_view name) noexcept {
  if (name.empty() || !alpha_(name[0]) || name.starts_with("__")) return false;
  for (char c : name)
    if (!(alpha_(c) || digit(c))) return false;
  return true;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void Exposition::family(std::string_view name, MetricType type, std::string_view help) {
  if (!valid_metric_name(name)) name = "invalid_metric_name";
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += escape_help(help);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += type == MetricType::counter ? " counter\n" : " gauge\n";
}

void Exposition::start_sample(std::string_view name, std::initializer_list<Label> labels) {
  if (!valid_metric_name(name)) name = "invalid_metric_name";
  text_ += name;
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!valid_label_name(k)) continue;
    text_ += first ? '{' : ',';
    first = false;
    text_ += k;
    text_ += "=\"";
    text_ += escape_label_value(v);
    text_ += '"';
  }
  if (!first) text_ += '}';
  text_ += ' ';
}

void Exposition::sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value) {
  start_sample(name, labels);
  char buf[24];
  std::snprintf(buf, sizeof buf, "%" PRIu64 "\n", value);
  text_ += buf;
}

void Exposition::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  start_sample(name, labels);
  if (std::isnan(value)) {
    text_ += "NaN\n";
  } else if (std::isinf(value)) {
    text_ += value > 0 ? "+Inf\n" : "-Inf\n";
  } else {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9g\n", value);
    text_ += buf;
  }
}

}  // namespace dorado::obs
