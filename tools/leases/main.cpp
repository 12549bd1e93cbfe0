// dorado-leases: moves leases between dorado's store and Kea's memfile CSV,
// and lists the store. Parses the command line and calls commands.cpp.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "leases/commands.hpp"

namespace {

namespace leases = dorado::leases;

constexpr const char* kDescription =
    "Moves DHCPv4 leases between dorado's lease store and Kea's memfile lease file,\n"
    "and lists the store.\n"
    "\n"
    "dorado must be stopped: the store is locked while dorado runs, and every command\n"
    "here takes the same lock (a running dorado makes it fail with exit status 2).\n"
    "\n"
    "The store directory is --store DIR, or [store] dir of the dorado config given\n"
    "with -c CONFIG, else /var/lib/dorado (the config's default).\n"
    "\n"
    "Kea lease4 CSV (Kea 2.2's memfile: kea-leases4.csv): columns are found by the\n"
    "header's names (address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,\n"
    "fqdn_rev,hostname,state,user_context; later Kea versions add pool_id; unknown\n"
    "columns are ignored). The file is a log: a later row for an address replaces the\n"
    "earlier one, and a row with valid_lifetime 0 (Kea's lease deletion) removes it.\n"
    "Between two runs of Kea's lease file cleanup (LFC) the leases are spread over\n"
    "kea-leases4.csv.2 (older) and kea-leases4.csv: stop Kea and pass both, oldest\n"
    "first, or run kea-lfc first. LF or CRLF line ends; '&#x2c' is an escaped ','.\n"
    "\n"
    "Mapping (Kea -> dorado; export is the reverse):\n"
    "  client      client_id when not empty (dorado keys the client on option 61),\n"
    "              else hwaddr (htype 1, Ethernet) -- as dorado keys its clients\n"
    "  start       expire - valid_lifetime (Kea's cltt); expires = expire\n"
    "              (valid_lifetime 4294967295, infinite, stays infinite)\n"
    "  state 0     bound lease (commit); dorado keeps expired ones as history\n"
    "  state 1     declined: the address is in probation until expire, no client\n"
    "  state 2     expired-reclaimed: history that keeps the address for its client\n"
    "  subnet_id   copied; dorado finds the subnet from the address at start-up\n"
    "  hostname    bound leases only; cut to 63 bytes (counted)\n"
    "  fqdn_fwd, fqdn_rev, user_context: not kept (export writes 0, 0 and empty)\n"
    "On export: bound leases -> state 0, released/expired -> state 2, declined ->\n"
    "state 1, valid_lifetime = expires - start; client-id leases also carry the\n"
    "hwaddr dorado saw. Store records with no Kea equivalent (probation over,\n"
    "reclaimed) are left out and counted.\n"
    "\n"
    "import replaces the whole store by the file's leases (--merge keeps the store's\n"
    "leases; a file lease wins on the same address). It refuses, changing nothing:\n"
    "bad rows (each printed as FILE:LINE, the first 20; --skip-bad imports the rest),\n"
    "two different clients active on one address (--merge: store and file), and one\n"
    "client active on two addresses (dorado holds one lease per client; of inactive\n"
    "duplicates the newest is kept).";

constexpr const char* kFooter =
    "Exit status: 0 done; 1 data errors (bad rows, conflicts; with --skip-bad the good\n"
    "rows were imported); 2 bad usage, unreadable file, or store missing/locked/unusable.\n"
    "Messages and the summary go to stderr; export's CSV and list's table to stdout.";

void add_store_options(CLI::App* cmd, leases::StoreChoice& choice) {
  auto* dir = cmd->add_option("--store", choice.dir, "lease store directory (default /var/lib/dorado)")
                  ->type_name("DIR");
  cmd->add_option("-c,--config", choice.config, "take the store directory from this dorado config ([store] dir)")
      ->type_name("CONFIG")
      ->check(CLI::ExistingFile)
      ->excludes(dir);
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  CLI::App app{kDescription, "dorado-leases"};
  app.footer(kFooter);
  app.set_version_flag("--version", "dorado-leases " DORADO_VERSION);
  app.require_subcommand(1);

  std::string format;
  const auto formats = CLI::IsMember({"kea"});

  leases::ImportOptions imp;
  CLI::App* import_cmd = app.add_subcommand(
      "import", "replace (or --merge into) the store's leases with those of Kea lease4 CSV files");
  import_cmd->add_option("FORMAT", format, "file format: kea (Kea memfile lease4 CSV)")->required()->check(formats);
  import_cmd->add_option("FILE", imp.files, "lease files, read in order (kea-leases4.csv.2 before kea-leases4.csv)")
      ->required();
  add_store_options(import_cmd, imp.store);
  import_cmd->add_flag("--merge", imp.merge, "keep the store's leases; a file lease replaces the store's on the same address");
  import_cmd->add_flag("--skip-bad", imp.skip_bad, "import the good rows even when some are bad (still exit 1)");
  import_cmd->add_flag("-n,--dry-run", imp.dry_run, "check and count, write nothing");
  import_cmd->add_option("--now", imp.now, "Unix time that decides which leases are active (default: the clock)")
      ->type_name("SECONDS");
  import_cmd->footer(kFooter);

  leases::ExportOptions exp;
  CLI::App* export_cmd = app.add_subcommand("export", "write the store's leases as a Kea lease4 CSV file");
  export_cmd->add_option("FORMAT", format, "file format: kea (Kea memfile lease4 CSV)")->required()->check(formats);
  add_store_options(export_cmd, exp.store);
  export_cmd->add_option("-o,--output", exp.output, "write FILE (atomically) instead of stdout")->type_name("FILE");
  export_cmd->footer(kFooter);

  leases::ListOptions lst;
  CLI::App* list_cmd = app.add_subcommand(
      "list", "print the store's leases: address, hw address, client-id, state, expires (UTC), hostname");
  add_store_options(list_cmd, lst.store);
  list_cmd->add_option("--now", lst.now, "Unix time that decides active/expired (default: the clock)")
      ->type_name("SECONDS");
  list_cmd->footer(kFooter);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? leases::kExitOk : leases::kExitUsage;   // --help/--version are 0
  }
  if (*import_cmd) return leases::run_import(imp);
  if (*export_cmd) return leases::run_export(exp);
  return leases::run_list(lst);
}
