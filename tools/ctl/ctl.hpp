// doradoctl's pure parts: command line -> request JSON, answer -> text, and
// the socket exchange. main.cpp wires them; tests call them directly.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dorado::ctl {

using Json = nlohmann::json;

inline constexpr const char* kDefaultSocket = "/run/dorado/dorado.sock";

// Exit statuses.
inline constexpr int kExitOk = 0;            // result 0
inline constexpr int kExitAnswer = 1;        // the server answered with another result
inline constexpr int kExitUnreachable = 2;   // no server, or bad usage

struct CommandHelp {
  const char* name;
  const char* args;
  const char* help;
};
// The API's commands, for --help (the server's own list: list-commands).
const std::vector<CommandHelp>& command_help();

struct Cli {
  std::string socket = kDefaultSocket;
  bool json = false;
  bool help = false;
  double timeout_s = 10;
  std::string command;
  Json arguments = Json::object();
};

struct CliResult {
  std::optional<Cli> cli;
  std::string error;   // bad usage: what is wrong
};

// argv without argv[0]. key=value: an integer if all digits, true/false a
// boolean, otherwise a string; key:=JSON takes any JSON value as written.
CliResult parse_cli(const std::vector<std::string>& args);

// {"command": ..., "arguments": {...}} (arguments only when there are some).
std::string request_text(const Cli& cli);

// The human form of an answer: the text, then leases as a table, trace
// records as lines (trace_line), statistics as name/value lines, other
// arguments as indented JSON.
std::string format_answer(const Json& answer);

// One trace-get record as a line: time, worker, message type, xid, client,
// its addresses, the subnet and how it was chosen, then the outcome (OFFER
// or ACK with the address, its pool and lease time, NAK with its reason, the
// reply's destination; the drop reason; silence and why).
std::string trace_line(const Json& record);

// Exit status for an answer.
int exit_code(const Json& answer);

struct Exchange {
  bool reached = false;   // connected and sent
  std::string answer;     // what came back (until EOF)
  std::string error;      // when !reached or the answer is incomplete
};
// Connects to the Unix socket, sends the request, half-closes, reads the
// answer until EOF or `timeout_s`.
Exchange exchange(const std::string& socket, const std::string& request, double timeout_s);

}  // namespace dorado::ctl
