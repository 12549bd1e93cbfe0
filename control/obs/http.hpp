// The metrics endpoint: a minimal HTTP/1.1 server for GET /metrics.
//
// parse_request() and respond() are pure functions over bytes (fuzzed by
// tests/fuzz/http_fuzz.cpp). MetricsServer runs them on its own thread:
// a non-blocking listening socket, at most kMaxConnections clients at once
// (more wait in the kernel's backlog), kMaxRequest bytes of request head,
// kTimeout to send a request and read the answer, one request per
// connection ("Connection: close"). It never touches the control loop: the
// page comes from a callback that reads the latest published snapshot.
//
// Threads: start() and stop() from the control thread; the page callback
// runs on the server's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace dorado::obs {

inline constexpr std::size_t kMaxRequest = 8192;   // request line + headers
inline constexpr unsigned kMaxConnections = 8;
inline constexpr std::chrono::milliseconds kTimeout{5000};

enum class ParseStatus : std::uint8_t {
  complete,     // a whole request head was read
  incomplete,   // need more bytes
  bad,          // not an HTTP/1.x request: 400
  too_large,    // head over the limit: 431
};

struct HttpRequest {
  ParseStatus status = ParseStatus::incomplete;
  std::string_view method;    // point into the parsed buffer
  std::string_view target;    // "/metrics?x=1"
  std::string_view version;   // "HTTP/1.1"
  std::size_t head_bytes = 0; // through the blank line
};

// Parses a request head from the bytes received so far. Lines end in CRLF
// (a bare LF is accepted); headers are checked for shape (name: value) and
// otherwise ignored, as is any body. Pure, no allocation.
HttpRequest parse_request(std::string_view bytes, std::size_t max = kMaxRequest) noexcept;

// The full response (status line, headers, body) for a parsed request:
// GET or HEAD /metrics -> 200 with page() (text/plain; version=0.0.4);
// another method on /metrics -> 405; any other path -> 404; bad -> 400;
// too large -> 431. page() is called only for a 200.
std::string respond(const HttpRequest& r, const std::function<std::string()>& page);
// A response for a status without a request (408 on timeout, 503 when busy).
std::string simple_response(int status, std::string_view body);

// "127.0.0.1:9167" -> address (host byte order) and port. False if malformed
// (IPv4 dotted quad, port 1..65535).
struct ListenAddress {
  std::uint32_t ip = 0;
  std::uint16_t port = 0;
};
bool parse_listen_address(std::string_view text, ListenAddress& out) noexcept;

class MetricsServer {
 public:
  MetricsServer() = default;
  ~MetricsServer();   // stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds and starts the thread. Returns "" or an error ("127.0.0.1:9167:
  // bind: Address already in use"). `page` must stay valid until stop().
  std::string start(ListenAddress where, std::function<std::string()> page);
  // The port actually bound (when started with port 0, for tests).
  std::uint16_t port() const noexcept { return port_; }
  void stop();
  // Requests answered (any status), for tests.
  std::uint64_t served() const noexcept { return served_.load(std::memory_order_relaxed); }

 private:
  void run();
  int listen_fd_ = -1;
  int wake_fd_ = -1;   // eventfd: stop()
  std::uint16_t port_ = 0;
  std::function<std::string()> page_;
  std::thread thread_;
  std::atomic<std::uint64_t> served_{0};
};

}  // namespace dorado::obs
