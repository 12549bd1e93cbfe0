// Splits a DPDK-style command line, "PROGRAM [EAL args] -- [app args]": what
// precedes the first "--" goes to rte_eal_init, what follows to the program's
// own parser. Without "--" every argument is the program's. Header-only and
// free of DPDK, so tools with their own DPDK layer (dorado-gen) share it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dorado::runtime {

struct SplitArgs {
  std::vector<std::string> eal;
  std::vector<std::string> app;
};

inline SplitArgs split_eal_args(int argc, char** argv) {
  SplitArgs r;
  int split = -1;
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--") {
      split = i;
      break;
    }
  for (int i = 1; i < argc; ++i) {
    if (split < 0 || i > split) r.app.emplace_back(argv[i]);
    else if (i < split) r.eal.emplace_back(argv[i]);
  }
  return r;
}

}  // namespace dorado::runtime
