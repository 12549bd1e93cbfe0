// [ha] and [[ha.peer]] -> HaSection, with every check the section needs on
// its own: key types and ranges, unknown keys, the two peers (names,
// addresses, roles against the mode), this_server, listen, the timers'
// relation, the TLS files (readable now, at load) and the clash with
// [split_scope]. Every error names FILE:LINE and key, as everywhere in the
// loader. The keys and bounds are documented in docs/ha.md, "Configuration".
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "config/toml_reader.hpp"

namespace dorado::config::detail {
namespace {

constexpr std::size_t kMaxPeerName = 64;
constexpr std::int64_t kMaxDelayMs = 3'600'000;   // an hour

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool unicast(Ipv4 ip) {
  return ip != 0 && ip != 0xffffffffu && (ip >> 28) != 0xe;   // not 0, broadcast, 224/4
}

const char* role_fit(HaMode m) {
  return m == HaMode::hot_standby ? "hot-standby takes one primary and one standby"
                                  : "load-balancing takes one primary and one secondary";
}

bool role_fits(HaMode m, HaRole r) {
  return r == HaRole::primary || (m == HaMode::hot_standby ? r == HaRole::standby
                                                           : r == HaRole::secondary);
}

// Why `path` cannot serve as a TLS file, or "" if it can be read.
std::string unreadable(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return "\"" + path + "\" is a directory, not a file";
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    return "cannot read \"" + path + "\": " + (errno ? std::strerror(errno) : "unknown error");
  const int c = std::fgetc(f);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return "cannot read \"" + path + "\": " + (err ? std::strerror(err) : "read error");
  if (c == EOF) return "\"" + path + "\" is empty";
  return "";
}

struct PeerWhere {
  Where table, name, address, role;
  bool name_ok = false, address_ok = false, role_ok = false;
};

class HaReader : public TableReader {
 public:
  using TableReader::TableReader;

  void run(const Value& root, const Value& t) {
    const std::size_t errors_before = out_.diags.size();
    check_keys(t, p_, {"this_server", "mode", "listen", "ack", "heartbeat_ms",
                       "max_response_delay_ms", "max_ack_delay_ms", "max_unacked_clients", "mclt",
                       "max_answer_secs", "split", "backlog_mb", "insecure", "ca", "cert", "key",
                       "peer"});
    table_ = where_of(t, p_);
    if (const Value* split = find(root, "split_scope"))
      error(table_, "cannot be used together with [split_scope] " +
                        at(where_of(*split, "split_scope")) +
                        ": both split the pools between servers; keep one");

    if (out_.config.store.durability == Durability::off)
      error(table_, "needs a lease store to replicate: [store] durability = \"off\" keeps no journal; "
                    "use \"fsync\" or \"async\"");

    read_mode(t);
    if (const auto a = word(t, "ack", {"partner", "local"}))
      ha_.ack = *a == 0 ? HaAck::partner : HaAck::local;
    read_values(t);
    read_peers(t);
    read_this_server(t);
    read_listen(t);
    read_tls(t);
    ha_.enabled = out_.diags.size() == errors_before;
  }

 private:
  // this_server's peer (HaSection::self() answers only once enabled).
  const HaPeer* self() const {
    for (const HaPeer& peer : ha_.peers)
      if (!ha_.this_server.empty() && peer.name == ha_.this_server) return &peer;
    return nullptr;
  }

  Where where_in(const Value& t, std::string_view key) const {
    const Value* v = find(t, key);
    return v ? where_of(*v, join(p_, key)) : Where{table_.line, table_.column, join(p_, key)};
  }

  // A string key that must be one of `words`; nullopt (reported) otherwise.
  std::optional<std::size_t> word(const Value& t, std::string_view key,
                                  std::initializer_list<std::string_view> words) {
    return word_in(t, p_, key, words);
  }

