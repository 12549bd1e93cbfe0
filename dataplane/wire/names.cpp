// Names from the IANA "BOOTP Vendor Extensions and DHCP Options" and
// "DHCP Message Type 53 Values" registries, spelled as RFC 2132-style titles
// with hyphens. Codes the registry lists as removed, unassigned or only
// tentatively assigned are "Unknown".
#include <array>
#include <string_view>

#include "wire/dhcp.hpp"

namespace dorado::wire {

namespace {

using namespace std::string_view_literals;

constexpr std::array<std::string_view, 19> kMessageTypes{
    "UNKNOWN"sv,          "DISCOVER"sv,        "OFFER"sv,          "REQUEST"sv,
    "DECLINE"sv,          "ACK"sv,             "NAK"sv,            "RELEASE"sv,
    "INFORM"sv,           "FORCERENEW"sv,      "LEASEQUERY"sv,     "LEASEUNASSIGNED"sv,
    "LEASEUNKNOWN"sv,     "LEASEACTIVE"sv,     "BULKLEASEQUERY"sv, "LEASEQUERYDONE"sv,
    "ACTIVELEASEQUERY"sv, "LEASEQUERYSTATUS"sv, "TLS"sv,
};
static_assert(kMessageTypes.size() == static_cast<std::size_t>(MessageType::tls) + 1);

struct Named {
  std::uint8_t code;
  std::string_view name;
};

constexpr Named kOptions[] = {
    {0, "Pad"},
    {1, "Subnet-Mask"},
    {2, "Time-Offset"},
    {3, "Router"},
    {4, "Time-Server"},
    {5, "Name-Server"},
    {6, "Domain-Name-Server"},
    {7, "Log-Server"},
    {8, "Cookie-Server"},
    {9, "LPR-Server"},
    {10, "Impress-Server"},
    {11, "Resource-Location-Server"},
    {12, "Host-Name"},
    {13, "Boot-File-Size"},
    {14, "Merit-Dump-File"},
    {15, "Domain-Name"},
    {16, "Swap-Server"},
    {17, "Root-Path"},
    {18, "Extensions-Path"},
    {19, "IP-Forwarding"},
    {20, "Non-Local-Source-Routing"},
    {21, "Policy-Filter"},
    {22, "Maximum-Datagram-Reassembly-Size"},
    {23, "Default-IP-TTL"},
    {24, "Path-MTU-Aging-Timeout"},
    {25, "Path-MTU-Plateau-Table"},
    {26, "Interface-MTU"},
    {27, "All-Subnets-Are-Local"},
    {28, "Broadcast-Address"},
    {29, "Perform-Mask-Discovery"},
    {30, "Mask-Supplier"},
    {31, "Perform-Router-Discovery"},
    {32, "Router-Solicitation-Address"},
    {33, "Static-Route"},
    {34, "Trailer-Encapsulation"},
    {35, "ARP-Cache-Timeout"},
    {36, "Ethernet-Encapsulation"},
    {37, "TCP-Default-TTL"},
    {38, "TCP-Keepalive-Interval"},
    {39, "TCP-Keepalive-Garbage"},
    {40, "NIS-Domain"},
    {41, "NIS-Servers"},
    {42, "NTP-Servers"},
    {43, "Vendor-Specific-Information"},
    {44, "NetBIOS-Name-Server"},
    {45, "NetBIOS-Datagram-Distribution-Server"},
    {46, "NetBIOS-Node-Type"},
    {47, "NetBIOS-Scope"},
    {48, "X-Window-Font-Server"},
    {49, "X-Window-Display-Manager"},
    {50, "Requested-IP-Address"},
    {51, "IP-Address-Lease-Time"},
    {52, "Option-Overload"},
    {53, "DHCP-Message-Type"},
    {54, "Server-Identifier"},
    {55, "Parameter-Request-List"},
    {56, "Message"},
    {57, "Maximum-DHCP-Message-Size"},
    {58, "Renewal-Time"},
    {59, "Rebinding-Time"},
    {60, "Vendor-Class-Identifier"},
    {61, "Client-Identifier"},
    {62, "NetWare-IP-Domain"},
    {63, "NetWare-IP-Information"},
    {64, "NIS+-Domain"},
    {65, "NIS+-Servers"},
    {66, "TFTP-Server-Name"},
    {67, "Bootfile-Name"},
    {68, "Mobile-IP-Home-Agent"},
    {69, "SMTP-Server"},
    {70, "POP3-Server"},
    {71, "NNTP-Server"},
    {72, "WWW-Server"},
    {73, "Finger-Server"},
    {74, "IRC-Server"},
    {75, "StreetTalk-Server"},
    {76, "STDA-Server"},
    {77, "User-Class"},
    {78, "SLP-Directory-Agent"},
    {79, "SLP-Service-Scope"},
    {80, "Rapid-Commit"},
    {81, "Client-FQDN"},
    {82, "Relay-Agent-Information"},
    {83, "iSNS"},
    {85, "NDS-Servers"},
    {86, "NDS-Tree-Name"},
    {87, "NDS-Context"},
    {88, "BCMCS-Controller-Domain-Name-List"},
    {89, "BCMCS-Controller-IPv4-Address"},
    {90, "Authentication"},
    {91, "Client-Last-Transaction-Time"},
    {92, "Associated-IP"},
    {93, "Client-System-Architecture"},
    {94, "Client-Network-Interface-Identifier"},
    {95, "LDAP"},
    {97, "Client-Machine-Identifier"},
    {98, "User-Authentication"},
    {99, "GeoConf-Civic"},
    {100, "PCode"},
    {101, "TCode"},
    {108, "IPv6-Only-Preferred"},
    {109, "DHCPv4o6-S46-Source-Address"},
    {112, "Netinfo-Address"},
    {113, "Netinfo-Tag"},
    {114, "Captive-Portal"},
    {116, "Auto-Configure"},
    {117, "Name-Service-Search"},
    {118, "Subnet-Selection"},
    {119, "Domain-Search"},
    {120, "SIP-Servers"},
    {121, "Classless-Static-Route"},
    {122, "CableLabs-Client-Configuration"},
    {123, "GeoConf"},
    {124, "V-I-Vendor-Class"},
    {125, "V-I-Vendor-Specific-Information"},
    {136, "PANA-Agent"},
    {137, "LoST-Server"},
    {138, "CAPWAP-AC-Address"},
    {139, "IPv4-Address-MoS"},
    {140, "IPv4-FQDN-MoS"},
    {141, "SIP-UA-Configuration-Domains"},
    {142, "IPv4-Address-ANDSF"},
    {143, "SZTP-Redirect"},
    {144, "GeoLoc"},
    {145, "Forcerenew-Nonce-Capable"},
    {146, "RDNSS-Selection"},
    {147, "DOTS-Reference-Identifier"},
    {148, "DOTS-Address"},
    {150, "TFTP-Server-Address"},
    {151, "Status-Code"},
    {152, "Base-Time"},
    {153, "Start-Time-Of-State"},
    {154, "Query-Start-Time"},
    {155, "Query-End-Time"},
    {156, "DHCP-State"},
    {157, "Data-Source"},
    {158, "PCP-Server"},
    {159, "Port-Parameters"},
    {161, "MUD-URL"},
    {162, "Encrypted-DNS-Server"},
    {208, "PXELINUX-Magic"},
    {209, "Configuration-File"},
    {210, "Path-Prefix"},
    {211, "Reboot-Time"},
    {212, "6RD"},
    {213, "Access-Network-Domain-Name"},
    {220, "Subnet-Allocation"},
    {221, "Virtual-Subnet-Selection"},
    {255, "End"},
};

constexpr std::array<std::string_view, 256> make_option_table() {
  std::array<std::string_view, 256> t{};
  for (auto& n : t) n = "Unknown";
  for (unsigned c = 224; c <= 254; ++c) t[c] = "Private-Use";
  for (const Named& n : kOptions) t[n.code] = n.name;
  return t;
}

constexpr std::array<std::string_view, 256> kOptionNames = make_option_table();

static_assert(kOptionNames[opt::relay_agent_info] == "Relay-Agent-Information");
static_assert(kOptionNames[84] == "Unknown");

}  // namespace

std::string_view message_type_name(std::uint8_t type) noexcept {
  return type < kMessageTypes.size() ? kMessageTypes[type] : kMessageTypes[0];
}

std::string_view option_name(std::uint8_t code) noexcept { return kOptionNames[code]; }

}  // namespace dorado::wire
