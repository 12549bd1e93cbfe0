// The dorado config that a conversion builds, as plain values, each with
// where it came from (the Kea JSON path, written as a TOML comment after the
// value), and its TOML text (toml_writer.cpp).
//
// Internal to dorado_migrate_lib; the public interface is migrate.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migrate/kea_options.hpp"

namespace dorado::migrate {

// A value and the comment written after it: its Kea JSON path(s), or how it
// was derived ("Kea's default valid-lifetime").
template <typename T>
struct Sourced {
  T value{};
  std::string from;
};

struct TomlOption {
  unsigned code = 0;
  DoradoValue value;
  bool always_send = false;
  std::string from;       // the option-data entry's path (and name)
  std::string source;     // the path alone: what is reported when dorado refuses it
  std::string for_scope;  // set when the entry was copied from an outer scope (a shared network)
  std::vector<std::string> comments;   // Kea "comment"s
  bool dropped = false;
};

struct TomlReservation {
  std::string address;
  std::string mac;         // "aa:bb:..." or empty
  std::string client_id;   // "01:02:..." or empty
  std::string from, source;
  std::vector<std::string> comments;
  bool dropped = false;
};

struct TomlPool {
  std::string range;   // "a-b" or "a/len"
  std::string from, source;
  bool dropped = false;
};

struct TomlRelay {
  std::string address;
  std::string from, source, for_scope;
  bool dropped = false;
};

struct TomlSubnet {
  std::string from;                 // the subnet's path
  std::vector<std::string> comments;
  Sourced<std::uint32_t> id;
  Sourced<std::string> prefix;
  std::vector<TomlPool> pools;
  std::optional<Sourced<std::uint32_t>> lease_time, min_lease_time, max_lease_time;
  std::optional<Sourced<double>> t1_ratio, t2_ratio;
  std::optional<Sourced<std::string>> server_id;
  std::vector<TomlRelay> relays;
  std::vector<TomlReservation> reservations;
  std::vector<TomlOption> options;
  std::optional<Sourced<std::string>> qualifying_suffix;   // [ddns] only
  bool dropped = false;
};

struct TomlHaPeer {
  std::string name, address, role;
  std::string from;
};

struct TomlHa {
  std::string from;   // the hook library entry
  Sourced<std::string> this_server, mode, ack;
  Sourced<std::uint32_t> heartbeat_ms, max_response_delay_ms, max_ack_delay_ms, max_unacked_clients;
  bool insecure = false;
  std::string insecure_from;
  Sourced<std::string> ca, cert, key;
  std::vector<TomlHaPeer> peers;
};

// [ddns] (docs/dns.md): the policy from Kea DHCPv4's ddns-* parameters,
// the keys and zones from Kea's D2 config (kea-dhcp-ddns.conf).
struct TomlDdnsKey {
  std::string name, algorithm, secret, secret_file;
  std::string from, source;
  bool dropped = false;
};

struct TomlDdnsZone {
  std::string name, key;
  std::vector<std::string> servers;
  std::string from, source;
  bool dropped = false;
};

struct TomlDdns {
  std::string from;
  std::optional<Sourced<std::string>> qualifying_suffix, replace_client_name, generated_prefix;
  std::optional<Sourced<bool>> override_client_update, override_no_update, update_on_renew;
  std::optional<Sourced<std::uint32_t>> ttl, timeout_ms;
  std::vector<TomlDdnsKey> keys;
  std::vector<TomlDdnsZone> forward, reverse;
};

struct TomlConfig {
  std::vector<std::string> header;   // comment lines at the top
  std::vector<std::string> footer;   // comment lines at the end
  Sourced<std::string> server_address;
  std::vector<Sourced<std::string>> eal_args;
  std::optional<Sourced<std::string>> control_socket;
  std::optional<Sourced<std::uint32_t>> decline_probation, offer_hold;
  std::vector<TomlOption> options;   // [[option]]
  std::vector<TomlSubnet> subnets;
  std::optional<TomlHa> ha;
  bool ha_dropped = false;
  std::optional<TomlDdns> ddns;
  bool ddns_dropped = false;
};

// The TOML text. check = true writes what dorado-migrate's own check loads:
// the HA link as `insecure = true` and a TSIG key's secret_file as an inline
// secret, since the files named by the Kea config exist on the DHCP servers,
// not necessarily where the check runs.
std::string write_toml(const TomlConfig& config, bool check = false);

// A TOML basic string, quoted and escaped.
std::string toml_string(std::string_view s);

}  // namespace dorado::migrate
