#include "leases/commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "config/config.hpp"
#include "leases/kea_csv.hpp"
#include "leases/migrate.hpp"
#include "store/store.hpp"

namespace dorado::leases {

namespace {

namespace fs = std::filesystem;

void say(const std::string& message) { std::cerr << "dorado-leases: " << message << '\n'; }

std::uint32_t clock_now() { return static_cast<std::uint32_t>(std::time(nullptr)); }

// The store directory, or an error already reported (exit 2).
std::optional<std::string> store_dir(const StoreChoice& choice) {
  if (!choice.config.empty()) {
    const config::LoadResult loaded = config::load_config_file(choice.config);
    if (!loaded.ok()) {
      for (const config::ConfigError& e : loaded.errors) say(e.to_string());
      say("cannot take the store directory from " + choice.config);
      return std::nullopt;
    }
    return loaded.config->store.dir;
  }
  return choice.dir.empty() ? std::string(kDefaultStoreDir) : choice.dir;
}

// The store's own message, plus what to do when dorado holds the lock.
void store_error(const std::string& error) {
  say(error);
  if (error.find("lock") != std::string::npos)
    say("the store is locked while dorado runs: stop dorado first, then retry");
}

struct Loaded {
  std::vector<StoredLease> leases;
  bool ok = false;
};

Loaded load_store(const std::string& dir) {
  Loaded r;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    say("no store at " + dir + ": " + (ec ? ec.message() : std::string("not a directory")) +
        " (give --store DIR or -c CONFIG)");
    return r;
  }
  const std::string error =
      store::read_store(dir, [&](const store::StoredLease& l) { r.leases.push_back(l); });
  if (!error.empty()) {
    store_error(error);
    return r;
  }
  r.ok = true;
  return r;
}

std::string where(const std::vector<std::string>& files, const Origin& o) {
  if (o.from_store) return "store";
  return files[o.at.file] + ":" + std::to_string(o.at.line);
}

struct Tally {
  std::uint64_t active = 0, declined = 0, inactive = 0;
};

Tally tally(const std::vector<StoredLease>& leases, std::uint32_t now) {
  Tally t;
  for (const StoredLease& l : leases) {
    if (is_active(l, now)) ++t.active;
    else if (l.op == engine::LeaseOp::decline && l.expires > now) ++t.declined;
    else ++t.inactive;
  }
  return t;
}

}  // namespace

int run_import(const ImportOptions& opt) {
  const auto dir = store_dir(opt.store);
  if (!dir) return kExitUsage;
  const std::uint32_t now = opt.now.value_or(clock_now());

  std::vector<LocatedRow> rows;
  std::vector<LocatedError> errors;
  for (std::uint32_t i = 0; i < opt.files.size(); ++i) {
    std::ifstream in(opt.files[i], std::ios::binary);
    if (!in) {
      say("cannot open " + opt.files[i] + ": " + std::strerror(errno));
      return kExitUsage;
    }
    KeaFile file = read_kea_csv(in, i);
    if (in.bad()) {
      say("cannot read " + opt.files[i] + ": " + std::strerror(errno));
      return kExitUsage;
    }
    std::move(file.rows.begin(), file.rows.end(), std::back_inserter(rows));
    std::move(file.errors.begin(), file.errors.end(), std::back_inserter(errors));
  }

  Loaded existing;
  if (opt.merge) {
    existing = load_store(*dir);
    if (!existing.ok) return kExitUsage;
  }
  ImportResult result = build_import(rows, opt.merge ? &existing.leases : nullptr, now);
  std::move(result.errors.begin(), result.errors.end(), std::back_inserter(errors));
  std::sort(errors.begin(), errors.end(), [](const LocatedError& a, const LocatedError& b) {
    return std::make_pair(a.at.file, a.at.line) < std::make_pair(b.at.file, b.at.line);
  });

  for (std::size_t i = 0; i < errors.size() && i < kMaxErrorsShown; ++i)
    say(opt.files[errors[i].at.file] + ":" + std::to_string(errors[i].at.line) + ": " + errors[i].message);
  if (errors.size() > kMaxErrorsShown) say("... and " + std::to_string(errors.size() - kMaxErrorsShown) + " more");
  for (std::size_t i = 0; i < result.conflicts.size() && i < kMaxErrorsShown; ++i) {
    const ImportConflict& c = result.conflicts[i];
    say(where(opt.files, c.first) + " and " + where(opt.files, c.second) + ": " + c.message);
  }
  if (result.conflicts.size() > kMaxErrorsShown)
    say("... and " + std::to_string(result.conflicts.size() - kMaxErrorsShown) + " more conflicts");

  const bool refused = !result.conflicts.empty() || (!errors.empty() && !opt.skip_bad);
  if (!errors.empty()) say(std::to_string(errors.size()) + " bad row(s)");
  if (!result.conflicts.empty()) say(std::to_string(result.conflicts.size()) + " conflict(s)");
  if (refused) {
    say(std::string("nothing imported, ") + *dir + " unchanged" +
        (result.conflicts.empty() ? " (--skip-bad imports the good rows)" : ""));
    return kExitData;
  }

  const Tally t = tally(result.leases, now);
  std::ostringstream summary;
  summary << (opt.dry_run ? "would import " : "imported ") << result.leases.size() << " leases ("
          << t.active << " active, " << t.declined << " declined, " << t.inactive << " inactive) from "
          << result.rows << " rows into " << *dir << "; " << result.replaced << " rows replaced by later rows, "
          << result.deleted << " deleted";
  if (opt.merge)
    summary << "; merged: " << result.kept_from_store << " store leases kept, " << result.replaced_in_store
            << " replaced";
  if (result.stale_dropped != 0) summary << "; " << result.stale_dropped << " older leases of clients with a newer one dropped";
  if (result.notes.hostname_truncated != 0)
    summary << "; " << result.notes.hostname_truncated << " hostnames truncated to 63 bytes";
  if (result.notes.hwaddr_dropped != 0)
    summary << "; " << result.notes.hwaddr_dropped << " hwaddrs of a length other than 6 dropped (client-id leases)";
  if (result.notes.hostname_dropped != 0)
    summary << "; " << result.notes.hostname_dropped << " hostnames of declined/reclaimed leases dropped";

  if (!opt.dry_run) {
    std::error_code ec;
    if (!fs::exists(*dir, ec)) {
      fs::create_directories(*dir, ec);
      if (!ec) fs::permissions(*dir, fs::perms::owner_all, ec);
      if (ec) {
        say("cannot create " + *dir + ": " + ec.message());
        return kExitUsage;
      }
    }
    const std::string error = store::write_store(*dir, result.leases);
    if (!error.empty()) {
      store_error(error);
      say("nothing imported");
      return kExitUsage;
    }
  }
  say(summary.str());
  return errors.empty() ? kExitOk : kExitData;
}

