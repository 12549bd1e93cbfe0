// Reading packet captures (pcap and pcapng, through libpcap) as Ethernet
// frames for wire::parse_frame.
//
// Contract: tool code, not the packet path. CaptureReader owns its libpcap
// handle; one thread at a time. Errors are thrown as CaptureError with a
// message that names the file. Linux cooked captures (SLL, SLL2) and raw IP
// captures are rewritten into Ethernet frames (see to_ethernet), so everything
// downstream sees one link type.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "wire/bytes.hpp"

struct pcap;  // libpcap's pcap_t, kept out of this header

namespace dorado::decode {

class CaptureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Link types dorado-decode understands (libpcap DLT_* values in capture.cpp).
enum class LinkType : std::uint8_t { ethernet, linux_sll, linux_sll2, raw_ip };

// The LinkType for a libpcap DLT value; nullopt for anything else.
std::optional<LinkType> link_type_from_dlt(int dlt) noexcept;

// Rewrites one captured frame of `link` into an Ethernet II frame:
// Ethernet is copied as is; SLL/SLL2 keep their protocol as the ethertype,
// the source address as source MAC (when it is 6 bytes) and broadcast as
// destination for broadcast packets (else 00:00:00:00:00:00); raw IP gets a
// zero-MAC header with ethertype IPv4 or IPv6 from the version nibble.
// A frame too short for its link header comes back empty (parse_frame then
// reports eth_truncated).
std::vector<std::uint8_t> to_ethernet(LinkType link, wire::Bytes frame);

struct CapturedFrame {
  std::uint64_t number = 0;        // 1-based position in the file, as tcpdump counts
  std::int64_t ts_sec = 0;         // UTC seconds since the epoch
  std::int32_t ts_usec = 0;        // 0..999999
  std::uint32_t wire_length = 0;   // length on the wire (>= captured bytes)
  std::uint32_t captured_length = 0;  // bytes in the capture, before to_ethernet
  std::vector<std::uint8_t> data;  // the Ethernet frame (see to_ethernet)
};

class CaptureReader {
 public:
  // Opens a pcap or pcapng file. Throws CaptureError when it cannot be read
  // or its link type is not one of LinkType.
  explicit CaptureReader(const std::string& path);
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  LinkType link_type() const noexcept { return link_; }
  // The next frame, or nullopt at the end of the file. Throws CaptureError
  // on a damaged or truncated file (frames before it were returned).
  std::optional<CapturedFrame> next();

 private:
  struct Closer {
    void operator()(pcap* p) const noexcept;
  };
  std::string path_;
  std::unique_ptr<pcap, Closer> handle_;
  LinkType link_ = LinkType::ethernet;
  std::uint64_t count_ = 0;
};

// Every frame of a capture (tests and small files).
std::vector<CapturedFrame> read_capture(const std::string& path);

}  // namespace dorado::decode
