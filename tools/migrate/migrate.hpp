// dorado-migrate's conversions. kea-config: a Kea DHCPv4 server config
// (JSON with Kea's comments) -> the equivalent dorado config (TOML), and the
// list of everything in the Kea config that has no equivalent, each named by
// its JSON path. docs/tools/migrate.md is the user's description of every
// mapping; `dorado-migrate kea-config --help` has the same in short.
//
// Contract: pure (reads no file; the caller passes the text), any thread, no
// exceptions escape. Nothing in the Kea config is dropped silently: every
// value is either converted (and the TOML names its JSON path in a comment
// after it) or listed in `findings`. The TOML passes dorado's own config
// check (control/config, as `dorado --check-config` runs it), with one
// exception: an output that cannot pass (no subnet at all, say) says why in
// `check_errors`. What dorado's check refuses (pools of two subnets that
// overlap, ...) is taken out of the TOML and listed as not converted.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dorado::migrate {

inline constexpr int kExitOk = 0;        // everything converted
inline constexpr int kExitLeftOut = 1;   // the TOML is written; something is listed as not converted
inline constexpr int kExitError = 2;     // bad usage, unreadable file, not a Kea DHCPv4 config: nothing written

struct Finding {
  enum class Kind : unsigned char { not_converted, note };
  Kind kind = Kind::not_converted;
  std::string path;     // JSON path: Dhcp4.subnet4[0].option-data[3]
  std::string detail;   // what the entry is, e.g. name "routers", code 3 (may be empty)
  std::string scope;    // not_converted only: set when it was converted elsewhere but not for this subnet's path
  std::string text;     // why not / the note
  // "PATH (DETAIL): not converted: TEXT", "PATH (DETAIL): not converted for SCOPE: TEXT",
  // "PATH: note: TEXT"
  std::string line() const;
};

struct KeaConfigOptions {
  std::string server_address;   // dorado's [server] address; empty: from the Kea config, else a placeholder
  std::string source_name;      // the Kea file's name, for the header comment
  // Kea's D2 config (kea-dhcp-ddns.conf, "DhcpDdns"): the TSIG keys and the
  // zones of [ddns]. Unset: from the Kea file's own "DhcpDdns", if it has one.
  std::optional<std::string> d2_text;
  std::string d2_name;          // its file name, for messages
};

struct Counts {
  std::size_t subnets = 0, pools = 0, reservations = 0, options = 0, relays = 0;
  bool ha = false;
  bool ddns = false;
  std::size_t ddns_zones = 0;
};

struct Conversion {
  std::string error;                       // set: the input is not usable (exit 2); nothing else is set
  std::string toml;                        // the dorado config
  std::vector<Finding> findings;           // in the order of the Kea file
  std::vector<std::string> check_errors;   // "KEY: MESSAGE" that dorado --check-config still reports on toml
  Counts counts;

  std::size_t not_converted() const;
  int exit_status() const;   // kExitOk, kExitLeftOut or kExitError
  std::string summary() const;   // one line: what was written and how much was left out
};

Conversion convert_kea_config(std::string_view kea_json, const KeaConfigOptions& options = {});

}  // namespace dorado::migrate