int run_export(const ExportOptions& opt) {
  const auto dir = store_dir(opt.store);
  if (!dir) return kExitUsage;
  Loaded loaded = load_store(*dir);
  if (!loaded.ok) return kExitUsage;
  const std::size_t total = loaded.leases.size();
  const std::vector<KeaRow> rows = export_rows(std::move(loaded.leases));

  std::string text;
  text.reserve(rows.size() * 96 + 128);
  text += kKeaLease4Header;
  text += '\n';
  for (const KeaRow& row : rows) {
    text += format_kea_row(row);
    text += '\n';
  }

  if (opt.output.empty() || opt.output == "-") {
    std::cout << text;
    std::cout.flush();
    if (!std::cout) {
      say("cannot write to stdout");
      return kExitUsage;
    }
  } else {
    // Whole file or nothing: a temporary beside it, renamed over it.
    const std::string tmp = opt.output + ".tmp-" + std::to_string(::getpid());
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    bool ok = f != nullptr && std::fwrite(text.data(), 1, text.size(), f) == text.size() &&
              std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    const int err = errno;
    if (f != nullptr && std::fclose(f) != 0) ok = false;
    if (!ok || std::rename(tmp.c_str(), opt.output.c_str()) != 0) {
      say("cannot write " + opt.output + ": " + std::strerror(ok ? errno : err));
      std::remove(tmp.c_str());
      return kExitUsage;
    }
  }
  say("exported " + std::to_string(rows.size()) + " leases from " + *dir +
      (total != rows.size() ? " (" + std::to_string(total - rows.size()) +
                                  " records with no Kea equivalent left out: reclaimed or probation over)"
                            : std::string()));
  return kExitOk;
}

int run_list(const ListOptions& opt) {
  const auto dir = store_dir(opt.store);
  if (!dir) return kExitUsage;
  Loaded loaded = load_store(*dir);
  if (!loaded.ok) return kExitUsage;
  const std::uint32_t now = opt.now.value_or(clock_now());
  const Tally t = tally(loaded.leases, now);
  const std::size_t total = loaded.leases.size();
  std::cout << format_table(std::move(loaded.leases), now);
  std::cout.flush();
  say(std::to_string(total) + " leases in " + *dir + " (" + std::to_string(t.active) + " active, " +
      std::to_string(t.declined) + " declined, " + std::to_string(t.inactive) + " inactive)");
  return kExitOk;
}

}  // namespace dorado::leases
