#include "actors/sms_sender.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>

#include "protocols/trusted_gateway.hpp"

namespace paysync::actors {

sms_sender_actor::behavior_type sms_sender(std::shared_ptr<protocols::sms_gateway> gateway) {
  return {
      [gateway](sms_atom, const sms_message& m) {
        auto sent = gateway->send({m.to, m.text, m.link, m.expires_unix_ms});
        if (!sent) {
          spdlog::error("sms: to {}: {}", protocols::mask_msisdn(m.to), sent.error());
          return refused(protocols::wire_error::internal, "the SMS gateway refused the message");
        }
        spdlog::info("sms: payment link sent to {}", protocols::mask_msisdn(m.to));
        return accepted();
      },
  };
}

}  // namespace paysync::actors
