// The control socket: a Unix stream socket serving the command table, Kea
// style: the client connects, writes one JSON request (the server reads
// until the bytes form a complete JSON document, or until EOF), the server
// answers with one JSON document (and a newline) and closes.
//
// Threads: the control thread only. poll() never blocks: one poll(2) with a
// zero timeout over the listener and the open connections, then the
// non-blocking reads, writes and accepts that are ready; the daemon calls it
// every housekeeping tick, so a slow or stuck client costs nothing but its
// slot (at most max_connections; each is closed after timeout_ms).
// Answers may come later than the request (Reply from commands.hpp); a
// connection waits for its answer with the same deadline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/commands.hpp"

namespace dorado::api {

struct ServerOptions {
  std::string path;                   // [control] socket
  unsigned mode = 0600;               // file mode of the socket
  unsigned max_connections = 16;      // more wait in the listen backlog
  std::size_t max_request = kMaxRequestBytes;
  std::uint64_t timeout_ms = 10000;   // a connection's whole life
};

struct ServerCounters {
  std::uint64_t connections = 0;
  std::uint64_t requests = 0;        // answered (any result)
  std::uint64_t errors = 0;          // answered with result 1 (bad input included)
  std::uint64_t timeouts = 0;        // closed at the deadline
  std::uint64_t too_large = 0;
};

class Server {
 public:
  struct Opened {
    std::unique_ptr<Server> server;
    std::string error;   // "control socket /run/dorado/dorado.sock: bind: Permission denied"
  };
  // Creates the socket's directory if missing (mode 0755, one level), removes
  // a stale socket file (one nobody listens on; a live one is an error:
  // another dorado runs there), binds with `mode`, listens.
  static Opened open(const ServerOptions& options, const CommandTable& table);
  ~Server();   // closes every connection and removes the socket file
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Accepts, reads, dispatches, writes what is ready now; `now_ms` is a
  // monotonic clock for the deadlines.
  void poll(std::uint64_t now_ms);
  const ServerCounters& counters() const noexcept;
  unsigned open_connections() const noexcept;
  const std::string& path() const noexcept;

 private:
  struct Core;
  explicit Server(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

}  // namespace dorado::api