  std::optional<std::size_t> word_in(const Value& t, const std::string& prefix, std::string_view key,
                                     std::initializer_list<std::string_view> words) {
    const auto s = string(t, prefix, key);
    if (!s) return std::nullopt;
    std::size_t i = 0;
    for (std::string_view w : words) {
      if (*s == w) return i;
      ++i;
    }
    std::string list;
    i = 0;
    for (std::string_view w : words) {
      list += (i == 0 ? "\"" : i + 1 == words.size() ? " or \"" : ", \"") + std::string(w) + "\"";
      ++i;
    }
    error(where_of(t.at(std::string(key)), join(prefix, key)),
          "must be " + list + " (got \"" + *s + "\")");
    return std::nullopt;
  }

  void read_mode(const Value& t) {
    if (!find(t, "mode")) {
      missing(t, p_, "mode");
      return;
    }
    if (const auto m = word(t, "mode", {"hot-standby", "load-balancing"})) {
      ha_.mode = *m == 0 ? HaMode::hot_standby : HaMode::load_balancing;
      mode_ok_ = true;
    }
  }

  std::optional<std::uint32_t> u32(const Value& t, std::string_view key, std::int64_t min,
                                   std::int64_t max) {
    const auto x = integer(t, p_, key, min, max);
    if (!x) return std::nullopt;
    return static_cast<std::uint32_t>(*x);
  }

