// [[class]] and [[subnet.pool]] -> engine::ClassConfig and engine::PoolConfig
// (engine/classes.hpp): client classes and pools with their own rules.
// Every error names FILE:LINE and key, as everywhere in the loader. Keys:
// docs/configuration.md, "Client classes".
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "config/toml_reader.hpp"
#include "engine/classes.hpp"
#include "engine/config.hpp"

namespace dorado::config::detail {
namespace {

constexpr std::int64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

// Match keys whose value is text or "0x" hex bytes, with what they read.
struct BytesKey {
  const char* key;
  engine::ClassField field;
  std::uint8_t code;
  engine::ClassOp op;
};
constexpr BytesKey kBytesKeys[] = {
    {"vendor_class", engine::ClassField::option, 60, engine::ClassOp::exact},
    {"vendor_class_prefix", engine::ClassField::option, 60, engine::ClassOp::prefix},
    {"user_class", engine::ClassField::option, 77, engine::ClassOp::user_class},
    {"circuit_id", engine::ClassField::relay_sub, 1, engine::ClassOp::exact},
    {"circuit_id_prefix", engine::ClassField::relay_sub, 1, engine::ClassOp::prefix},
    {"remote_id", engine::ClassField::relay_sub, 2, engine::ClassOp::exact},
    {"remote_id_prefix", engine::ClassField::relay_sub, 2, engine::ClassOp::prefix},
    {"subscriber_id", engine::ClassField::relay_sub, 6, engine::ClassOp::exact},
    {"subscriber_id_prefix", engine::ClassField::relay_sub, 6, engine::ClassOp::prefix},
};

class ClassReader : public TableReader {
 public:
  using TableReader::TableReader;

  // Text, or "0x" and an even number of hex digits (at least one byte).
  std::optional<std::vector<std::uint8_t>> text_or_hex(const Value& t, const std::string& p, const char* key) {
    const auto s = string(t, p, key);
    if (!s) return std::nullopt;
    const Where w = where_of(*find(t, key), join(p, key));
    if (s->size() >= 2 && (*s)[0] == '0' && ((*s)[1] == 'x' || (*s)[1] == 'X')) {
      const std::string digits = s->substr(2);
      auto bytes = digits.size() % 2 == 0 && !digits.empty() &&
                           digits.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos
                       ? parse_hex(digits)
                       : std::nullopt;
      if (!bytes || bytes->empty()) {
        error(w, "\"" + *s + "\" is not hex bytes: \"0x\" and an even number of hex digits, like \"0x0a0b\"");
        return std::nullopt;
      }
      if (bytes->size() > 255) {
        error(w, "longer than 255 bytes");
        return std::nullopt;
      }
      return bytes;
    }
    if (s->empty() || s->size() > 255) {
      error(w, "must be 1..255 bytes of text, or \"0x\" hex bytes");
      return std::nullopt;
    }
    return std::vector<std::uint8_t>(s->begin(), s->end());
  }

  std::optional<engine::ClassConfig> read_class_body(const Value& t, const std::string& p,
                                                     const std::vector<engine::ClassConfig>& before);
  void read_pools(const Value& subnet, const std::string& p, engine::SubnetConfig& s);

