// Internal to dorado_config: the toml11 side of the loader, shared by the
// readers of the sections (load.cpp: everything but [ha] and [ddns]; ha.cpp:
// [ha]; ddns.cpp: [ddns]). Only those files include it, so toml11 stays
// inside this directory (config.hpp and detail.hpp never see it).
//
// TableReader holds the typed lookups every section uses: a value that is
// absent comes back as nullopt quietly; a value of the wrong type or out of
// range is reported (FILE:LINE: key: message, via Loaded::diags) and comes
// back as nullopt. check_keys() refuses unknown keys, suggesting the nearest
// known one. Nothing here throws on well-typed input.
#pragma once

#include <toml.hpp>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/detail.hpp"
#include "config/values.hpp"

namespace dorado::config::detail {

using Value = toml::value;

inline std::string type_name(const Value& v) {
  switch (v.type()) {
    case toml::value_t::boolean: return "a boolean";
    case toml::value_t::integer: return "an integer";
    case toml::value_t::floating: return "a float";
    case toml::value_t::string: return "a string";
    case toml::value_t::offset_datetime:
    case toml::value_t::local_datetime:
    case toml::value_t::local_date:
    case toml::value_t::local_time: return "a date/time";
    case toml::value_t::array: return "an array";
    case toml::value_t::table: return "a table";
    default: return "nothing";
  }
}

// Line and column of a value. toml11's own value::location() counts the
// newlines from the start of the file on every call, which makes a config of
// thousands of subnets take minutes; this is a binary search in the line
// starts of the text (toml11 keeps the text's offsets; it only appends a
// final newline).
class LineIndex {
 public:
  explicit LineIndex(std::string_view text) {
    starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') starts_.push_back(i + 1);
  }

  Where where_of(const Value& v, std::string key) const {
    const auto* reg = dynamic_cast<const toml::detail::region*>(toml::detail::get_region(v));
    if (reg == nullptr || !reg->is_ok()) {   // not from the text: toml11's answer
      const toml::source_location l = v.location();
      return Where{static_cast<unsigned>(l.line()), static_cast<unsigned>(l.column()), std::move(key)};
    }
    const auto offset = static_cast<std::size_t>(reg->first() - reg->begin());
    const auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    const auto line = static_cast<unsigned>(it - starts_.begin());
    return Where{line, static_cast<unsigned>(offset - *(it - 1) + 1), std::move(key)};
  }

 private:
  std::vector<std::size_t> starts_;   // offset of the first byte of each line
};

inline std::string join(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

inline std::string indexed(std::string_view key, std::size_t i) {
  return std::string(key) + "[" + std::to_string(i) + "]";
}

inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      diag = up;
    }
  }
  return row[b.size()];
}

class TableReader {
 public:
  // `file` names the file in messages that point at a second place.
  TableReader(Loaded& out, const LineIndex& lines, const std::string& file)
      : out_(out), lines_(lines), file_(file) {}

  // ---- errors and lookup -------------------------------------------------------

  Where where_of(const Value& v, std::string key) const { return lines_.where_of(v, std::move(key)); }

  // "(FILE:LINE)": a second place in a message.
  std::string at(const Where& w) const { return '(' + place(file_, w.line) + ')'; }

  void error(const Where& w, std::string message) {
    out_.diags.push_back(Diag{w.line, w.column, w.key, std::move(message)});
  }

  static const Value* find(const Value& table, std::string_view key) {
    const auto& t = table.as_table();
    const auto it = t.find(std::string(key));
    return it == t.end() ? nullptr : &it->second;
  }

