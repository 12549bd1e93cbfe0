#include "ddns/commands.hpp"

#include <string>

#include "wire/text.hpp"

namespace dorado::ddns {

void register_ddns_commands(api::CommandTable& t, Service* svc) {
  t.add("lease4-resend-ddns",
        "send an address's DNS records again: ip-address (added for a lease with a name, removed for an ended one)",
        [svc](const api::Request& r, api::Reply done) {
          api::Args a(r.arguments);
          const auto ip_text = a.string("ip-address", true);
          if (!a.finish()) return done(api::error_answer(a.error()));
          if (svc == nullptr) return done(api::error_answer("DDNS is not configured ([ddns] in the config)"));
          const auto ip = wire::parse_ipv4(*ip_text);
          if (!ip) return done(api::error_answer("'ip-address' is not an IPv4 address: \"" + *ip_text + "\""));
          std::string why, fqdn;
          if (!svc->resend(*ip, why, fqdn)) return done(api::error_answer(*ip_text + ": " + why));
          done(api::success("NCR generated for: " + *ip_text + ", hostname: " + fqdn));
        });
}

}  // namespace dorado::ddns
