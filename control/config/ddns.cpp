// [ddns], [[ddns.tsig_key]], [[ddns.forward_zone]] and [[ddns.reverse_zone]]
// -> DdnsSection (the control thread's: keys, zones, timers) and
// engine::DdnsPolicy (the engine's: who updates, which name), with every
// check the section needs on its own: key types and ranges, unknown keys,
// DNS names, the TSIG keys (algorithm, base64 secret, secret_file readable
// now, at load), the zones (servers, a key that exists, reverse zones under
// in-addr.arpa) and duplicates. Every error names FILE:LINE and key, as
// everywhere in the loader; all of them are collected. The keys and bounds
// are documented in docs/configuration.md, "[ddns]".
//
// The section is present when the file has a `ddns` table: a [ddns] header,
// or only [[ddns.*]] tables (TOML makes those a `ddns` table too), which
// then enable dynamic DNS with the default policy. A subnet's
// qualifying_suffix is read with the subnet (load.cpp).
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "config/toml_reader.hpp"
#include "ddns/tsig.hpp"

namespace dorado::config::detail {
namespace {

constexpr std::size_t kMaxGeneratedPrefix = 40;
constexpr std::size_t kMaxSecretFile = 64 * 1024;   // a key file is a line of base64
constexpr std::int64_t kMaxTtl = 2147483647;        // RFC 2181 section 8

bool unicast(Ipv4 ip) {
  return ip != 0 && ip != 0xffffffffu && (ip >> 28) != 0xe;   // not 0, broadcast, 224/4
}

// The contents of `path` in `text`; or why it cannot be read. Only a
// regular file is read: a FIFO or a terminal (/dev/stdin) would block the
// loader, a device could be endless.
std::string read_small_file(const std::string& path, std::string& text) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::is_directory(st)) return "\"" + path + "\" is a directory, not a file";
  if (!ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
    return "\"" + path + "\" is not a regular file";
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    return "cannot read \"" + path + "\": " + (errno ? std::strerror(errno) : "unknown error");
  char buf[4096];
  std::size_t n = 0;
  bool too_big = false;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxSecretFile) {
      too_big = true;
      break;
    }
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return "cannot read \"" + path + "\": " + (err ? std::strerror(err) : "read error");
  if (too_big)
    return "\"" + path + "\" is larger than " + std::to_string(kMaxSecretFile / 1024) +
           " KiB: not a file holding one base64 secret";
  return "";
}

