#include "api/commands.hpp"

#include <utility>

namespace dorado::api {

CommandTable::CommandTable() {
  add("list-commands", "the commands this server supports", [this](const Request& r, Reply done) {
    Args a(r.arguments);
    if (!a.finish()) return done(error_answer(a.error()));
    Json names = Json::array();
    for (const auto& [name, c] : commands_) names.push_back(name);
    done(success(std::to_string(names.size()) + " commands supported.", names));
  });
}

void CommandTable::add(std::string name, std::string help, Handler handler) {
  commands_[std::move(name)] = Command{std::move(help), std::move(handler)};
}

void CommandTable::dispatch(const Request& request, Reply reply) const {
  const auto it = commands_.find(request.command);
  if (it == commands_.end()) {
    reply(Answer{kUnsupported, "'" + request.command + "' command not supported.", std::nullopt});
    return;
  }
  // A handler that throws (a bug, or std::bad_alloc) must not take the
  // server down; the client gets an error (a Reply answers once: a second
  // call is ignored by the server).
  const Reply spare = reply;
  try {
    it->second.handler(request, std::move(reply));
  } catch (const std::exception& e) {
    spare(error_answer(std::string("internal error in '") + request.command + "': " + e.what()));
  }
}

std::vector<std::pair<std::string, std::string>> CommandTable::list() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, c] : commands_) out.emplace_back(name, c.help);
  return out;
}

void handle_text(const CommandTable& table, std::string_view text, Reply reply) {
  Parsed p = parse_request(text);
  if (!p.request) return reply(std::move(p.error));
  table.dispatch(*p.request, std::move(reply));
}

}  // namespace dorado::api
