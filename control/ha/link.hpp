// The HA link's transport: one TCP stream between the two servers of a pair,
// with mutual TLS (OpenSSL) or, for a lab, plain TCP (insecure = true).
// Byte streams only; the codec (protocol.hpp) frames what travels on them.
//
// Nothing here blocks. connect() starts a non-blocking connect; poll()
// moves a connection on (connect, TLS handshake, reading into the input
// buffer, writing the output buffer) as far as the socket allows without
// waiting, and returns. The caller polls every connection and the listener
// periodically (every 0.2 to 1 ms), and may wait on fd() with poll(2) for
// poll_events() in between.
//
// Authentication (TLS): both ends present a certificate signed by the
// configured CA and both verify the other's: the accepting end requires one
// (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT), TLS 1.2 or later.
// With an expected peer name the certificate's CN or one of its SAN DNS
// names must equal it (no wildcards). A peer that fails is closed with
// failure() == Failure::auth and an error such as "TLS handshake with
// 10.98.0.2:51234 failed: certificate verify failed (unable to get local
// issuer certificate)"; input() only ever holds bytes received after the
// handshake succeeded, so nothing an unauthenticated peer sent is exposed.
// With TLS 1.3 the connecting end finishes its handshake before the
// accepting end has checked its certificate: a rejected client sees the
// server's alert ("tlsv1 alert unknown ca") as an error on the open
// connection, shortly after.
// Certificates serve both roles (each server connects and accepts), so an
// extendedKeyUsage, when present, must list serverAuth and clientAuth.
//
// Threads: everything belongs to one thread (the control thread). The
// OpenSSL error queue is per thread; the functions here clear it.
// Signals: no call here raises SIGPIPE (send with MSG_NOSIGNAL, TLS through
// a BIO of our own that does the same).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct ssl_st;       // OpenSSL's SSL
struct ssl_ctx_st;   // OpenSSL's SSL_CTX

namespace dorado::ha {

// An HA endpoint: an IPv4 literal and a port (no names: resolving one could
// block the control thread).
struct Endpoint {
  std::string host;          // "10.98.0.1"
  std::uint16_t port = 0;
};
// "10.98.0.1:8647". nullopt with *error set (when error is not null):
// "HA endpoint '10.98.0.1': expected IPv4-address:port, e.g. 10.98.0.1:8647".
// Port 0 is refused (listeners in tests pass Endpoint{"127.0.0.1", 0}
// directly for an ephemeral port).
std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* error);
std::string to_string(const Endpoint& endpoint);   // "10.98.0.1:8647"

// What TlsContext::create and Listener::open return: the value, or why not.
template <class T>
struct LinkResult {
  std::optional<T> value;
  std::string error;   // set when !value
  bool ok() const noexcept { return value.has_value(); }
};

struct TlsSettings {
  bool insecure = false;   // plain TCP, no authentication (labs only)
  std::string ca;          // PEM file: the CA that signs both servers' certificates
  std::string cert;        // PEM file: this server's certificate (chain allowed)
  std::string key;         // PEM file: its private key
};

// One OpenSSL context built from the settings' files, for both roles
// (connecting and accepting). Copies share it (reference counted);
// connections keep it alive, so it may go before them.
class TlsContext {
 public:
  // insecure = true gives a context for plain TCP (ca, cert and key ignored);
  // otherwise all three files are required and must load, and the key must
  // match the certificate. Errors name the setting, the file and the reason:
  // "HA TLS cert /etc/dorado/a.pem: No such file or directory".
  static LinkResult<TlsContext> create(const TlsSettings& settings);

  TlsContext(const TlsContext& other) noexcept;
  TlsContext& operator=(const TlsContext& other) noexcept;
  TlsContext(TlsContext&& other) noexcept;
  TlsContext& operator=(TlsContext&& other) noexcept;
  ~TlsContext();

  bool insecure() const noexcept { return ctx_ == nullptr; }
  ssl_ctx_st* native() const noexcept { return ctx_; }

