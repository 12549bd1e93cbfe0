// [madcap] and [[multicast_scope]] -> MadcapSection and MulticastScope
// (docs/madcap.md, docs/configuration.md "[madcap]"), with every check the
// two need on their own: unknown keys, types, ranges inside 224.0.0.0/4,
// overlapping scopes, duplicate names, lease times that do not nest
// (min <= default <= max), and the two sections without each other. Every
// error names FILE:LINE and key, as everywhere in the loader.
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "config/toml_reader.hpp"

namespace dorado::config::detail {
namespace {

constexpr std::int64_t kU32Max = 0xffffffffLL;
constexpr std::size_t kMaxName = 63;
constexpr std::size_t kMaxZone = 255;   // a name of the scope list (1-byte length)

bool multicast(Ipv4 ip) { return (ip >> 28) == 0xe; }

class MadcapReader : TableReader {
 public:
  MadcapReader(Loaded& out, const LineIndex& lines, const std::string& file) : TableReader(out, lines, file) {}

  void run(const Value& root) {
    const Value* section_value = find(root, "madcap");
    const Value* t = section(root, "madcap");
    if (t) read_section(*t);
    const toml::array* scopes = table_array(root, "", "multicast_scope");
    std::vector<Where> scope_where;
    if (scopes) {
      for (std::size_t i = 0; i < scopes->size(); ++i) {
        if (!(*scopes)[i].is_table()) continue;
        read_scope((*scopes)[i], indexed("multicast_scope", i), scope_where);
      }
    }
    const bool any_scope = scopes && !scopes->empty();
    if (section_value && !any_scope)
      error(where_of(*section_value, "madcap"),
            "needs at least one [[multicast_scope]]: without one the MADCAP server has nothing to hand out");
    if (any_scope && !section_value)
      error(where_of(root.at("multicast_scope"), "multicast_scope"),
            "needs [madcap]: without it no MADCAP server runs (add [madcap] or remove the scopes)");
    cross_check(scope_where);
  }

 private:
  void read_section(const Value& t) {
    MadcapSection& m = out_.config.madcap;
    check_keys(t, "madcap", {"listen"});
    m.enabled = true;
    if (const auto s = string(t, "madcap", "listen")) {
      const Where w = where_of(t.at("listen"), "madcap.listen");
      const auto ep = parse_endpoint(*s);
      if (!ep) {
        error(w, "must be \"ADDRESS:PORT\" with an IPv4 address and a port 1..65535 (got \"" + *s + "\")");
      } else if (ep->ip != 0 && (multicast(ep->ip) || ep->ip == 0xffffffffu)) {
        error(w, "must be a unicast address, or 0.0.0.0 for every interface (got \"" + *s + "\")");
      } else {
        m.listen = *s;
        m.listen_address = ep->ip;
        m.listen_port = ep->port;
      }
    }
  }

  void read_scope(const Value& t, const std::string& p, std::vector<Where>& places) {
    check_keys(t, p, {"name", "range", "zone", "ttl", "min_lease_time", "max_lease_time", "default_lease_time"});
    MulticastScope s;
    s.line = where_of(t, p).line;
    bool ok = true;
    if (!find(t, "name")) {
      missing(t, p, "name");
      ok = false;
    } else if (const auto n = string(t, p, "name")) {
      if (n->empty() || n->size() > kMaxName) {
        error(where_of(t.at("name"), join(p, "name")), "must be 1.." + std::to_string(kMaxName) + " characters");
        ok = false;
      } else {
        s.name = *n;
      }
    } else {
      ok = false;
    }
    if (!find(t, "range")) {
      missing(t, p, "range");
      ok = false;
    } else if (const auto r = string(t, p, "range")) {
      const Where w = where_of(t.at("range"), join(p, "range"));
      Parsed<engine::AddressRange> pr = parse_range(*r);
      if (!pr.value) {
        error(w, pr.error);
        ok = false;
      } else if (!multicast(pr.value->first) || !multicast(pr.value->last)) {
        error(w, "\"" + *r + "\" is not inside 224.0.0.0/4 (224.0.0.0-239.255.255.255): MADCAP hands out multicast addresses");
        ok = false;
      } else {
        s.first = pr.value->first;
        s.last = pr.value->last;
      }
    } else {
      ok = false;
    }
    if (const auto z = string(t, p, "zone")) {
      if (z->size() > kMaxZone) {
        error(where_of(t.at("zone"), join(p, "zone")), "must be at most " + std::to_string(kMaxZone) + " bytes");
        ok = false;
      } else {
        s.zone = *z;
      }
    } else if (find(t, "zone")) {
      ok = false;
    }
    auto number = [&](std::string_view key, std::int64_t min, std::int64_t max, auto& field) {
      if (!find(t, key)) return;
      if (const auto v = integer(t, p, key, min, max))
        field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
      else
        ok = false;
    };
    number("ttl", 1, 255, s.ttl);
    number("min_lease_time", 1, kU32Max, s.min_lease_time);
    number("max_lease_time", 1, kU32Max, s.max_lease_time);
    number("default_lease_time", 1, kU32Max, s.default_lease_time);
    if (ok && !(s.min_lease_time <= s.default_lease_time && s.default_lease_time <= s.max_lease_time)) {
      const Value& at = find(t, "default_lease_time") ? t.at("default_lease_time") : t;
      error(where_of(at, join(p, "default_lease_time")),
            "lease times must nest: min_lease_time (" + std::to_string(s.min_lease_time) + ") <= default_lease_time (" +
                std::to_string(s.default_lease_time) + ") <= max_lease_time (" + std::to_string(s.max_lease_time) + ")");
      ok = false;
    }
    if (!ok) return;
    places.push_back(find(t, "range") ? where_of(t.at("range"), join(p, "range")) : where_of(t, p));
    out_.config.multicast_scopes.push_back(std::move(s));
  }

  // Overlaps and duplicate names, each error at the later scope naming the earlier.
  void cross_check(const std::vector<Where>& places) {
    const std::vector<MulticastScope>& v = out_.config.multicast_scopes;
    for (std::size_t i = 0; i < v.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (v[i].first <= v[j].last && v[j].first <= v[i].last)
          error(places[i], "overlaps multicast_scope \"" + v[j].name + "\" " + at(places[j]));
        if (v[i].name == v[j].name) {
          Where w = places[i];
          w.key = "multicast_scope.name";
          error(w, "duplicate name \"" + v[i].name + "\" (also " + at(places[j]) + ")");
        }
      }
    }
  }
};

}  // namespace

void read_madcap(Loaded& out, const LineIndex& lines, const std::string& file, const Value& root) {
  MadcapReader(out, lines, file).run(root);
}

}  // namespace dorado::config::detail
