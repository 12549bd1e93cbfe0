#include "decode/capture.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <array>

#include "wire/frame.hpp"

namespace dorado::decode {
namespace {

constexpr std::size_t kEthHeader = 14;
constexpr std::size_t kSllHeader = 16;
constexpr std::size_t kSll2Header = 20;
constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr std::uint8_t kSllBroadcast = 1;  // packet type "sent to us by somebody else, broadcast"

// An Ethernet header in front of `payload`.
std::vector<std::uint8_t> with_ethernet_header(const wire::MacAddr& dst, const wire::MacAddr& src,
                                               std::uint16_t ethertype, wire::Bytes payload) {
  std::vector<std::uint8_t> out(kEthHeader + payload.size());
  std::copy(dst.b.begin(), dst.b.end(), out.begin());
  std::copy(src.b.begin(), src.b.end(), out.begin() + 6);
  wire::store_be16(out.data() + 12, ethertype);
  std::copy(payload.begin(), payload.end(), out.begin() + kEthHeader);
  return out;
}

// Cooked headers: packet type, address length and address, protocol.
std::vector<std::uint8_t> from_cooked(std::uint8_t packet_type, std::size_t addr_len,
                                      const std::uint8_t* addr, std::uint16_t protocol,
                                      wire::Bytes payload) {
  const wire::MacAddr dst = packet_type == kSllBroadcast ? wire::MacAddr::broadcast() : wire::MacAddr{};
  const wire::MacAddr src = addr_len == 6 ? wire::load_mac(addr) : wire::MacAddr{};
  return with_ethernet_header(dst, src, protocol, payload);
}

}  // namespace

std::optional<LinkType> link_type_from_dlt(int dlt) noexcept {
  switch (dlt) {
    case DLT_EN10MB: return LinkType::ethernet;
    case DLT_LINUX_SLL: return LinkType::linux_sll;
    case DLT_LINUX_SLL2: return LinkType::linux_sll2;
    case DLT_RAW:
    case DLT_IPV4: return LinkType::raw_ip;
    default: return std::nullopt;
  }
}

std::vector<std::uint8_t> to_ethernet(LinkType link, wire::Bytes frame) {
  const std::uint8_t* p = frame.data();
  switch (link) {
    case LinkType::ethernet:
      return {frame.begin(), frame.end()};
    case LinkType::linux_sll:
      // type(2) arphrd(2) addr_len(2) addr(8) protocol(2)
      if (frame.size() < kSllHeader) return {};
      return from_cooked(static_cast<std::uint8_t>(wire::load_be16(p)),
                         wire::load_be16(p + 4), p + 6, wire::load_be16(p + 14),
                         frame.subspan(kSllHeader));
    case LinkType::linux_sll2:
      // protocol(2) reserved(2) ifindex(4) arphrd(2) type(1) addr_len(1) addr(8)
      if (frame.size() < kSll2Header) return {};
      return from_cooked(p[10], p[11], p + 12, wire::load_be16(p), frame.subspan(kSll2Header));
    case LinkType::raw_ip:
      if (frame.empty()) return {};
      return with_ethernet_header(wire::MacAddr{}, wire::MacAddr{},
                                  (p[0] >> 4) == 6 ? kEtherTypeIpv6 : wire::kEtherTypeIpv4, frame);
  }
  return {};
}

void CaptureReader::Closer::operator()(pcap* p) const noexcept { pcap_close(p); }

CaptureReader::CaptureReader(const std::string& path) : path_(path) {
  std::array<char, PCAP_ERRBUF_SIZE> err{};
  handle_.reset(pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO,
                                                        err.data()));
  if (!handle_) {
    // libpcap names the file in some messages ("x.pcap: No such file...") only.
    std::string msg = err.data();
    if (msg.starts_with(path + ": ")) msg.erase(0, path.size() + 2);
    throw CaptureError(path + ": cannot read capture: " + msg);
  }
  const int dlt = pcap_datalink(handle_.get());
  const auto link = link_type_from_dlt(dlt);
  if (!link) {
    const char* name = pcap_datalink_val_to_name(dlt);
    throw CaptureError(path + ": unsupported link type " + std::to_string(dlt) + " (" +
                       (name ? name : "unknown") +
                       "); dorado-decode reads Ethernet, Linux cooked (SLL, SLL2) and raw IP");
  }
  link_ = *link;
}

CaptureReader::~CaptureReader() = default;

std::optional<CapturedFrame> CaptureReader::next() {
  pcap_pkthdr* hdr = nullptr;
  const std::uint8_t* bytes = nullptr;
  const int rc = pcap_next_ex(handle_.get(), &hdr, &bytes);
  if (rc == PCAP_ERROR_BREAK) return std::nullopt;  // end of file
  if (rc != 1) {
    throw CaptureError(path_ + ": read error after frame " + std::to_string(count_) + ": " +
                       pcap_geterr(handle_.get()));
  }
  CapturedFrame f;
  f.number = ++count_;
  f.ts_sec = hdr->ts.tv_sec;
  f.ts_usec = static_cast<std::int32_t>(hdr->ts.tv_usec);
  f.wire_length = hdr->len;
  f.captured_length = hdr->caplen;
  f.data = to_ethernet(link_, wire::Bytes{bytes, hdr->caplen});
  return f;
}

std::vector<CapturedFrame> read_capture(const std::string& path) {
  CaptureReader reader(path);
  std::vector<CapturedFrame> frames;
  while (auto f = reader.next()) frames.push_back(std::move(*f));
  return frames;
}

}  // namespace dorado::decode
