// Kea's DHCPv4 option definitions (the standard ones of Kea 2.2 and those a
// config adds with option-def) and the encoding of an option-data "data"
// string into the bytes Kea puts on the wire, and from there into the value
// form dorado's [[option]] takes (ip, string, u8, u16, u32 or hex).
//
// dorado's config has no option names: every option is `code` plus one typed
// value (docs/configuration.md "[[subnet.option]] / [[option]]"), so each Kea
// option becomes its code and the value that gives the same bytes.
// Pure; any thread; no exceptions escape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dorado::migrate {

// Kea's option data types (Kea ARM "List of standard DHCP option types").
enum class KeaType : std::uint8_t {
  empty, binary, boolean, u8, u16, u32, i8, i16, i32,
  ipv4, ipv6, ipv6_prefix, psid, string, fqdn, tuple, record,
};

std::optional<KeaType> kea_type(std::string_view name);   // "uint8", "ipv4-address", ...
std::string_view kea_type_name(KeaType type);

struct OptionDef {
  std::string name;
  unsigned code = 0;
  KeaType type = KeaType::binary;
  bool array = false;
  std::vector<KeaType> record;   // the fields when type == record (array repeats the last)
  std::string encapsulate;       // the option space of its sub-options, if any
};

// Kea 2.2's standard DHCPv4 options (space "dhcp4"), by name or by code.
const OptionDef* standard_option(std::string_view name);
const OptionDef* standard_option(unsigned code);

// Codes Kea sends even when the client's parameter request list (55) does
// not ask for them (Kea ARM: "Returned if not requested"): 3, 6, 15 (and 54,
// which dorado writes itself).
bool kea_always_sent(unsigned code);

// One value as dorado's [[option]] takes it.
struct DoradoValue {
  enum class Kind : std::uint8_t { ip, string, u8, u16, u32, hex };
  Kind kind = Kind::hex;
  std::vector<std::string> ips;        // Kind::ip
  std::string text;                    // Kind::string
  std::vector<std::uint64_t> ints;     // Kind::u8/u16/u32
  std::vector<std::uint8_t> bytes;     // the wire bytes, for every kind
  std::string explain;                 // what hex stands for, e.g. "fqdn list: a.example, b.example"
};

struct Encoded {
  std::optional<DoradoValue> value;
  std::string error;   // set iff !value: why Kea's data cannot be encoded
};

// Encodes option-data's `data` for an option of definition `def`: with
// csv = true as Kea's comma-separated values of the definition's types
// ("\," is a comma inside a value), else as hex bytes (parse_kea_hex).
Encoded encode_option_data(const OptionDef& def, std::string_view data, bool csv);

// Kea's hex forms: "0a:0b:0c" or "0a 0b 0c" (octets of 1 or 2 digits),
// "0x0a0b0c" or "0a0b0c" (an odd count gets a leading 0), and "'text'" (the
// bytes of the text). "" is no bytes.
std::optional<std::vector<std::uint8_t>> parse_kea_hex(std::string_view text);

// "01:0a:ff"
std::string hex_string(const std::vector<std::uint8_t>& bytes);

}  // namespace dorado::migrate
