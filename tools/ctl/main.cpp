// doradoctl: the command line client of dorado's control socket.
//
//   doradoctl [-s SOCKET] [--json] [-t SECONDS] COMMAND [key=value | key:=JSON ...]
//
// Exit status: 0 the server answered with result 0; 1 it answered with
// another result (error, unsupported, not found); 2 it could not be reached
// (or bad usage), with a message on stderr.
#include <cstdio>
#include <string>
#include <vector>

#include "ctl/ctl.hpp"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: doradoctl [-s SOCKET] [--json] [-t SECONDS] COMMAND [key=value | key:=JSON ...]\n\n"
               "Sends one command to dorado's control socket (Kea's command names and\n"
               "arguments) and prints the answer: a table by default, the JSON answer with\n"
               "--json. key=value gives an integer when the value is all digits, a boolean\n"
               "for true/false, a string otherwise; key:=JSON gives any JSON value.\n\n"
               "  -s, --socket PATH   control socket (default %s; [control] socket)\n"
               "  -j, --json          print the raw JSON answer\n"
               "  -t, --timeout S     give up after S seconds (default 10)\n\n"
               "Exit status: 0 success, 1 the server answered with an error or nothing found,\n"
               "2 the server cannot be reached or bad usage.\n\nCommands:\n",
               dorado::ctl::kDefaultSocket);
  for (const auto& c : dorado::ctl::command_help())
    std::fprintf(out, "  %-26s %s\n  %-26s   %s\n", c.name, c.help, "", c.args[0] ? c.args : "(no arguments)");
  std::fprintf(out, "\nExample: doradoctl lease4-get-by-hw-address hw-address=02:00:00:00:00:01\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dorado::ctl;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const CliResult parsed = parse_cli(args);
  if (!parsed.cli) {
    std::fprintf(stderr, "doradoctl: %s\n", parsed.error.c_str());
    std::fprintf(stderr, "usage: doradoctl [-s SOCKET] [--json] COMMAND [key=value ...] (--help for more)\n");
    return kExitUnreachable;
  }
  const Cli& cli = *parsed.cli;
  if (cli.help) {
    usage(stdout);
    return kExitOk;
  }
  const Exchange x = exchange(cli.socket, request_text(cli), cli.timeout_s);
  if (!x.reached) {
    std::fprintf(stderr, "doradoctl: cannot reach dorado at %s: %s (is dorado running, and is this its [control] socket?)\n",
                 cli.socket.c_str(), x.error.c_str());
    return kExitUnreachable;
  }
  Json answer;
  try {
    answer = Json::parse(x.answer);
  } catch (const std::exception&) {
    std::fprintf(stderr, "doradoctl: %s: no valid answer%s%s\n", cli.socket.c_str(),
                 x.error.empty() ? "" : ": ", x.error.c_str());
    return kExitUnreachable;
  }
  if (cli.json)
    std::printf("%s\n", answer.dump().c_str());
  else
    std::fputs(format_answer(answer).c_str(), stdout);
  return exit_code(answer);
}
