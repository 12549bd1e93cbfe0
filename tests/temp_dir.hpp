// A fresh directory under the system's temporary directory for one test,
// removed with everything in it when the test ends (files a test made
// unreadable are made readable again first). Shared by the tests that need
// real files (stores, configs with key files, HA and DDNS state).
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace dorado::test_support {

class TempDir {
 public:
  // `prefix` names the directory: <tmp>/<prefix>-XXXXXX.
  explicit TempDir(const std::string& prefix = "dorado-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(path_, ec)) ::chmod(e.path().c_str(), 0600);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // The path of `name` inside it.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  // Writes `text` to `name` inside it; returns its path.
  std::string file(const std::string& name, const std::string& text) const {
    const std::string p = *this / name;
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::string path_;
};

}  // namespace dorado::test_support