 private:
  explicit TlsContext(ssl_ctx_st* ctx) noexcept : ctx_(ctx) {}
  ssl_ctx_st* ctx_ = nullptr;   // nullptr: insecure
};

// Per connection (connect() takes them; a Listener gives them to each
// connection it accepts).
struct LinkOptions {
  // TLS: the peer certificate's CN or one of its SAN DNS names must equal
  // this ("dhcp-b"); empty: any certificate the CA signed. Ignored insecure.
  std::string expected_peer_name;
  // A connection not open this long after connect()/accept() (TCP connect
  // plus TLS handshake) is closed with Failure::timeout.
  std::chrono::milliseconds handshake_timeout{5000};
  // Reading stops while input() holds this many bytes (back pressure: the
  // peer's writes then stall); consume() lets it go on.
  std::size_t input_cap = std::size_t{8} << 20;
  // send() refuses bytes that would take pending_output() above this.
  std::size_t output_cap = std::size_t{64} << 20;
  // SO_SNDBUF and SO_RCVBUF of the socket, in bytes (the kernel doubles
  // them); 0: the kernel's defaults and autotuning.
  int socket_buffer = 0;
  // connect(): bind the socket to this IPv4 source address first, so the
  // partner sees the address it expects ("" = the kernel's choice).
  std::string bind_address;
};

// One TCP (+TLS) stream, either end.
class Connection {
 public:
  enum class State { connecting, handshaking, open, closed };
  // Why a connection closed.
  enum class Failure {
    none,      // not closed, or closed by close()
    connect,   // the TCP connect failed (refused, unreachable, bind_address)
    timeout,   // not open within handshake_timeout
    auth,      // this end refused the peer: no certificate, not signed by
               // the CA, expired, name mismatch (count these)
    tls,       // another TLS failure, including the peer's alert when it
               // refused this end's certificate, and a plain-TCP peer
    io,        // a read or write failed (reset, ...)
    eof,       // the peer closed the stream
  };

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  State state() const noexcept { return state_; }
  bool is_open() const noexcept { return state_ == State::open; }
  bool is_closed() const noexcept { return state_ == State::closed; }
  Failure failure() const noexcept { return failure_; }
  bool auth_failed() const noexcept { return failure_ == Failure::auth; }
  // Why it closed: "connect to 10.98.0.2:8647 failed: Connection refused",
  // "TLS handshake with 10.98.0.2:51234 failed: certificate verify failed
  // (...)", "10.98.0.2:8647 closed the connection", or close()'s reason.
  const std::string& error() const noexcept { return error_; }

  int fd() const noexcept { return fd_; }   // -1 once closed
  // What to wait for on fd() with poll(2): POLLIN and/or POLLOUT (0 once
  // closed). A TLS connection may hold decrypted bytes the socket no longer
  // signals: poll() at the caller's period regardless.
  short poll_events() const noexcept;

  // Moves the connection on as far as it goes without blocking: finishes
  // the connect, runs the handshake, reads into input() (up to input_cap),
  // writes pending output. Returns true when something changed (state,
  // bytes in or out).
  bool poll();
  // Writes pending output only (poll() does this too).
  void flush();

  // Bytes received and not consumed yet (only after the handshake; stays
  // readable after the connection closed).
  std::span<const std::uint8_t> input() const noexcept {
    return {in_.data + in_.head, in_.tail - in_.head};
  }
  void consume(std::size_t n) noexcept;

  // Appends all of `bytes` to the output buffer, or nothing and false when
  // that would take pending_output() above output_cap (back off and retry)
  // or the connection is closed. May be called while connecting or
  // handshaking; the bytes leave once the connection is open.
  bool send(std::span<const std::uint8_t> bytes);
  std::size_t pending_output() const noexcept { return out_.tail - out_.head; }

