// Nodes: an actor system that talks to actor systems in other processes (docs/design.md,
// "Nodes"; the bytes are docs/wire.md's). Named actors are reached by name wherever they live.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/errors.hpp"

namespace revenant {

// A TCP address: a host name or address, and a port.
struct endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // listening: 0 picks a free port (actor_system::node_port()); a peer: not known yet
};

// TLS 1.3 pre-shared keys, for small clusters without a certificate authority (docs/wire.md,
// section 9.3). A node offers its own name as the key's identity; the key authenticates it.
struct tls_psk {
  // The secret every node of the cluster shares: 16 to 512 random bytes (not a passphrase). A
  // node that holds it is trusted to say which node it is.
  std::string key;
  // Secrets shared with one peer only, by peer name, used for that peer in place of key (same
  // length rule). With one key per pair of nodes, a node cannot claim to be another.
  std::map<std::string, std::string> peer_keys;
};

// Mutual TLS 1.3 between nodes (docs/wire.md, section 9): every node has a certificate naming it,
// signed by the cluster's CA, and checks its peers' against that CA.
struct tls_config {
  std::string ca_file;    // PEM: the CA every peer's certificate must chain to
  std::string cert_file;  // PEM: this node's certificate (chain); its subject common name is the node name
  std::string key_file;   // PEM: its private key
  // Instead of the three files: pre-shared keys (the files must then be empty).
  std::optional<tls_psk> psk;
};

// What makes an actor system a node. Every node of a cluster must list the same node names
// (itself plus its peers): they decide, alike on every node, where each durable actor lives
// (docs/design.md, "Placement").
struct node_config {
  // This node's name: 1 to 255 ASCII letters, digits, '.', '-' or '_'.
  std::string name;
  // Nodes of another cluster are refused (wire_errc::wrong_cluster).
  std::string cluster = "revenant";
  // Where this node accepts its peers' links.
  endpoint listen;
  // Every other node, by name. A port of 0 is set later with actor_system::set_peer_address.
  std::map<std::string, endpoint> peers;
  // The links' security: TLS, or plaintext if asked for (and then no tls): links without TLS
  // carry no identity a peer can check (for tests and benchmarks on one machine). A node with
  // neither, or both, is refused at construction (std::invalid_argument).
  std::optional<tls_config> tls;
  bool plaintext = false;
  // The largest frame this node accepts (docs/wire.md 5.1): between 64 KiB and 1 GiB.
  std::uint32_t max_frame_size = 16u << 20;
  // Bytes of transient messages waiting for one peer's link (while it connects, or while the
  // peer reads slower than this node writes). Past it, messages become dead letters
  // (dead_letter_reason::unreachable): a slow or dead peer never blocks a worker nor grows memory.
  std::size_t max_queued_bytes = 64u << 20;
  // A connection attempt or a handshake (TLS's and the protocol's together) that takes longer is
  // given up (and tried again).
  std::chrono::milliseconds connect_timeout{2000};
  // Waits between attempts to reach a peer: doubling from the first to the second.
  std::chrono::milliseconds reconnect_min{20};
  std::chrono::milliseconds reconnect_max{1000};
  // Every heartbeat_interval the node pings each peer it has a link to. A link that brings
  // nothing (no pong, no frame) for heartbeat_timeout is closed as lost: the watchers of actors
  // on that node hear down (exit_reason::unreachable), and the node dials it again. The timeout
  // must be longer than the interval (else std::invalid_argument at construction).
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds heartbeat_timeout{3000};
  // actor_system::send to an actor on another node gives up waiting for that node's answer
  // after this long (the future then holds send_unconfirmed).
  std::chrono::milliseconds send_timeout{10000};
  // Bytes of committed outbox entries to one peer (durable messages not yet acknowledged) held
  // in memory, to be sent and resent. More wait in the store only, and are read back from it as
  // the peer acknowledges: a peer that is down for long costs disk, not memory. At least 64 KiB.
  std::size_t max_outbox_memory = 16u << 20;
  // A live migration (actor_system::migrate) that has not reached its commit point within this
  // long is aborted (migration_errc::timed_out): the actor runs on here.
  std::chrono::milliseconds migration_timeout{10000};
  // Moves of one batch (actor_system::migrate of many names, or drain) under way at once: they
  // share store batches and frames on the link; more would only hold more packages in memory.
  std::size_t migration_window = 512;
};

// How a batch of moves ended (actor_system::migrate of many names, drain): every name is in
// exactly one of the two lists.
struct migration_report {
  std::vector<std::string> moved;  // now running at their target (or there already)
  // The moves that failed, each with its code and reason; those actors run where they were
  // (see migration_error for the exceptions).
  std::vector<migration_error> failed;
};

// One peer as this node sees it at one instant (actor_system::peers).
struct peer_status {
  std::string name;
  endpoint address;
  bool linked = false;                       // this node's link to it is established now
  std::uint64_t incarnation = 0;             // the peer's, from its last handshake; 0 if none yet
  std::chrono::nanoseconds round_trip{0};    // of the last answered ping; 0 if none yet
  std::size_t queued_bytes = 0;              // transient frames waiting for the link
  std::size_t outbox_in_memory = 0;          // durable messages sent or to send, not yet acknowledged
  bool outbox_in_store_only = false;         // more of them wait in the store (past max_outbox_memory)
  std::size_t pending_sends = 0;             // actor_system::send calls waiting for its answer
  std::size_t migrations_out = 0;            // actors moving to it, not yet done
  std::size_t migrations_in = 0;             // packages from it held here, not yet activated
  std::uint64_t routes_learned = 0;          // its `moved` notices that sent this node's messages a shorter way
};

}  // namespace revenant
