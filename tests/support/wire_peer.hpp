// A test's side of a link, speaking the wire protocol by hand (docs/wire.md): the bytes of a
// dialer's preface and hello, and the frames a node sent back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/wire.hpp"

namespace revenant::test {

// A dialer's preface and hello: node (the dialer) expecting to reach peer, in cluster, with an
// id of 16 id_bytes and this incarnation.
inline std::string hello_bytes(const std::string& cluster, const std::string& node, const std::string& peer,
                               std::uint64_t incarnation, std::uint8_t id_byte) {
  std::string out;
  wire::encode_preface(out);
  wire::hello_frame h;
  h.version = wire::supported_versions.highest;  // what a node of this build chooses
  h.id.fill(id_byte);
  h.incarnation = incarnation;
  h.cluster = cluster;
  h.node = node;
  h.peer = peer;
  wire::encode(out, h);
  return out;
}

// The frames in the bytes a node sent after its preface (their bodies copied into keep).
inline std::vector<wire::any_frame> frames_of(const std::string& bytes, std::vector<std::string>& keep) {
  wire::frame_reader reader(wire::role::dialer);
  reader.feed(bytes);
  std::vector<wire::any_frame> out;
  keep.reserve(keep.size() + 64);  // the decoded frames view into these strings: no reallocation
  for (;;) {
    const wire::read_event e = reader.next();
    if (e.status == wire::read_status::need_bytes) break;
    if (e.status == wire::read_status::frame) {
      keep.emplace_back(e.got.body);
      wire::frame f = e.got;
      f.body = keep.back();
      out.push_back(wire::decode(f));
    }
  }
  return out;
}

}  // namespace revenant::test
