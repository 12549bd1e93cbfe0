// The Kea -> dorado conversion's state, shared by convert.cpp (subnets,
// options, reservations, globals, the check loop) and kea_ha.cpp (hook
// libraries, High Availability). Internal to dorado_migrate_lib.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "migrate/kea_json.hpp"
#include "migrate/migrate.hpp"
#include "migrate/model.hpp"
#include "migrate/tracker.hpp"

namespace dorado::migrate {

std::optional<std::uint64_t> json_uint(const Json& v, std::uint64_t max);
std::optional<bool> json_bool(const Json& v);
const std::string* json_string(const Json& v);

// An inheritable value as written at one level.
struct Param {
  const Json* value = nullptr;
  std::string path;
  explicit operator bool() const noexcept { return value != nullptr; }
};

// Global, shared network or subnet: the values written there and the
// options converted there; lookups go outwards (Kea's inheritance).
struct Scope {
  const Scope* parent = nullptr;
  std::string path;
  std::map<std::string, Param> params;
  std::vector<TomlOption> options;                  // option-data that converted (not 54)
  std::optional<Sourced<std::string>> server_id;    // option 54 written here
  std::string server_id_path;

  Param find(const std::string& key) const {
    for (const Scope* s = this; s != nullptr; s = s->parent)
      if (const auto it = s->params.find(key); it != s->params.end()) return it->second;
    return {};
  }
};

enum class Level : unsigned char { global, shared, subnet };

class Converter {
 public:
  Converter(const Json& root, const KeaConfigOptions& options, const Json* d2_root = nullptr)
      : root_(root), options_(options), d2_root_(d2_root) {}
  Conversion run();

 private:
  // convert.cpp
  void read_global(const Json& d);
  bool common_key(const std::string& key, const Json& v, const std::string& p, Scope& scope, Level level);
  void read_option_defs(const Json& list, const std::string& p);
  void read_options(const Json& list, const std::string& p, Scope& scope);
  void skip_options(const Json& list, const std::string& p, const std::string& why);
  void read_shared_network(const Json& n, const std::string& p);
  void read_subnet(const Json& s, const std::string& p, Scope& parent, std::size_t shared_index,
                   bool* shared_relay_pending);
  std::optional<TomlReservation> read_reservation(const Json& r, const std::string& p,
                                                  std::uint32_t network, std::uint32_t last);
  void read_relay(const Json& relay, const std::string& p, TomlSubnet& subnet, const std::string& for_scope);
  void lease_times(TomlSubnet& subnet, const Scope& scope);
  void read_interfaces(const Json& i, const std::string& p);
  void read_control_socket(const Json& c, const std::string& p);
  void global_reservations();
  void server_address();
  std::optional<std::uint32_t> ha_self_address() const;
  void assign_ids();
  void check_loop();
  bool drop(const std::string& key, const std::string& message);

  // kea_ha.cpp
  void read_hooks(const Json& list, const std::string& p);
  void read_ha(const Json& lib, const std::string& p);

  // kea_ddns.cpp
  static bool ddns_key(const std::string& k);
  void read_dhcp_ddns(const Json& v, const std::string& p);
  void read_ddns();
  void ddns_off(const std::string& why);
  void read_d2(const Json& d2, const std::string& p);
  void read_tsig_keys(const Json& list, const std::string& p);
  void read_ddns_domains(const Json& section, const std::string& p, bool reverse);
  Tracker& tracker_for(const std::string& path) {
    return d2_tracker_ != nullptr && path.rfind("DhcpDdns", 0) == 0 ? *d2_tracker_ : t_;
  }

  struct SubnetInfo {
    std::uint32_t network = 0, last = 0;   // the prefix's first and last address
    const Scope* scope = nullptr;
    std::size_t shared = SIZE_MAX;         // index of its shared network, if any
    bool id_given = false;
  };

  const Json& root_;
  KeaConfigOptions options_;
  Tracker t_;
  TomlConfig out_;
  std::deque<Scope> scopes_;               // stable addresses: subnets keep pointers
  Scope* global_ = nullptr;
  std::vector<OptionDef> custom_defs_;     // option-def in space dhcp4
  std::vector<SubnetInfo> info_;           // parallel to out_.subnets
  std::vector<std::string> interfaces_;    // names from interfaces-config
  std::string interface_address_, interface_address_path_;
  const Json* global_reservations_ = nullptr;
  std::string global_reservations_path_;
  std::vector<std::string> check_errors_;
  // DDNS: Dhcp4.dhcp-ddns, and the D2 config (--d2's, or the Kea file's own DhcpDdns).
  const Json* dhcp_ddns_ = nullptr;
  std::string dhcp_ddns_path_;
  const Json* d2_ = nullptr;             // the "DhcpDdns" object
  const Json* d2_root_ = nullptr;        // --d2's document (its own tracker), or nullptr
  Tracker d2_t_;                         // --d2's findings
  Tracker* d2_tracker_ = nullptr;        // where D2 paths are tracked: &d2_t_ or &t_
  std::set<std::string> d2_key_names_;   // converted TSIG keys (canonical names)
  bool d2_gss_tsig_ = false;             // D2 loads libddns_gss_tsig.so
};

}  // namespace dorado::migrate