  void check_keys(const Value& table, const std::string& prefix,
                  std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : table.as_table()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string_view best;
      std::size_t best_d = 3;
      for (std::string_view k : known) {
        const std::size_t d = edit_distance(key, k);
        if (d < best_d) best_d = d, best = k;
      }
      std::string msg = "unknown key";
      if (!best.empty()) {
        msg += " (did you mean `" + std::string(best) + "`?)";
      } else {
        msg += "; expected one of:";
        for (std::string_view k : known) msg += ' ' + std::string(k);
      }
      error(where_of(value, join(prefix, key)), msg);
    }
  }

  void type_error(const Value& v, const std::string& key, std::string_view expected) {
    error(where_of(v, key), "expected " + std::string(expected) + ", got " + type_name(v));
  }

  // A [name] section: nullptr if absent or not a table (reported).
  const Value* section(const Value& root, std::string_view name) {
    const Value* v = find(root, name);
    if (!v) return nullptr;
    if (!v->is_table()) {
      type_error(*v, std::string(name), "a table [" + std::string(name) + "]");
      return nullptr;
    }
    return v;
  }

  // A [[name]] array: nullptr if absent or not an array; non-table elements reported.
  const toml::array* table_array(const Value& parent, const std::string& prefix,
                                 std::string_view name) {
    const Value* v = find(parent, name);
    if (!v) return nullptr;
    const std::string key = join(prefix, name);
    if (!v->is_array()) {
      type_error(*v, key, "an array of tables [[" + key + "]]");
      return nullptr;
    }
    const toml::array& a = v->as_array();
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!a[i].is_table()) type_error(a[i], indexed(key, i), "a table [[" + key + "]]");
    return &a;
  }

  void missing(const Value& table, const std::string& prefix, std::string_view key) {
    error(where_of(table, join(prefix, key)), "missing required key");
  }

  // ---- typed values: absent -> nullopt quietly; wrong -> reported, nullopt ----

  std::optional<std::int64_t> integer(const Value& table, const std::string& prefix,
                                      std::string_view key, std::int64_t min, std::int64_t max) {
    const Value* v = find(table, key);
    if (!v) return std::nullopt;
    return integer_value(*v, join(prefix, key), min, max);
  }

  std::optional<std::int64_t> integer_value(const Value& v, const std::string& key,
                                            std::int64_t min, std::int64_t max) {
    if (!v.is_integer()) {
      type_error(v, key, "an integer");
      return std::nullopt;
    }
    const std::int64_t x = v.as_integer();
    if (x < min || x > max) {
      error(where_of(v, key), "must be " + std::to_string(min) + ".." + std::to_string(max) +
                                  " (got " + std::to_string(x) + ")");
      return std::nullopt;
    }
    return x;
  }

  std::optional<double> number(const Value& table, const std::string& prefix, std::string_view key) {
    const Value* v = find(table, key);
    if (!v) return std::nullopt;
    if (v->is_floating()) return v->as_floating();
    if (v->is_integer()) return static_cast<double>(v->as_integer());
    type_error(*v, join(prefix, key), "a number");
    return std::nullopt;
  }

  std::optional<bool> boolean(const Value& table, const std::string& prefix, std::string_view key) {
    const Value* v = find(table, key);
    if (!v) return std::nullopt;
    if (v->is_boolean()) return v->as_boolean();
    type_error(*v, join(prefix, key), "a boolean (true or false)");
    return std::nullopt;
  }

  std::optional<std::string> string(const Value& table, const std::string& prefix,
                                    std::string_view key) {
    const Value* v = find(table, key);
    if (!v) return std::nullopt;
    if (v->is_string()) return v->as_string().str;
    type_error(*v, join(prefix, key), "a string");
    return std::nullopt;
  }

  // A string or an array of strings: f(text, where) per string; the key of an
  // element is "key[i]". Returns the number of entries seen (0 if absent).
  template <typename F>
  std::size_t each_string(const Value& table, const std::string& prefix, std::string_view key,
                          F&& f) {
    const Value* v = find(table, key);
    if (!v) return 0;
    const std::string k = join(prefix, key);
    if (v->is_string()) {
      f(v->as_string().str, where_of(*v, k));
      return 1;
    }
    if (!v->is_array()) {
      type_error(*v, k, "a string or an array of strings");
      return 0;
    }
    const toml::array& a = v->as_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].is_string())
        f(a[i].as_string().str, where_of(a[i], indexed(k, i)));
      else
        type_error(a[i], indexed(k, i), "a string");
    }
    return a.size();
  }

  std::optional<Ipv4> ipv4(const Value& table, const std::string& prefix, std::string_view key) {
    const Value* v = find(table, key);
    if (!v) return std::nullopt;
    const std::string k = join(prefix, key);
    if (!v->is_string()) {
      type_error(*v, k, "a string \"a.b.c.d\"");
      return std::nullopt;
    }
    const auto ip = wire::parse_ipv4(v->as_string().str);
    if (!ip) error(where_of(*v, k), "\"" + v->as_string().str + "\" is not an IPv4 address a.b.c.d");
    return ip;
  }

  // Lists of addresses: the valid ones with their places.
  std::vector<std::pair<Ipv4, Where>> ipv4_list(const Value& table, const std::string& prefix,
                                                std::string_view key) {
    std::vector<std::pair<Ipv4, Where>> out;
    each_string(table, prefix, key, [&](const std::string& s, Where w) {
      if (const auto ip = wire::parse_ipv4(s))
        out.emplace_back(*ip, std::move(w));
      else
        error(w, "\"" + s + "\" is not an IPv4 address a.b.c.d");
    });
    return out;
  }

  std::vector<std::pair<engine::AddressRange, Where>> range_list(const Value& table,
                                                                 const std::string& prefix,
                                                                 std::string_view key) {
    std::vector<std::pair<engine::AddressRange, Where>> out;
    each_string(table, prefix, key, [&](const std::string& s, Where w) {
      Parsed<engine::AddressRange> r = parse_range(s);
      if (r.value)
        out.emplace_back(*r.value, std::move(w));
      else
        error(w, r.error);
    });
    return out;
  }

 protected:
  Loaded& out_;
  const LineIndex& lines_;
  const std::string& file_;
};