  // TLS: the peer certificate's subject CN once open ("dhcp-b"), "" otherwise.
  const std::string& peer_name() const noexcept { return peer_name_; }
  // "10.98.0.2:51234": the endpoint connected to, or the accepted peer's.
  const std::string& peer_address() const noexcept { return peer_address_; }
  bool tls() const noexcept { return tls_; }
  // Sets or replaces the expected peer name (LinkOptions). Only before the
  // handshake starts (before the first poll() of an accepted connection, or
  // while connecting): false otherwise.
  bool set_expected_peer_name(std::string name);

  // Closes now (a TLS close_notify is attempted, without waiting; pending
  // output is dropped: wait for pending_output() == 0 first to deliver it).
  // error() becomes `reason` unless already closed; failure() is kept.
  void close(std::string reason);

  // Internal (the TLS BIO and the verify callback use them).
  struct Detail;

 private:
  friend struct Detail;
  Connection(int fd, State state, std::string peer_address, const LinkOptions& options);
  friend std::unique_ptr<Connection> connect(const Endpoint&, const TlsContext*, const LinkOptions&);
  friend class Listener;

  struct Buffer {   // bytes [head, tail) of data[0, capacity)
    std::uint8_t* data = nullptr;
    std::size_t head = 0, tail = 0, capacity = 0;
    ~Buffer() { delete[] data; }
    // Room for at least `n` bytes after tail (moves or grows).
    void reserve_tail(std::size_t n);
    void clear() noexcept { head = tail = 0; }
    void release() noexcept { delete[] data; data = nullptr; head = tail = capacity = 0; }
  };

  void fail(Failure failure, std::string error);
  bool finish_connect();
  bool handshake();
  bool read_some();
  bool write_some();
  std::string tls_failure_text(int ssl_error, int saved_errno);

  int fd_ = -1;
  ssl_st* ssl_ = nullptr;      // freed once closed
  bool tls_ = false;
  bool bio_eof_ = false;       // the TLS BIO's recv saw the peer's FIN
  State state_;
  Failure failure_ = Failure::none;
  bool handshake_started_ = false;
  bool want_write_ = false;   // the last TLS call needs the socket writable
  std::string error_;
  std::string peer_address_;
  std::string peer_name_;
  std::string expected_peer_name_;
  std::string presented_name_;   // CN of the certificate the peer presented (even if refused)
  std::chrono::milliseconds handshake_timeout_;
  std::chrono::steady_clock::time_point deadline_;   // for connect + handshake
  std::size_t input_cap_;
  std::size_t output_cap_;
  Buffer in_, out_;
};

// Starts a non-blocking connect to `to`. tls null or insecure: plain TCP.
// Never null: a connection that could not even start (bad bind_address,
// refused at once) comes back closed with failure() and error() set.
std::unique_ptr<Connection> connect(const Endpoint& to, const TlsContext* tls,
                                    const LinkOptions& options = {});

// A listening TCP socket (SO_REUSEADDR, bound to the endpoint's address).
class Listener {
 public:
  // tls null or insecure: accepted connections are plain TCP. `options`
  // apply to every accepted connection (bind_address is not used).
  // Error: "HA listen 10.98.0.1:8647: bind: Address already in use".
  static LinkResult<Listener> open(const Endpoint& at, const TlsContext* tls, const LinkOptions& options = {},
                     int backlog = 16);

  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();

  // The next pending connection (handshaking with TLS, else open), or
  // nullptr when none is waiting. Errors other than "none waiting"
  // (EMFILE, ...) also give nullptr and are kept in last_error().
  std::unique_ptr<Connection> accept();
  int fd() const noexcept { return fd_; }
  Endpoint local() const;   // the bound address and port (port 0 resolved)
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  Listener(int fd, std::optional<TlsContext> tls, const LinkOptions& options) noexcept;
  int fd_ = -1;
  std::optional<TlsContext> tls_;   // nullopt or insecure: plain
  LinkOptions options_;
  std::string last_error_;
};

}  // namespace dorado::ha
