// Internal to dorado_config: what the TOML reader (load.cpp) hands to the
// cross-checks (check.cpp) besides the DaemonConfig itself: where each value
// came from, so that every error names its line and key. No toml11 here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace dorado::config::detail {

// A place in the file and the key path that names it ("subnet[0].pools[1]").
struct Where {
  unsigned line = 0;
  unsigned column = 0;
  std::string key;
};

// One error before the file name is attached.
struct Diag {
  unsigned line = 0;
  unsigned column = 0;
  std::string key;
  std::string message;
};

struct OptionWhere {
  Where table, code;
};

struct ReservationWhere {
  Where table, address, mac, client_id, circuit_id, remote_id, hostname;
  std::vector<Where> classes;          // lines up with Reservation::classes
  std::vector<OptionWhere> options;    // lines up with Reservation::options
};

// Entries of the vectors line up with the SubnetConfig's vectors: a value
// that failed to parse is in neither.
struct SubnetWhere {
  Where table, id, prefix, lease_time, min_lease_time, max_lease_time, t1_ratio, t2_ratio,
      routers_key, dns_key, domain, server_id, interface_address;
  bool prefix_ok = false;   // prefix present and valid: containment checks apply
  bool lease_time_given = false, min_given = false, max_given = false, t1_given = false,
       t2_given = false;
  std::vector<Where> pools, exclude, routers, relays;
  std::vector<ReservationWhere> reservations;
  std::vector<OptionWhere> options;
};

struct ConfigWhere {
  Where server_address;
  bool server_ok = false;   // server.address present and valid
  std::vector<SubnetWhere> subnets;   // lines up with engine.subnets
  std::vector<OptionWhere> options;   // lines up with engine.options
  std::vector<ReservationWhere> reservations;   // lines up with engine.global_reservations
};

struct Loaded {
  bool parsed = false;   // false: a syntax error (in diags), nothing else read
  DaemonConfig config;
  ConfigWhere where;
  std::vector<Diag> diags;
};

// load.cpp: TOML text -> structs, with per-value errors. Syntax errors come
// back as a Diag too. `name` is the file name toml11 records.
Loaded read_toml(std::string_view text, const std::string& name);

// check.cpp: relations between values (overlaps, containment, duplicates,
// lease times, option clashes). `file` names second places in messages.
std::vector<Diag> cross_check(const DaemonConfig& config, const ConfigWhere& where,
                              const std::string& file);

// A failed engine::compile() as a Diag: at the table of the subnet at fault
// (CompileResult::subnet_index), else line 0 with no key.
Diag compile_diag(const engine::CompileResult& result, const ConfigWhere& where);

// "FILE:LINE" for naming a second place in a message.
inline std::string place(const std::string& file, unsigned line) {
  return file + ":" + std::to_string(line);
}

}  // namespace dorado::config::detail