// ha.cpp: [ha] (`t`) -> out.config.ha. `root` is the whole file (for
// [split_scope]).
void read_ha(Loaded& out, const LineIndex& lines, const std::string& file, const Value& root,
             const Value& t);

// ddns.cpp: the `ddns` table (`t`: [ddns] and its [[ddns.*]] arrays) ->
// out.config.ddns and out.config.engine.ddns.
void read_ddns(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t);

// madcap.cpp: [madcap] and [[multicast_scope]] (`root`: the whole file) ->
// out.config.madcap and out.config.multicast_scopes.
void read_madcap(Loaded& out, const LineIndex& lines, const std::string& file, const Value& root);

// conflict.cpp: [conflict] (`t`) -> out.config.engine.probe; a subnet's
// `conflict` table (`t`, key prefix `prefix`) -> `s`.
void read_conflict(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t);
void read_subnet_conflict(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t,
                          const std::string& prefix, engine::SubnetProbe& s);
// load.cpp: one option table ([[option]], [[subnet.option]], [[class.option]],
// [[subnet.pool.option]]) -> its OptionData; nullopt after reporting.
std::optional<engine::OptionData> read_option_table(Loaded& out, const LineIndex& lines, const std::string& file,
                                                    const Value& t, const std::string& prefix);
// classes.cpp: [[class]] (`root`: the whole file) -> out.config.engine.classes;
// a subnet's [[subnet.pool]] tables (`t`: the subnet, key prefix `prefix`)
// -> s.pool_tables, class names checked against the classes read before.
void read_classes(Loaded& out, const LineIndex& lines, const std::string& file, const Value& root);
void read_pool_tables(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t,
                      const std::string& prefix, engine::SubnetConfig& s);
// leasequery.cpp: [leasequery] (`t`) -> out.config.engine.leasequery_allowed.
void read_leasequery(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t);
// limits.cpp: [limits] (`t`) -> out.config.engine.limits; a subnet's limit
// keys (`t`: the subnet, key prefix `prefix`) -> `limits`.
void read_limits(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t);
void read_subnet_limits(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t,
                        const std::string& prefix, engine::LimitConfig& limits);

}  // namespace dorado::config::detail
