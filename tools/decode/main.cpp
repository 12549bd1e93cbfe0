// dorado-decode FILE: one JSON line per DHCP packet of a pcap/pcapng capture.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "decode/capture.hpp"
#include "decode/json.hpp"

namespace {

constexpr int kExitUnreadable = 2;

struct Options {
  std::string file;
  bool summary = false;
  std::string extract_dir;
};

// Writes frame N of `stem` as DIR/<stem>-<N>.bin (fuzz seeds, reproductions).
void extract(const std::filesystem::path& dir, const std::string& stem,
             const dorado::decode::CapturedFrame& f) {
  const auto path = dir / (stem + "-" + std::to_string(f.number) + ".bin");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(f.data.data()), static_cast<std::streamsize>(f.data.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

int run(const Options& opt) {
  namespace decode = dorado::decode;
  decode::Totals totals;
  int rc = 0;
  try {
    decode::CaptureReader reader(opt.file);
    const std::string stem = std::filesystem::path(opt.file).stem().string();
    if (!opt.extract_dir.empty()) std::filesystem::create_directories(opt.extract_dir);
    while (auto frame = reader.next()) {
      if (!opt.extract_dir.empty()) extract(opt.extract_dir, stem, *frame);
      const decode::Decoded d = decode::decode_frame(*frame);
      totals.add(d.verdict);
      if (!d.json.is_null()) std::cout << decode::to_line(d.json) << '\n';
    }
  } catch (const decode::CaptureError& e) {
    std::cout.flush();
    std::cerr << "dorado-decode: " << e.what() << '\n';
    rc = kExitUnreadable;
  } catch (const std::exception& e) {  // --extract: filesystem errors
    std::cout.flush();
    std::cerr << "dorado-decode: " << e.what() << '\n';
    rc = 1;
  }
  std::cout.flush();
  if (opt.summary) std::cerr << "dorado-decode: " << decode::summary_line(opt.file, totals) << '\n';
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  CLI::App app{
      "Prints each DHCP packet of a pcap or pcapng capture as one JSON object per line,\n"
      "decoded by dorado's wire codec. Frames that are not DHCP are skipped (and counted);\n"
      "a packet the codec refuses prints {\"frame\":N,\"error\":NAME,\"detail\":TEXT[,\"option\":CODE]}.\n"
      "Link types: Ethernet, Linux cooked (SLL, SLL2), raw IP.",
      "dorado-decode"};
  Options opt;
  app.add_option("FILE", opt.file, "capture file (pcap or pcapng)")->required();
  app.add_flag("--summary", opt.summary, "print a totals line on stderr at the end");
  app.add_option("--extract", opt.extract_dir,
                 "also write each frame's bytes (as Ethernet) to DIR/<basename>-<N>.bin")
      ->type_name("DIR");
  app.set_version_flag("--version", "dorado-decode " DORADO_VERSION);
  app.footer("Exit status: 0 when the file was read, 2 when it could not be read or on bad usage.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUnreadable;  // --help/--version are 0
  }
  return run(opt);
}
