// The command table: name -> handler, one line per command. Parsing is
// done before (protocol.hpp); dispatch() looks the name up, answers
// "unsupported" (result 2) for an unknown one, and otherwise hands the
// request to its handler with a Reply to call exactly once, now or later
// (a lease command answers when every shard it asked has answered).
//
// Plugging in a command (config-reload, split-scope views, ...):
//   table.add("config-reload", "re-read the config file", [&](const Request& r, Reply done) {
//     done(api::success("Configuration reloaded."));
//   });
//
// Threads: the control thread only; handlers run on it and must not block
// (no disk sync, no waiting on workers: send a message and answer later).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "api/protocol.hpp"

namespace dorado::api {

// Delivers the answer; safe to call after the client went away (dropped).
using Reply = std::function<void(Answer)>;
using Handler = std::function<void(const Request&, Reply)>;

class CommandTable {
 public:
  CommandTable();   // registers list-commands
  // Adds or replaces a command.
  void add(std::string name, std::string help, Handler handler);
  void dispatch(const Request& request, Reply reply) const;
  // Names in alphabetical order, with their help lines.
  std::vector<std::pair<std::string, std::string>> list() const;
  bool has(const std::string& name) const { return commands_.count(name) != 0; }

 private:
  struct Command {
    std::string help;
    Handler handler;
  };
  std::map<std::string, Command> commands_;
};

// Parses one request text and dispatches it; bad input answers at once.
void handle_text(const CommandTable& table, std::string_view text, Reply reply);

}  // namespace dorado::api
