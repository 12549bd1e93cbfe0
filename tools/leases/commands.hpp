// dorado-leases subcommands: each reads/writes the store (offline, through
// store::read_store / store::write_store) and returns the process exit status.
// Messages go to stderr prefixed "dorado-leases: "; data to stdout or -o.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dorado::leases {

inline constexpr int kExitOk = 0;
inline constexpr int kExitData = 1;    // bad rows, conflicts
inline constexpr int kExitUsage = 2;   // bad usage, unreadable files, store locked or unusable

inline constexpr const char* kDefaultStoreDir = "/var/lib/dorado";   // = config [store] dir default
inline constexpr std::size_t kMaxErrorsShown = 20;

struct StoreChoice {
  std::string dir;      // --store
  std::string config;   // -c: take [store] dir from this dorado config
};

struct ImportOptions {
  StoreChoice store;
  std::vector<std::string> files;
  bool merge = false;
  bool skip_bad = false;
  bool dry_run = false;
  std::optional<std::uint32_t> now;   // default: the clock
};

struct ExportOptions {
  StoreChoice store;
  std::string output;   // empty: stdout
};

struct ListOptions {
  StoreChoice store;
  std::optional<std::uint32_t> now;
};

int run_import(const ImportOptions& options);
int run_export(const ExportOptions& options);
int run_list(const ListOptions& options);

}  // namespace dorado::leases
