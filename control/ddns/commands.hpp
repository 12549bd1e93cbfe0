// The control API's DDNS command, with Kea's name and shape (docs/dns.md
// "Control API", docs/control-api.md):
//   lease4-resend-ddns  {"ip-address": "10.99.1.5"}: the address's DNS
//                       records are sent again (added for a lease with a
//                       name; removed when its lease has ended)
// Without [ddns] it answers an error.
//
// Threads: the control thread only.
#pragma once

#include "api/commands.hpp"
#include "ddns/service.hpp"

namespace dorado::ddns {

// `service` may be null (no [ddns]); it must outlive the table otherwise.
void register_ddns_commands(api::CommandTable& table, Service* service);

}  // namespace dorado::ddns
