// dorado-migrate: moves a Kea DHCPv4 server's config to dorado. Parses the
// command line, reads the file, writes the TOML and the findings
// (migrate.hpp does the conversion).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "migrate/migrate.hpp"

namespace {

namespace migrate = dorado::migrate;

constexpr const char* kDescription =
    "Moves a Kea DHCPv4 server to dorado.\n"
    "\n"
    "  dorado-migrate kea-config kea-dhcp4.conf > dorado.toml\n"
    "  dorado-migrate kea-config kea-dhcp4.conf --d2 kea-dhcp-ddns.conf > dorado.toml\n"
    "\n"
    "reads a Kea DHCPv4 config (Kea 2.2's JSON, with its comments: #, //, /* */) and\n"
    "writes the equivalent dorado config (TOML). After each value, a comment names the\n"
    "Kea JSON path it comes from. Everything of the Kea config that has no equivalent in\n"
    "dorado is listed on stderr with its JSON path, one line each:\n"
    "\n"
    "  Dhcp4.subnet4[0].option-data[3] (name \"vendor-encapsulated-options\", code 43): not converted: ...\n"
    "\n"
    "Notes (\"PATH: note: ...\") say where a value was converted with a difference worth\n"
    "knowing. The output passes `dorado --check-config`: what dorado's check refuses is\n"
    "taken out and listed; if the output still cannot pass (no subnet at all), the errors\n"
    "are listed too.\n"
    "\n"
    "Leases move with dorado-leases: `dorado-leases import kea kea-leases4.csv -c dorado.toml`\n"
    "(docs/tools/leases.md).";

constexpr const char* kKeaConfigHelp =
    "Mapping (Kea -> dorado; docs/tools/migrate.md has all of it):\n"
    "  subnet4[], shared-networks[].subnet4[]  [[subnet]]: id, prefix; shared networks are\n"
    "        listed (no equivalent): their subnets become separate subnets\n"
    "  pools[].pool              pools (client-class and pool option-data are listed)\n"
    "  option-data (global)      [[option]]; subnet and shared-network option-data: [[subnet.option]]\n"
    "        by name or by code, as code + ip/string/u8/u16/u32/hex giving Kea's bytes;\n"
    "        always_send for always-send and for 3, 6, 15 (Kea sends them unasked);\n"
    "        dhcp-server-identifier (54): the subnet's server_id; option-def in space\n"
    "        dhcp4 is used to encode; other spaces, containers, 124/125: listed\n"
    "  reservations[]            [[subnet.reservation]]: hw-address (mac), client-id, ip-address;\n"
    "        global reservations go to the subnet holding the address (if Kea uses them);\n"
    "        by duid, circuit-id, flex-id, and hostname, options, classes: listed\n"
    "  valid-lifetime, min-/max-valid-lifetime  lease_time, min_lease_time, max_lease_time\n"
    "        (inherited as Kea does; Kea's default 7200; unset min/max = valid-lifetime)\n"
    "  renew-timer, rebind-timer  t1_ratio, t2_ratio = timer / valid-lifetime;\n"
    "        calculate-tee-times: t1-percent, t2-percent\n"
    "  relay.ip-addresses        relay; interface: served directly on the subnet of\n"
    "        [server] address only (others listed)\n"
    "  interfaces-config.interfaces  [dpdk] eal_args: --no-pci and --vdev=net_af_packetN,iface=NAME;\n"
    "        \"NAME/ADDRESS\" gives [server] address\n"
    "  control-socket.socket-name  [control] socket (the same Kea commands)\n"
    "  decline-probation-period  [lease] decline_probation\n"
    "  hooks-libraries libdhcp_ha.so  [ha] and [[ha.peer]]: this-server-name, mode\n"
    "        (hot-standby, load-balancing), peers' name, url (IPv4:port), role;\n"
    "        heartbeat-delay, max-response-delay, max-ack-delay (ms), max-unacked-clients;\n"
    "        trust-anchor, cert-file, key-file: ca, cert, key; http:// peers: insecure = true\n"
    "        (noted); a peer's url IP:PORT becomes its address, dorado's HA port now\n"
    "  libdhcp_lease_cmds.so     built into dorado's control API\n"
    "  dhcp-ddns.enable-updates true, ddns-* (DDNS)  [ddns]: ddns-qualifying-suffix (a\n"
    "        subnet's: its qualifying_suffix), ddns-override-no-update,\n"
    "        ddns-override-client-update, ddns-replace-client-name, ddns-generated-prefix,\n"
    "        ddns-update-on-renew, ddns-ttl; other values in a subnet or shared network than\n"
    "        the global one are listed (dorado's policy is one for the server)\n"
    "  --d2 kea-dhcp-ddns.conf   (or the Kea file's own DhcpDdns) tsig-keys: [[ddns.tsig_key]];\n"
    "        forward-ddns, reverse-ddns ddns-domains: [[ddns.forward_zone]], [[ddns.reverse_zone]]\n"
    "        (names without the final dot; IPv4 dns-servers); dns-server-timeout: timeout_ms.\n"
    "        Without it the [ddns] written has no zones (noted): add them\n"
    "Listed as not converted: client classes, shared networks, hostname-char-set and\n"
    "-replacement (dorado sanitises names its own way), lease and host databases,\n"
    "loggers, other hook libraries, and every value dorado has no place for.\n"
    "\n"
    "[server] address: --server-address, else interfaces-config's \"NAME/ADDRESS\", else a\n"
    "placeholder in the subnet Kea serves on an interface (noted on stderr: replace it).";

constexpr const char* kFooter =
    "Exit status: 0 everything converted; 1 the TOML is written but something was left out\n"
    "(listed on stderr: \"not converted\", or errors that dorado --check-config will report);\n"
    "2 bad usage, an unreadable or unwritable file, or input that is not a Kea DHCPv4 config\n"
    "(not JSON, no \"Dhcp4\"): nothing is written.";

struct Options {
  std::string file;
  std::string output;
  std::string server_address;
  std::string d2;
  bool quiet = false;
};

bool read_all(const std::string& file, std::string& text, std::string& error) {
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = file + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) {
    error = file + ": read error";
    return false;
  }
  text = s.str();
  return true;
}

