#include "actors/message.hpp"

#include "actors/actor.hpp"
#include "actors/message_type.hpp"

namespace revenant {

message::~message() = default;

namespace {
// The runtime's own messages reach durable mailboxes too (an ask's error, a watched actor's
// end, a timer that runs a closure), so they are registered like any application type.
const message_type<ask_error> ask_error_type{"revenant.ask_error"};
const message_type<down> down_type{"revenant.down"};
const message_type<detail::timer_action> timer_action_type{"revenant.timer_action"};
}  // namespace

}  // namespace revenant