 private:
  std::optional<engine::ClassMatch> match_option(const Value& t, const std::string& p);
};

std::optional<engine::ClassConfig> ClassReader::read_class_body(const Value& t, const std::string& p,
                                                                const std::vector<engine::ClassConfig>& before) {
  using engine::ClassField;
  using engine::ClassMatch;
  using engine::ClassOp;
  engine::ClassConfig c;
  bool ok = true;
  if (!find(t, "name")) {
    missing(t, p, "name");
    ok = false;
  } else if (auto n = string(t, p, "name")) {
    const Where w = where_of(*find(t, "name"), join(p, "name"));
    if (n->empty()) {
      error(w, "must not be empty");
      ok = false;
    } else if (std::any_of(before.begin(), before.end(), [&](const engine::ClassConfig& x) { return x.name == *n; })) {
      error(w, "class \"" + *n + "\" is defined twice");
      ok = false;
    }
    c.name = *n;
  } else {
    ok = false;
  }
  for (const BytesKey& b : kBytesKeys) {
    if (!find(t, b.key)) continue;
    auto bytes = text_or_hex(t, p, b.key);
    if (!bytes) {
      ok = false;
      continue;
    }
    ClassMatch m;
    m.field = b.field;
    m.code = b.code;
    m.op = b.op;
    m.value = std::move(*bytes);
    c.matches.push_back(std::move(m));
  }
  if (auto s = string(t, p, "mac")) {
    if (const auto mac = wire::parse_mac(*s)) {
      ClassMatch m;
      m.field = ClassField::mac;
      m.op = ClassOp::exact;
      m.value.assign(mac->b.begin(), mac->b.end());
      c.matches.push_back(std::move(m));
    } else {
      error(where_of(*find(t, "mac"), join(p, "mac")), "\"" + *s + "\" is not a MAC address like \"02:00:00:00:00:01\"");
      ok = false;
    }
  }
  if (auto s = string(t, p, "mac_prefix")) {
    auto bytes = parse_hex(*s);
    if (!bytes || bytes->empty() || bytes->size() > 16) {
      error(where_of(*find(t, "mac_prefix"), join(p, "mac_prefix")),
            "\"" + *s + "\" is not 1..16 hex bytes like \"00:1b:63\" (an OUI)");
      ok = false;
    } else {
      ClassMatch m;
      m.field = ClassField::mac;
      m.op = ClassOp::prefix;
      m.value = std::move(*bytes);
      c.matches.push_back(std::move(m));
    }
  }
  for (const char* key : {"vlan", "inner_vlan"}) {
    if (!find(t, key)) continue;
    if (auto x = integer(t, p, key, 0, 4095)) {
      ClassMatch m;
      m.field = std::string_view(key) == "vlan" ? ClassField::vlan_outer : ClassField::vlan_inner;
      m.op = ClassOp::equals;
      m.number = static_cast<std::uint32_t>(*x);
      c.matches.push_back(std::move(m));
    } else {
      ok = false;
    }
  }
  if (auto s = string(t, p, "giaddr")) {
    const Where w = where_of(*find(t, "giaddr"), join(p, "giaddr"));
    ClassMatch m;
    m.field = ClassField::giaddr;
    m.op = ClassOp::in_prefix;
    if (s->find('/') == std::string::npos) {
      if (const auto ip = wire::parse_ipv4(*s)) {
        m.number = *ip;
        m.prefix_len = 32;
      } else {
        error(w, "\"" + *s + "\" is not an IPv4 address a.b.c.d or a prefix a.b.c.d/len");
        ok = false;
      }
    } else if (Parsed<Prefix> pr = parse_prefix(*s); pr.value) {
      m.number = pr.value->network;
      m.prefix_len = pr.value->length;
    } else {
      error(w, pr.error);
      ok = false;
    }
    if (ok) c.matches.push_back(std::move(m));
  }
  if (const Value* v = find(t, "requests")) {   // option 55 lists every one of these codes
    const std::string k = join(p, "requests");
    auto one = [&](const Value& e, const std::string& key) {
      if (auto code = integer_value(e, key, 1, 254)) {
        ClassMatch m;
        m.field = ClassField::option;
        m.code = wire::opt::parameter_request_list;
        m.op = ClassOp::contains;
        m.number = static_cast<std::uint32_t>(*code);
        c.matches.push_back(std::move(m));
      } else {
        ok = false;
      }
    };
    if (v->is_array()) {
      if (v->as_array().empty()) {
        error(where_of(*v, k), "must not be empty");
        ok = false;
      }
      for (std::size_t i = 0; i < v->as_array().size(); ++i) one(v->as_array()[i], indexed(k, i));
    } else {
      one(*v, k);
    }
  }
  if (const toml::array* ms = table_array(t, p, "match_option")) {
    for (std::size_t i = 0; i < ms->size(); ++i) {
      if (!(*ms)[i].is_table()) continue;
      if (auto m = match_option((*ms)[i], join(p, indexed("match_option", i))))
        c.matches.push_back(std::move(*m));
      else
        ok = false;
    }
  }
  if (const toml::array* os = table_array(t, p, "option")) {
    for (std::size_t i = 0; i < os->size(); ++i) {
      if (!(*os)[i].is_table()) continue;
      const std::string k = join(p, indexed("option", i));
      auto o = read_option_table(out_, lines_, file_, (*os)[i], k);
      if (!o) {
        ok = false;
        continue;
      }
      if (std::any_of(c.options.begin(), c.options.end(), [&](const engine::OptionData& x) { return x.code == o->code; })) {
        error(where_of((*os)[i], k), "option " + std::to_string(o->code) + " given twice in this class");
        ok = false;
        continue;
      }
      c.options.push_back(std::move(*o));
    }
  }
  if (auto x = integer(t, p, "lease_time", 1, kU32Max)) c.lease_time = static_cast<std::uint32_t>(*x);
  if (auto b = boolean(t, p, "drop")) c.drop = *b;
  // A class with an error is still named (the file is refused anyway), so
  // that pools naming it are not also reported as naming an unknown class.
  if (!ok) c.matches.clear();
  return c;
}

// [[class.match_option]]: code, and string or hex (exact value; prefix =
// true: starts with); neither: the option is present.
std::optional<engine::ClassMatch> ClassReader::match_option(const Value& t, const std::string& p) {
  check_keys(t, p, {"code", "string", "hex", "prefix"});
  engine::ClassMatch m;
  m.field = engine::ClassField::option;
  m.op = engine::ClassOp::present;
  bool ok = true;
  if (!find(t, "code")) {
    missing(t, p, "code");
    ok = false;
  } else if (auto code = integer(t, p, "code", 1, 254)) {
    m.code = static_cast<std::uint8_t>(*code);
  } else {
    ok = false;
  }
  const bool has_string = find(t, "string") != nullptr, has_hex = find(t, "hex") != nullptr;
  if (has_string && has_hex) {
    error(where_of(t, p), "has both string and hex; give one (or neither: the option is present)");
    return std::nullopt;
  }
  if (has_string) {
    if (auto s = string(t, p, "string")) {
      if (s->empty() || s->size() > 255) {
        error(where_of(*find(t, "string"), join(p, "string")), "must be 1..255 bytes");
        ok = false;
      }
      m.value.assign(s->begin(), s->end());
    } else {
      ok = false;
    }
  }
  if (has_hex) {
    if (auto s = string(t, p, "hex")) {
      auto bytes = parse_hex(*s);
      if (!bytes || bytes->empty() || bytes->size() > 255) {
        error(where_of(*find(t, "hex"), join(p, "hex")), "\"" + *s + "\" is not 1..255 hex bytes like \"01:02:ff\"");
        ok = false;
      } else {
        m.value = std::move(*bytes);
      }
    } else {
      ok = false;
    }
  }
  const auto prefix = boolean(t, p, "prefix");
  if (!m.value.empty()) m.op = prefix.value_or(false) ? engine::ClassOp::prefix : engine::ClassOp::exact;
  else if (prefix && find(t, "prefix"))
    error(where_of(*find(t, "prefix"), join(p, "prefix")), "needs string or hex: a prefix of what");
  if (!ok) return std::nullopt;
  return m;
}

void ClassReader::read_pools(const Value& subnet, const std::string& sp, engine::SubnetConfig& s) {
  if (const Value* v = find(subnet, "pool"); v != nullptr && (v->is_string() || (v->is_array() && !v->as_array().empty() &&
                                                                                 v->as_array()[0].is_string()))) {
    error(where_of(*v, join(sp, "pool")),
          "holds [[subnet.pool]] tables; a list of ranges goes in `pools` (did you mean `pools`?)");
    return;
  }
  const toml::array* pools = table_array(subnet, sp, "pool");
  if (pools == nullptr) return;
  const std::vector<engine::ClassConfig>& classes = out_.config.engine.classes;
  for (std::size_t i = 0; i < pools->size(); ++i) {
    const Value& t = (*pools)[i];
    if (!t.is_table()) continue;
    const std::string p = join(sp, indexed("pool", i));
    check_keys(t, p, {"range", "classes", "deny", "lease_time", "option"});
    engine::PoolConfig pc;
    bool ok = true;
    if (!find(t, "range")) {
      missing(t, p, "range");
      ok = false;
    }
    for (auto& [range, rw] : range_list(t, p, "range")) {
      // A plain reference: clang (C++20 before P1091 support) refuses a
      // structured binding captured by the lambda below.
      const engine::AddressRange& r = range;
      // Pool tables overlap nothing: an address has one set of rules.
      auto overlaps = [&](const engine::AddressRange& o) { return r.first <= o.last && o.first <= r.last; };
      const std::string text = wire::format_ipv4(r.first) + "-" + wire::format_ipv4(r.last);
      if (std::any_of(s.pools.begin(), s.pools.end(), overlaps)) {
        error(rw, "range " + text + " overlaps the subnet's `pools`");
        ok = false;
      } else if (std::any_of(s.pool_tables.begin(), s.pool_tables.end(), [&](const engine::PoolConfig& q) {
                   return std::any_of(q.ranges.begin(), q.ranges.end(), overlaps);
                 }) || std::any_of(pc.ranges.begin(), pc.ranges.end(), overlaps)) {
        error(rw, "range " + text + " overlaps another [[subnet.pool]] range");
        ok = false;
      }
      pc.ranges.push_back(r);
    }
    auto names = [&](const char* key, std::vector<std::string>& into) {
      const Value* v = find(t, key);
      if (v == nullptr) return;
      if (v->is_array() && v->as_array().empty()) {
        error(where_of(*v, join(p, key)),
              std::string(key) == "classes" ? "is empty: the pool would be restricted to nothing "
                                              "(leave `classes` out for a pool open to every client)"
                                            : "must not be empty");
        ok = false;
        return;
      }
      each_string(t, p, key, [&](const std::string& n, Where w) {
        if (std::none_of(classes.begin(), classes.end(), [&](const engine::ClassConfig& c) { return c.name == n; })) {
          error(w, "class \"" + n + "\" is not defined (no [[class]] with name = \"" + n + "\")");
          ok = false;
        } else {
          into.push_back(n);
        }
      });
    };
    names("classes", pc.classes);
    names("deny", pc.deny);
    if (ok && !pc.classes.empty() &&
        std::all_of(pc.classes.begin(), pc.classes.end(), [&](const std::string& n) {
          return std::find(pc.deny.begin(), pc.deny.end(), n) != pc.deny.end();
        })) {
      error(where_of(*find(t, "deny"), join(p, "deny")),
            "denies every class in `classes`: the pool would be restricted to nothing");
      ok = false;
    }
    if (auto x = integer(t, p, "lease_time", 1, kU32Max)) pc.lease_time = static_cast<std::uint32_t>(*x);
    if (const toml::array* os = table_array(t, p, "option")) {
      for (std::size_t k = 0; k < os->size(); ++k) {
        if (!(*os)[k].is_table()) continue;
        const std::string ok_key = join(p, indexed("option", k));
        auto o = read_option_table(out_, lines_, file_, (*os)[k], ok_key);
        if (!o) {
          ok = false;
          continue;
        }
        if (std::any_of(pc.options.begin(), pc.options.end(),
                        [&](const engine::OptionData& x) { return x.code == o->code; })) {
          error(where_of((*os)[k], ok_key), "option " + std::to_string(o->code) + " given twice in this pool");
          ok = false;
          continue;
        }
        pc.options.push_back(std::move(*o));
      }
    }
    if (ok) s.pool_tables.push_back(std::move(pc));
  }
}

}  // namespace

void read_classes(Loaded& out, const LineIndex& lines, const std::string& file, const Value& root) {
  ClassReader r(out, lines, file);
  const toml::array* classes = r.table_array(root, "", "class");
  if (classes == nullptr) return;
  std::vector<engine::ClassConfig>& into = out.config.engine.classes;
  for (std::size_t i = 0; i < classes->size(); ++i) {
    const Value& t = (*classes)[i];
    if (!t.is_table()) continue;
    const std::string p = indexed("class", i);
    if (i == engine::kMaxClasses) r.error(r.where_of(t, p), "more than " + std::to_string(engine::kMaxClasses) + " classes");
    r.check_keys(t, p, {"name", "vendor_class", "vendor_class_prefix", "user_class", "circuit_id",
                        "circuit_id_prefix", "remote_id", "remote_id_prefix", "subscriber_id",
                        "subscriber_id_prefix", "mac", "mac_prefix", "vlan", "inner_vlan", "giaddr", "requests",
                        "match_option", "option", "lease_time", "drop"});
    if (auto c = r.read_class_body(t, p, into); c && i < engine::kMaxClasses) into.push_back(std::move(*c));
  }
}

void read_pool_tables(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t,
                      const std::string& prefix, engine::SubnetConfig& s) {
  ClassReader(out, lines, file).read_pools(t, prefix, s);
}

}  // namespace dorado::config::detail
