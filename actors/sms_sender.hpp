#pragma once

#include <memory>

#include "actors/interfaces.hpp"
#include "protocols/sms_gateway.hpp"

namespace paysync::actors {

// Owns the SMS gateway. Spawn it detached: a gateway may block on I/O.
sms_sender_actor::behavior_type sms_sender(std::shared_ptr<protocols::sms_gateway> gateway);

}  // namespace paysync::actors