// Whole file or nothing: a temporary beside it, fsynced, renamed over it.
bool write_atomically(const std::string& path, const std::string& text, std::string& error) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    error = tmp + ": " + std::strerror(errno);
    return false;
  }
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 &&
                  ::fsync(::fileno(f)) == 0;
  const int saved = errno;
  if (std::fclose(f) != 0 || !ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": " + std::strerror(ok ? errno : saved);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

int run_kea_config(const Options& opt) {
  std::string text, error;
  if (!read_all(opt.file, text, error)) {
    std::cerr << "dorado-migrate: " << error << '\n';
    return migrate::kExitError;
  }
  migrate::KeaConfigOptions options;
  options.server_address = opt.server_address;
  options.source_name = opt.file == "-" ? std::string() : opt.file;
  if (!opt.d2.empty()) {
    std::string d2;
    if (opt.d2 == "-" && opt.file == "-") {
      std::cerr << "dorado-migrate: FILE and --d2 cannot both be stdin\n";
      return migrate::kExitError;
    }
    if (!read_all(opt.d2, d2, error)) {
      std::cerr << "dorado-migrate: " << error << '\n';
      return migrate::kExitError;
    }
    options.d2_text = std::move(d2);
    options.d2_name = opt.d2;
  }
  const migrate::Conversion c = migrate::convert_kea_config(text, options);
  if (!c.error.empty()) {
    std::cerr << "dorado-migrate: " << (opt.file == "-" ? "stdin" : opt.file) << ": " << c.error << '\n';
    return migrate::kExitError;
  }
  for (const migrate::Finding& f : c.findings)
    if (!opt.quiet || f.kind == migrate::Finding::Kind::not_converted) std::cerr << f.line() << '\n';
  for (const std::string& e : c.check_errors) std::cerr << "dorado --check-config will report: " << e << '\n';
  if (opt.output.empty()) {
    std::cout << c.toml;
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "dorado-migrate: cannot write to stdout\n";
      return migrate::kExitError;
    }
  } else if (!write_atomically(opt.output, c.toml, error)) {
    std::cerr << "dorado-migrate: " << error << '\n';
    return migrate::kExitError;
  }
  std::cerr << "dorado-migrate: " << c.summary() << '\n';
  return c.exit_status();
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  CLI::App app{kDescription, "dorado-migrate"};
  app.footer(kFooter);
  app.set_version_flag("--version", "dorado-migrate " DORADO_VERSION);
  app.require_subcommand(1);

  Options opt;
  CLI::App* kea = app.add_subcommand("kea-config", "convert a Kea DHCPv4 config (JSON) to a dorado config (TOML)");
  kea->add_option("FILE", opt.file, "the Kea config, e.g. /etc/kea/kea-dhcp4.conf (- for stdin)")->required();
  kea->add_option("-o,--output", opt.output, "write the TOML to FILE (atomically) instead of stdout")
      ->type_name("FILE");
  kea->add_option("--server-address", opt.server_address,
                  "dorado's [server] address (the server identifier, answering ARP): the server's address on "
                  "the link of its directly attached subnet")
      ->type_name("A.B.C.D");
  kea->add_option("--d2", opt.d2,
                  "also read Kea's D2 config (kea-dhcp-ddns.conf): its TSIG keys and zones go into [ddns]")
      ->type_name("FILE");
  kea->add_flag("-q,--quiet", opt.quiet, "list only what was not converted (no notes)");
  kea->footer(std::string(kKeaConfigHelp) + "\n\n" + kFooter);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? migrate::kExitOk : migrate::kExitError;   // --help/--version are 0
  }
  return run_kea_config(opt);
}
