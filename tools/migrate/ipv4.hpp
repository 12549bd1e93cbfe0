// IPv4 text <-> host-order integer for dorado-migrate: wire/text.hpp's, the
// one dotted quad dorado takes everywhere (four decimal octets 0..255, no
// leading zeros, nothing else; what inet_pton takes) and writes.
#pragma once

#include "wire/text.hpp"

namespace dorado::migrate {

using wire::format_ipv4;
using wire::parse_ipv4;

}  // namespace dorado::migrate
