#include "actors/message.hpp"

#include "actors/actor.hpp"

namespace revenant {

message::~message() = default;

}  // namespace revenant
