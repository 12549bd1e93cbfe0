// What became of each value of the Kea JSON: used (converted, or equal to
// what dorado does anyway), skipped (not converted, with the reason) or
// noted. collect() walks the whole document in file order and turns every
// value that nothing claimed into a "not converted" finding of its own, so
// that nothing is ever dropped silently.
//
// Internal to dorado_migrate_lib.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "migrate/kea_json.hpp"
#include "migrate/migrate.hpp"

namespace dorado::migrate {

std::string at_index(const std::string& path, std::size_t i);       // path[i]
std::string at_key(const std::string& path, const std::string& key);   // path.key

class Tracker {
 public:
  // The value at `path` is converted (its children still need claiming).
  void use(const std::string& path) { used_.insert(path); }
  // The value at `path` and everything under it are converted.
  void use_all(const std::string& path) { whole_.insert(path); }
  // Not converted: the value at `path` and everything under it.
  void skip(const std::string& path, const std::string& detail, const std::string& why) {
    add(path, Finding{Finding::Kind::not_converted, path, detail, "", why});
    whole_.insert(path);
  }
  // Not converted for `scope` only (it was converted elsewhere): claims nothing.
  void skip_for(const std::string& path, const std::string& scope, const std::string& detail,
                const std::string& why) {
    add(path, Finding{Finding::Kind::not_converted, path, detail, scope, why});
  }
  // Not converted, but its children are looked at one by one.
  void skip_node(const std::string& path, const std::string& detail, const std::string& why) {
    add(path, Finding{Finding::Kind::not_converted, path, detail, "", why});
    used_.insert(path);
  }
  void note(const std::string& path, const std::string& text) {
    add(path, Finding{Finding::Kind::note, path, "", "", text});
  }
  bool noted(const std::string& path, const std::string& text) const;
  bool claimed(const std::string& path) const { return used_.count(path) || whole_.count(path); }
  // Some "not converted" finding is on `path` (for every subnet or for one).
  bool listed(const std::string& path) const;

  // Every finding, in document order; unclaimed values become findings.
  std::vector<Finding> collect(const Json& root) const;

 private:
  void add(const std::string& path, Finding f) {
    if (!order_.count(path)) order_[path] = order_.size();
    findings_[path].push_back(std::move(f));
  }
  void walk(const Json& node, const std::string& path, std::vector<Finding>& out,
            std::set<std::string>& seen) const;

  std::set<std::string> used_, whole_;
  std::map<std::string, std::vector<Finding>> findings_;
  std::map<std::string, std::size_t> order_;
};

}  // namespace dorado::migrate