  void read_values(const Value& t) {
    const auto hb = u32(t, "heartbeat_ms", 100, 60'000);
    const auto mrd = u32(t, "max_response_delay_ms", 200, kMaxDelayMs);
    if (hb) ha_.heartbeat_ms = *hb;
    if (mrd) ha_.max_response_delay_ms = *mrd;
    if (auto x = u32(t, "max_ack_delay_ms", 0, kMaxDelayMs)) ha_.max_ack_delay_ms = *x;
    if (auto x = u32(t, "max_unacked_clients", 0, 1'000'000)) ha_.max_unacked_clients = *x;
    if (auto x = u32(t, "mclt", 1, 604'800)) ha_.mclt = *x;
    if (auto x = u32(t, "backlog_mb", 1, 65'536)) ha_.backlog_mb = *x;
    const auto answer = u32(t, "max_answer_secs", 0, 65'535);
    const auto split = u32(t, "split", 0, 256);
    if (answer) ha_.max_answer_secs = *answer;
    if (split) ha_.split = *split;
    if (auto b = boolean(t, p_, "insecure")) ha_.insecure = *b;

    // The partner must miss several heartbeats before it counts as gone.
    const bool hb_valid = hb || !find(t, "heartbeat_ms");
    const bool mrd_valid = mrd || !find(t, "max_response_delay_ms");
    if (hb_valid && mrd_valid && ha_.heartbeat_ms >= ha_.max_response_delay_ms) {
      if (mrd)
        error(where_in(t, "max_response_delay_ms"),
              "must be greater than ha.heartbeat_ms (" + std::to_string(ha_.heartbeat_ms) +
                  "): the partner would look unresponsive between two heartbeats");
      else
        error(where_in(t, "heartbeat_ms"),
              "must be less than ha.max_response_delay_ms (" +
                  std::to_string(ha_.max_response_delay_ms) +
                  ", the default): the partner would look unresponsive between two heartbeats");
    }
    // Keys of load-balancing only: a value that would change something in
    // hot-standby is a mistake, not a no-op.
    if (mode_ok_ && ha_.mode == HaMode::hot_standby) {
      if (split && *split != 128)
        error(where_in(t, "split"), "applies to mode = \"load-balancing\" only (in hot-standby the "
                                    "primary answers every client); remove it");
      if (answer && *answer != 0)
        error(where_in(t, "max_answer_secs"),
              "applies to mode = \"load-balancing\" only (in hot-standby the primary answers "
              "every client); remove it");
    }
  }

  void read_peers(const Value& t) {
    const Value* v = find(t, "peer");
    const std::string k = join(p_, "peer");
    if (!v) {
      error(Where{table_.line, table_.column, k},
            "missing: [ha] needs two [[ha.peer]] tables, this server and its partner");
      return;
    }
    const toml::array* peers = table_array(t, p_, "peer");
    if (!peers) return;
    if (peers->empty()) {
      error(where_of(*v, k), "needs exactly two [[ha.peer]] tables, this server and its partner "
                             "(got none)");
      return;
    }
    std::vector<PeerWhere> wheres;
    for (std::size_t i = 0; i < peers->size(); ++i) {
      const Value& e = (*peers)[i];
      if (!e.is_table()) continue;
      PeerWhere w;
      HaPeer peer = read_peer(e, indexed(k, i), w);
      check_against_earlier(peer, w, wheres);
      ha_.peers.push_back(std::move(peer));
      wheres.push_back(std::move(w));
    }
    if (peers->size() == 1) {
      error(where_of((*peers)[0], k), "only one [[ha.peer]]; [ha] needs exactly two: this server "
                                      "and its partner");
    } else if (peers->size() > 2) {
      for (std::size_t i = 2; i < peers->size(); ++i)
        error(where_of((*peers)[i], indexed(k, i)),
              "a peer too many: [ha] takes exactly two [[ha.peer]], this server and its partner "
              "(the first two are at " + place(file_, where_of((*peers)[0], k).line) + " and " +
              place(file_, where_of((*peers)[1], k).line) + ")");
    }
  }

  HaPeer read_peer(const Value& e, const std::string& k, PeerWhere& w) {
    check_keys(e, k, {"name", "address", "role"});
    HaPeer peer;
    w.table = where_of(e, k);
    peer.line = w.table.line;
    if (!find(e, "name")) {
      missing(e, k, "name");
    } else if (auto n = string(e, k, "name")) {
      w.name = where_of(e.at("name"), join(k, "name"));
      if (n->empty() || n->size() > kMaxPeerName || !std::all_of(n->begin(), n->end(), name_char))
        error(w.name, "\"" + *n + "\" is not a peer name: 1.." + std::to_string(kMaxPeerName) +
                          " letters, digits, '.', '_' or '-'");
      else
        w.name_ok = true;
      peer.name = *n;
    }
    if (!find(e, "address")) {
      missing(e, k, "address");
    } else if (auto a = string(e, k, "address")) {
      w.address = where_of(e.at("address"), join(k, "address"));
      peer.address = *a;
      if (const auto ep = parse_endpoint(*a); !ep) {
        error(w.address, "must be \"ADDRESS:PORT\" with an IPv4 address and a port 1..65535 "
                         "(got \"" + *a + "\")");
      } else if (!unicast(ep->ip)) {
        error(w.address, "must be a unicast address (got \"" + *a + "\")");
      } else {
        peer.ip = ep->ip;
        peer.port = ep->port;
        w.address_ok = true;
      }
    }
    if (!find(e, "role")) {
      missing(e, k, "role");
    } else if (auto r = word_in(e, k, "role", {"primary", "secondary", "standby"})) {
      w.role = where_of(e.at("role"), join(k, "role"));
      peer.role = *r == 0 ? HaRole::primary : *r == 1 ? HaRole::secondary : HaRole::standby;
      if (mode_ok_ && !role_fits(ha_.mode, peer.role))
        error(w.role, "\"" + std::string(ha_role_name(peer.role)) + "\" does not fit mode = \"" +
                          std::string(ha_mode_name(ha_.mode)) + "\": " + role_fit(ha_.mode));
      else
        w.role_ok = true;
    }
    return peer;
  }

  // Duplicates are reported at the later peer, naming the earlier one.
  void check_against_earlier(const HaPeer& peer, const PeerWhere& w,
                             const std::vector<PeerWhere>& wheres) {
    for (std::size_t j = 0; j < wheres.size(); ++j) {
      const HaPeer& other = ha_.peers[j];
      if (w.name_ok && wheres[j].name_ok && peer.name == other.name)
        error(w.name, "peer \"" + peer.name + "\" is listed twice (" + wheres[j].name.key + ", " +
                          place(file_, wheres[j].name.line) + ")");
      if (w.address_ok && wheres[j].address_ok && peer.ip == other.ip && peer.port == other.port)
        error(w.address, endpoint_text({peer.ip, peer.port}) + " is also " +
                             wheres[j].address.key + " " + at(wheres[j].address) +
                             ": the two servers need their own endpoints");
      if (w.role_ok && wheres[j].role_ok && peer.role == other.role)
        error(w.role, "a second \"" + std::string(ha_role_name(peer.role)) + "\" (" +
                          wheres[j].role.key + ", " + place(file_, wheres[j].role.line) + "): " +
                          role_fit(ha_.mode));
    }
  }

  void read_this_server(const Value& t) {
    if (!find(t, "this_server")) {
      missing(t, p_, "this_server");
      return;
    }
    const auto me = string(t, p_, "this_server");
    if (!me) return;
    ha_.this_server = *me;
    if (ha_.peers.empty() || self() != nullptr) return;   // no peers: reported already
    std::vector<std::string_view> names;
    for (const HaPeer& peer : ha_.peers)
      if (!peer.name.empty() && std::find(names.begin(), names.end(), peer.name) == names.end())
        names.push_back(peer.name);
    std::string list;
    for (std::string_view n : names) list += (list.empty() ? "" : ", ") + std::string(n);
    error(where_in(t, "this_server"), "\"" + *me + "\" is not one of the ha.peer names (" + list + ")");
  }

  void read_listen(const Value& t) {
    if (!find(t, "listen")) {
      // This server's own peer address.
      if (const HaPeer* me = self(); me != nullptr && me->port != 0) {
        ha_.listen = endpoint_text({me->ip, me->port});
        ha_.listen_ip = me->ip;
        ha_.listen_port = me->port;
      }
      return;
    }
    const auto s = string(t, p_, "listen");
    if (!s) return;
    const Where w = where_in(t, "listen");
    const auto ep = parse_endpoint(*s);
    if (!ep) {
      error(w, "must be \"ADDRESS:PORT\" with an IPv4 address and a port 1..65535 (got \"" + *s +
                   "\")");
      return;
    }
    if (ep->ip != 0 && !unicast(ep->ip)) {
      error(w, "must be a unicast address, or 0.0.0.0 for every interface (got \"" + *s + "\")");
      return;
    }
    // It may differ from this server's peer address (NAT; 0.0.0.0).
    ha_.listen = *s;
    ha_.listen_ip = ep->ip;
    ha_.listen_port = ep->port;
  }

  void read_tls(const Value& t) {
    static constexpr std::string_view kFiles[] = {"ca", "cert", "key"};
    std::vector<std::string_view> given, absent;
    for (std::string_view k : kFiles) (find(t, k) ? given : absent).push_back(k);
    auto list = [](const std::vector<std::string_view>& v) {
      std::string s;
      for (std::size_t i = 0; i < v.size(); ++i)
        s += (i == 0 ? "" : i + 1 == v.size() ? " and " : ", ") + std::string(v[i]);
      return s;
    };
    if (ha_.insecure) {
      if (!given.empty())
        error(where_in(t, "insecure"),
              "true turns TLS off, yet " + list(given) + (given.size() == 1 ? " is" : " are") +
                  " set; remove " + (given.size() == 1 ? "it" : "them") + " or set insecure = false");
      return;
    }
    if (!absent.empty())
      error(Where{table_.line, table_.column, p_},
            "ca, cert and key are required unless insecure = true (missing: " + list(absent) + ")");
    for (std::string_view k : given) {
      const auto path = string(t, p_, k);
      if (!path) continue;
      const Where w = where_in(t, k);
      std::string why = path->empty() ? "must not be empty" : unreadable(*path);
      if (!why.empty()) {
        error(w, std::move(why));
        continue;
      }
      (k == "ca" ? ha_.ca : k == "cert" ? ha_.cert : ha_.key) = *path;
    }
  }

  const std::string p_ = "ha";
  HaSection& ha_ = out_.config.ha;
  Where table_;
  bool mode_ok_ = false;
};

}  // namespace

void read_ha(Loaded& out, const LineIndex& lines, const std::string& file, const Value& root,
             const Value& t) {
  HaReader(out, lines, file).run(root, t);
}

}  // namespace dorado::config::detail