bool only_whitespace(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// A key name as the zones' `key` refers to it.
struct KeyName {
  std::string name;   // canonical
  Where where;
};

class DdnsReader : public TableReader {
 public:
  using TableReader::TableReader;

  void run(const Value& t) {
    const std::size_t errors_before = out_.diags.size();
    check_keys(t, p_, {"qualifying_suffix", "override_client_update", "override_no_update",
                       "replace_client_name", "generated_prefix", "ttl", "update_on_renew",
                       "timeout_ms", "max_retry_interval_s", "tsig_key", "forward_zone",
                       "reverse_zone"});
    if (out_.config.store.durability == Durability::off)
      error(where_of(t, p_), "needs a lease store: what is registered in DNS is journaled with the leases, and "
                             "[store] durability = \"off\" keeps no journal; use \"fsync\" or \"async\"");
    read_policy(t);
    if (auto x = integer(t, p_, "ttl", 0, kMaxTtl)) ddns_.ttl = static_cast<std::uint32_t>(*x);
    if (auto x = integer(t, p_, "timeout_ms", 100, 60'000)) ddns_.timeout_ms = static_cast<std::uint32_t>(*x);
    if (auto x = integer(t, p_, "max_retry_interval_s", 1, 86'400))
      ddns_.max_retry_interval_s = static_cast<std::uint32_t>(*x);
    read_keys(t);
    read_zones(t, "forward_zone", false, ddns_.forward_zones);
    read_zones(t, "reverse_zone", true, ddns_.reverse_zones);
    ddns_.enabled = out_.diags.size() == errors_before;
    policy_.enabled = ddns_.enabled;
  }

 private:
  // A DNS name (check_domain(); `host`: check_host_domain()) in canonical
  // form, or nullopt (reported). `allow_empty`: "" is fine and comes back as "".
  std::optional<std::string> dns_name(const Value& t, const std::string& prefix, std::string_view key,
                                      bool allow_empty, bool host = false) {
    const auto s = string(t, prefix, key);
    if (!s) return std::nullopt;
    if (s->empty() && allow_empty) return std::string();
    if (std::string why = host ? check_host_domain(*s) : check_domain(*s); !why.empty()) {
      error(where_of(t.at(std::string(key)), join(prefix, key)),
            "\"" + *s + "\" is not a DNS name: " + why);
      return std::nullopt;
    }
    return canonical_domain(*s);
  }

  void read_policy(const Value& t) {
    if (auto q = dns_name(t, p_, "qualifying_suffix", true, true)) policy_.qualifying_suffix = *q;
    if (auto b = boolean(t, p_, "override_client_update")) policy_.override_client_update = *b;
    if (auto b = boolean(t, p_, "override_no_update")) policy_.override_no_update = *b;
    if (auto b = boolean(t, p_, "update_on_renew")) policy_.update_on_renew = *b;
    if (auto r = string(t, p_, "replace_client_name")) {
      using engine::ReplaceClientName;
      if (*r == "never")
        policy_.replace_client_name = ReplaceClientName::never;
      else if (*r == "always")
        policy_.replace_client_name = ReplaceClientName::always;
      else if (*r == "when-present")
        policy_.replace_client_name = ReplaceClientName::when_present;
      else if (*r == "when-not-present")
        policy_.replace_client_name = ReplaceClientName::when_not_present;
      else
        error(where_of(t.at("replace_client_name"), join(p_, "replace_client_name")),
              "must be \"never\", \"always\", \"when-present\" or \"when-not-present\" (got \"" + *r +
                  "\")");
    }
    if (auto g = string(t, p_, "generated_prefix")) {
      if (g->empty() || g->size() > kMaxGeneratedPrefix || g->find('.') != std::string::npos ||
          !check_host_domain(*g).empty())
        error(where_of(t.at("generated_prefix"), join(p_, "generated_prefix")),
              "\"" + *g + "\" is not a host name label of 1.." + std::to_string(kMaxGeneratedPrefix) +
                  " letters, digits and '-' (not first or last)");
      else
        policy_.generated_prefix = canonical_domain(*g);
    }
  }

  // ---- [[ddns.tsig_key]] ---------------------------------------------------------

  void read_keys(const Value& t) {
    const toml::array* keys = table_array(t, p_, "tsig_key");
    if (!keys) return;
    const std::string k = join(p_, "tsig_key");
    for (std::size_t i = 0; i < keys->size(); ++i) {
      const Value& e = (*keys)[i];
      if (e.is_table()) read_key(e, indexed(k, i));
    }
  }

  void read_key(const Value& e, const std::string& k) {
    check_keys(e, k, {"name", "algorithm", "secret", "secret_file"});
    const std::size_t errors_before = out_.diags.size();
    DdnsTsigKey key;
    key.line = where_of(e, k).line;
    if (!find(e, "name")) {
      missing(e, k, "name");
    } else if (auto n = dns_name(e, k, "name", false)) {
      const Where w = where_of(e.at("name"), join(k, "name"));
      if (const KeyName* earlier = key_named(*n))
        error(w, "key \"" + *n + "\" is listed twice (" + earlier->where.key + ", " +
                     place(file_, earlier->where.line) + ")");
      else
        key_names_.push_back(KeyName{*n, w});
      key.name = *n;
    }
    if (auto a = string(e, k, "algorithm")) {
      if (ddns::tsig_algorithm_from_name(*a)) {
        key.algorithm = *a;
      } else {
        std::string list;
        for (std::size_t i = 0; i < ddns::kTsigAlgorithmNames.size(); ++i)
          list += (i == 0 ? "\"" : i + 1 == ddns::kTsigAlgorithmNames.size() ? " or \"" : ", \"") +
                  std::string(ddns::kTsigAlgorithmNames[i]) + "\"";
        error(where_of(e.at("algorithm"), join(k, "algorithm")),
              "must be " + list + " (got \"" + *a + "\")");
      }
    }
    read_secret(e, k, key);
    if (out_.diags.size() == errors_before) ddns_.tsig_keys.push_back(std::move(key));
  }

  // secret = "base64" or secret_file = "path" (a file holding the base64
  // text), exactly one of them. The secret itself is never in a message.
  void read_secret(const Value& e, const std::string& k, DdnsTsigKey& key) {
    const Value* inline_secret = find(e, "secret");
    const Value* file = find(e, "secret_file");
    if (inline_secret && file) {
      error(where_of(*file, join(k, "secret_file")),
            "cannot be used together with secret " + at(where_of(*inline_secret, join(k, "secret"))) +
                ": give the secret in one place");
      return;
    }
    if (!inline_secret && !file) {
      error(where_of(e, join(k, "secret")),
            "missing: a key needs secret (base64) or secret_file (a file holding it)");
      return;
    }
    if (inline_secret) {
      const auto s = string(e, k, "secret");
      if (!s) return;
      const Where w = where_of(*inline_secret, join(k, "secret"));
      if (only_whitespace(*s))
        error(w, "must not be empty");
      else if (!wire::decode_base64(*s, key.secret))
        error(w, "is not base64 (RFC 4648: A-Z a-z 0-9 + /, padded with '=' to a multiple of 4)");
      return;
    }
    const auto path = string(e, k, "secret_file");
    if (!path) return;
    const Where w = where_of(*file, join(k, "secret_file"));
    if (path->empty()) {
      error(w, "must not be empty");
      return;
    }
    std::string text;
    if (std::string why = read_small_file(*path, text); !why.empty()) {
      error(w, std::move(why));
      return;
    }
    if (only_whitespace(text))
      error(w, "\"" + *path + "\" is empty: it must hold the key's secret in base64");
    else if (!wire::decode_base64(text, key.secret))
      error(w, "\"" + *path + "\" does not hold base64 text (RFC 4648: A-Z a-z 0-9 + /, padded "
                              "with '=' to a multiple of 4; nothing else but whitespace)");
  }

  const KeyName* key_named(const std::string& name) const {
    for (const KeyName& k : key_names_)
      if (k.name == name) return &k;
    return nullptr;
  }

  // ---- [[ddns.forward_zone]], [[ddns.reverse_zone]] ------------------------------

  void read_zones(const Value& t, std::string_view which, bool reverse, std::vector<DdnsZone>& zones) {
    const toml::array* a = table_array(t, p_, which);
    if (!a) return;
    const std::string k = join(p_, which);
    std::vector<KeyName> seen;   // zone names of this list, for duplicates
    for (std::size_t i = 0; i < a->size(); ++i) {
      const Value& e = (*a)[i];
      if (!e.is_table()) continue;
      const std::size_t errors_before = out_.diags.size();
      DdnsZone zone = read_zone(e, indexed(k, i), reverse, seen);
      if (out_.diags.size() == errors_before) zones.push_back(std::move(zone));
    }
  }

  DdnsZone read_zone(const Value& e, const std::string& k, bool reverse, std::vector<KeyName>& seen) {
    check_keys(e, k, {"name", "servers", "key"});
    DdnsZone zone;
    zone.line = where_of(e, k).line;
    if (!find(e, "name")) {
      missing(e, k, "name");
    } else if (auto n = dns_name(e, k, "name", false)) {
      const Where w = where_of(e.at("name"), join(k, "name"));
      const bool under_arpa = *n == "in-addr.arpa" ||
                              (n->size() > 13 && n->compare(n->size() - 13, 13, ".in-addr.arpa") == 0);
      const auto earlier = std::find_if(seen.begin(), seen.end(),
                                        [&](const KeyName& z) { return z.name == *n; });
      if (reverse && !under_arpa)
        error(w, "\"" + *n + "\" is not a reverse zone: it must end in in-addr.arpa (as "
                             "\"99.10.in-addr.arpa\" for 10.99.0.0/16)");
      else if (!reverse && under_arpa)
        error(w, "\"" + *n + "\" is a reverse zone: list it as a [[ddns.reverse_zone]]");
      else if (earlier != seen.end())
        error(w, "zone \"" + *n + "\" is listed twice (" + earlier->where.key + ", " +
                     place(file_, earlier->where.line) + ")");
      else
        seen.push_back(KeyName{*n, w});
      zone.name = *n;
    }
    read_servers(e, k, zone);
    if (find(e, "key")) {
      if (auto n = dns_name(e, k, "key", false)) {
        if (key_named(*n)) {
          zone.key = *n;
        } else {
          std::string names;
          for (const KeyName& x : key_names_) names += (names.empty() ? "" : ", ") + x.name;
          error(where_of(e.at("key"), join(k, "key")),
                "\"" + *n + "\" is not the name of a [[ddns.tsig_key]] (" +
                    (names.empty() ? std::string("there is none") : "names: " + names) + ")");
        }
      }
    }
    return zone;
  }

  void read_servers(const Value& e, const std::string& k, DdnsZone& zone) {
    const Value* v = find(e, "servers");
    if (!v) {
      missing(e, k, "servers");
      return;
    }
    if (v->is_array() && v->as_array().empty()) {
      error(where_of(*v, join(k, "servers")), "needs at least one DNS server \"ADDRESS\" or \"ADDRESS:PORT\"");
      return;
    }
    std::vector<Where> wheres;
    each_string(e, k, "servers", [&](const std::string& s, Where w) {
      DdnsServer server;
      if (const auto ip = wire::parse_ipv4(s)) {
        server.ip = *ip;
      } else if (const auto ep = parse_endpoint(s)) {
        server.ip = ep->ip;
        server.port = ep->port;
      } else {
        error(w, "must be \"ADDRESS\" or \"ADDRESS:PORT\" with an IPv4 address and a port 1..65535 "
                 "(got \"" + s + "\")");
        return;
      }
      if (!unicast(server.ip)) {
        error(w, "must be a unicast address (got \"" + s + "\")");
        return;
      }
      for (std::size_t j = 0; j < zone.servers.size(); ++j) {
        if (zone.servers[j].ip == server.ip && zone.servers[j].port == server.port) {
          error(w, endpoint_text({server.ip, server.port}) + " is listed twice (" + wheres[j].key + ")");
          return;
        }
      }
      zone.servers.push_back(server);
      wheres.push_back(std::move(w));
    });
  }

  const std::string p_ = "ddns";
  DdnsSection& ddns_ = out_.config.ddns;
  engine::DdnsPolicy& policy_ = out_.config.engine.ddns;
  std::vector<KeyName> key_names_;   // every key whose name was valid, duplicates once
};

}  // namespace

void read_ddns(Loaded& out, const LineIndex& lines, const std::string& file, const Value& t) {
  DdnsReader(out, lines, file).run(t);
}

}  // namespace dorado::config::detail
