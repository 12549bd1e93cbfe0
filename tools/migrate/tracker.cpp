#include "migrate/tracker.hpp"

#include <algorithm>

namespace dorado::migrate {

std::string at_index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::string at_key(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

bool Tracker::noted(const std::string& path, const std::string& text) const {
  const auto it = findings_.find(path);
  if (it == findings_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](const Finding& f) { return f.text == text; });
}

bool Tracker::listed(const std::string& path) const {
  const auto it = findings_.find(path);
  return it != findings_.end() && std::any_of(it->second.begin(), it->second.end(), [](const Finding& f) {
           return f.kind == Finding::Kind::not_converted;
         });
}

void Tracker::walk(const Json& node, const std::string& path, std::vector<Finding>& out,
                   std::set<std::string>& seen) const {
  if (const auto it = findings_.find(path); it != findings_.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    seen.insert(path);
  }
  if (whole_.count(path)) return;
  const bool container = node.is_object() || node.is_array();
  if (container && !node.empty()) {
    if (node.is_object()) {
      for (const auto& [k, v] : node.items()) walk(v, at_key(path, k), out, seen);
    } else {
      for (std::size_t i = 0; i < node.size(); ++i) walk(node[i], at_index(path, i), out, seen);
    }
    return;
  }
  if (used_.count(path) || findings_.count(path)) return;
  std::string what = path.empty() ? "the document" : "this value";
  const std::size_t dot = path.rfind('.');
  const bool keyed = !path.empty() && path.back() != ']';
  out.push_back(Finding{Finding::Kind::not_converted, path, "", "",
                        keyed ? "not a Kea DHCPv4 setting dorado-migrate knows (" +
                                    path.substr(dot == std::string::npos ? 0 : dot + 1) + ")"
                              : "dorado-migrate does not know what " + what + " is for here"});
}

std::vector<Finding> Tracker::collect(const Json& root) const {
  std::vector<Finding> out;
  std::set<std::string> seen;
  walk(root, "", out, seen);
  // Findings on paths that are not in the document (none are expected):
  // still reported, in the order they were made.
  std::vector<std::pair<std::size_t, std::string>> rest;
  for (const auto& [path, fs] : findings_)
    if (!seen.count(path)) rest.emplace_back(order_.at(path), path);
  std::sort(rest.begin(), rest.end());
  for (const auto& [n, path] : rest) {
    const auto& fs = findings_.at(path);
    out.insert(out.end(), fs.begin(), fs.end());
  }
  return out;
}

}  // namespace dorado::migrate
