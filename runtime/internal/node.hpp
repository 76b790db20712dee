// The node: an actor system's part that reaches other processes (docs/design.md, "Nodes"). It
// listens for its peers' links, dials its own link to each peer, checks every handshake against
// the node list, identities and incarnations (docs/wire.md 4), and moves messages: an actor
// whose home is another node is a remote_actor here, whose messages become frames on that
// node's link; frames from peers become messages to local actors. Thread-safe.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/actor.hpp"
#include "runtime/errors.hpp"
#include "runtime/node.hpp"
#include "runtime/internal/committer.hpp"
#include "runtime/internal/connection.hpp"
#include "runtime/internal/placement.hpp"
#include "storage/envelope.hpp"
#include "storage/migration.hpp"
#include "storage/store.hpp"

namespace revenant::detail {

struct system;
class actor_cell;
class durable_cell;
class remote_actor;

class node final : public connection_owner, public std::enable_shared_from_this<node> {
 public:
  // Throws std::invalid_argument for a config that cannot work (a bad node name, a peer named
  // like this node, neither or both of TLS and the plaintext opt-in, TLS files or keys that do
  // not load or do not name this node, a frame limit out of range).
  node(system& sys, node_config config, store::node_identity identity);
  ~node();

  // Binds the listening socket (its port is known when this returns) and starts accepting and
  // dialing. Throws std::system_error if the address cannot be bound.
  void start();
  // Says goodbye on every link and stops; nothing it does touches the system afterwards.
  void stop();

  const std::string& name() const noexcept { return config_.name; }
  std::uint16_t port() const noexcept { return port_; }
  std::uint64_t incarnation() const noexcept { return identity_.incarnation; }
  const static_placement& placement() const noexcept { return placement_; }
  // Sets where a configured peer is reached (a port of 0 in the config: not known then).
  // Throws std::invalid_argument for a name that is not a configured peer.
  void set_peer_address(const std::string& peer, endpoint address);
  // Peers whose link from this node is established now.
  std::size_t links_up() const;
  std::vector<peer_status> peers() const;

  // Where name is, as far as the node decides: a remote actor if it lives on another node (a
  // "$<id>@<node>" of another node, or a name whose home is elsewhere and that is not here),
  // this node's exported transient actor for "$<id>@<self>" (or a detached one if it is gone),
  // and null for a name this node hosts (the local directory decides).
  std::shared_ptr<actor_base> route(const std::string& name);
  // How a reference to actor is written beyond this process (docs/wire.md 7).
  std::string name_of(const std::shared_ptr<actor_base>& actor);

  // For remote_actor: sends m to recipient (a name on peer) from m's sender, at most once; a
  // message that cannot be encoded or queued becomes a dead letter (with the reason). With an
  // origin, m is a transient message from that node that this node forwards (`forwarded`).
  void send_message(const std::string& peer, const std::string& recipient, message_ptr m,
                    const std::string* origin = nullptr);
  // For remote_actor, from a durable actor's step: the entry that commits m to the outbox to
  // peer, for recipient (exactly once, format.md 8.14). Throws what encoding throws.
  outgoing stage_durable(std::shared_ptr<actor_base> to, const std::string& peer, const std::string& recipient,
                         message_ptr m, const std::string& sender);
  // The committer wrote outbox entry seq to peer: shipped now if its link is up, else once it is;
  // resent after every reconnection until the peer acknowledges it.
  void ship_durable(const std::string& peer, std::uint64_t seq, std::string recipient, std::string envelope);
  // Before start(): takes up the outbox entries and inbox marks the store holds.
  void load_store();
  // For remote_actor, from actor_system::send: sends m to recipient (a name on peer) and fulfils
  // ack with the peer's answer (docs/wire.md 6.3), or send_unconfirmed if the link is lost after
  // m went out on it, refuses it (closing, or over its bound), or no answer comes within
  // send_timeout.
  void send_outside(const std::string& peer, const std::string& recipient, message_ptr m, completion ack);
  // For remote_actor: watcher (here) watches watched (a name on peer).
  void send_watch(const std::string& peer, const std::string& watched, const std::shared_ptr<actor_base>& watcher);

  // ---- routes learned from `moved` notices (node_routes.cpp, docs/migration.md 4) ----
  // Whether a remote_actor's route (a name listed_node handed out) leads back to this node.
  bool is_self(const std::string& route) const noexcept { return &route == &config_.name; }
  // For a remote_actor whose route leads back here (the actor came to this node): as a message,
  // an outside send, a watch or a durable step's send from a peer to the name would go.
  void enqueue_here(const std::string& name, message_ptr m);
  void take_here(const std::string& name, message_ptr m, const std::string& origin, bool forwarded);
  void deliver_here(const std::string& name, message_ptr m, completion ack);
  void watch_here(const std::string& name, const std::shared_ptr<actor_base>& watcher);
  outgoing stage_here(std::shared_ptr<actor_base> self, const std::string& name, message_ptr m,
                      const std::string& sender);

  // How a move ends for whoever asked: null once the actor runs at its target, else the
  // migration_error. Called once, on any thread, possibly before migrate() returns.
  using move_callback = std::function<void(std::exception_ptr)>;
  // How many nodes a request to move an actor may be passed through (docs/migration.md 1).
  static constexpr std::uint8_t max_move_hops = 4;
  // actor_system::migrate (docs/migration.md): moves the durable actor name to the node target,
  // from wherever it runs (this node, or the one this node's routing names: the request is
  // passed on, at most hops more times). Fails (migration_error) as the public call says.
  void migrate(std::string name, std::string target, move_callback done, std::uint8_t hops = max_move_hops);
  std::future<void> migrate(std::string name, std::string target);
  // actor_system::migrate of many names, and drain (an empty target: by placement).
  std::future<migration_report> migrate_many(std::vector<std::string> names, std::string target);
  std::future<migration_report> drain(std::string target);
  // For recovery, before the workers start: whether a package of actor name is held here (its
  // stored messages are kept for it, not orphans).
  bool holds_incoming(const std::string& name) const;
  // For recovery: a cell for actor name, whose package is held here, that takes its messages
  // and does not run until the package is activated.
  std::shared_ptr<actor_cell> incoming_cell(const std::string& name);

  // ---- connection_owner ----
  std::variant<wire::welcome_frame, refusal> on_hello(connection& c, const wire::hello_frame& h) override;
  void encode_hello(connection& c, std::string& out, std::uint16_t version) override;
  std::optional<wire::wire_errc> on_welcome(connection& c, const wire::welcome_frame& w) override;
  void on_frame(connection& c, const wire::frame& f) override;
  void on_closed(connection& c, const std::string& why) override;

 private:
  struct unacked {
    std::uint64_t seq;
    std::string frame;  // the durable_message frame, encoded once
  };
  struct peer_state {
    endpoint address;
    // Committed outbox entries not yet acknowledged, by seq: those up to max_outbox_memory bytes
    // (at least one). Invariant: if in_store_only, every committed entry above resident_through
    // is in the store and not here; else every committed unacknowledged entry is here.
    std::deque<unacked> durable;
    std::size_t durable_bytes = 0;
    std::uint64_t resident_through = 0;  // the highest seq ever held in `durable`
    bool in_store_only = false;
    bool refilling = false;              // a read-back from the store is under way
    std::uint64_t passed_over = 0;       // ship_durable calls that left their entry in the store
    std::shared_ptr<connection> out;  // this node's link to the peer, once dialed
    bool up = false;                  // out is established
    std::string backlog;              // frames waiting for the link (bounded by max_queued_bytes)
    std::chrono::milliseconds backoff{0};
    std::unique_ptr<asio::steady_timer> retry;         // the next attempt, or the running one's timeout
    std::shared_ptr<asio::ip::tcp::socket> connecting;  // an attempt under way
    std::uint64_t incarnation = 0;                      // the peer's, from its last welcome
    std::chrono::nanoseconds round_trip{0};             // of the last answered ping
    std::uint64_t ping_sent = 0;                        // steady-clock ns of the unanswered ping, 0 if none
    std::uint64_t routes_learned = 0;                   // peer_status::routes_learned
  };
  // A send (wire 6.3) waiting for its send_result.
  struct pending_send {
    std::string peer;
    std::string recipient;
    completion ack;
    std::chrono::steady_clock::time_point deadline;
    const connection* on = nullptr;  // the link it went out on; null while it waits in the backlog
  };
  // An actor here watching an actor on a peer: the watch ends with that actor's down, or with
  // the loss of the link (then this node says down, exit_reason::unreachable).
  struct remote_watch {
    std::string watched;  // as this node names it
    std::string watcher;  // as the peer names it (name_of)
    std::weak_ptr<actor_base> target;
  };

  // ---- live migration (node_migration.cpp) ----
  // A move of an actor of this node to a peer, from its probe to migrate_done (docs/migration.md,
  // section 3). `frame` is what this phase sends, and sends again on a new link or after a
  // silence, until the target answers.
  struct move_out {
    enum class phase : std::uint8_t { parking, offered, committing, committed };
    std::string actor;
    std::string target;
    phase at = phase::parking;
    bool aborted = false;                  // given up while parking: resumed once parked
    std::weak_ptr<durable_cell> cell;      // parked from prepare to commit (resumed on abort)
    std::uint64_t through = 0;             // the highest mailbox seq the package holds
    std::size_t queued = 0;                // how many messages the package holds
    std::string frame;
    const connection* sent_on = nullptr;
    std::chrono::steady_clock::time_point sent_at{}, deadline{};
    move_callback done;  // null after a restart (nobody waits)
  };
  // A request this node passed to peer (migrate_request), waiting for its migrate_result.
  struct move_request {
    std::string peer;
    std::string actor;
    std::string target;
    move_callback done;
    std::string frame;
    const connection* sent_on = nullptr;
    std::chrono::steady_clock::time_point sent_at{}, deadline{};
  };
  // A package of an actor from a peer, held here (incoming, not runnable) until the source says
  // the move committed (docs/migration.md, section 3, steps 3 and 5).
  struct move_in {
    std::uint64_t id = 0;
    std::string source;
    migration_package package;  // numbered with this node's sequence numbers
    bool stored = false;        // its record is committed (accept answered)
    bool activating = false;
    std::shared_ptr<durable_cell> cell;  // holds messages that came before activation
    std::weak_ptr<connection> answer_on;  // where the last frame about it came from
    std::chrono::steady_clock::time_point since{};  // stored at; the epoch after a restart
    const connection* asked_on = nullptr;  // a migrate_query was sent on this link
    std::chrono::steady_clock::time_point asked_at{};
  };
  // The move of an actor hosted here (the source's side, from step 1).
  void move_from_here(std::string name, std::string target, move_callback done);
  // Passes a move to peer, the next node toward the actor.
  void request_move(const std::string& peer, std::string name, std::string target, move_callback done,
                    std::uint8_t hops);
  void take_move_request(connection& c, const wire::migrate_request_frame& f);
  void take_move_result(const wire::migrate_result_frame& f);
  // Where name runs as this node knows it: "" here (or nowhere), else the peer to ask.
  std::string host_of(const std::string& name);
  void parked(std::uint64_t id, bool checkpointed);
  void offer_answered(const wire::migrate_accept_frame& f);
  void commit_move(std::uint64_t id);
  void move_done(std::uint64_t id);
  // Before the commit point: the move ends, the actor runs on here, the caller hears why.
  void abort_move(std::uint64_t id, migration_errc code, const std::string& why);
  void take_offer(connection& c, const wire::migrate_offer_frame& f);
  void take_commit(connection& c, const wire::migrate_commit_frame& f);
  void take_abort(const std::string& source, std::uint64_t id, const std::string& actor);
  void answer_query(connection& c, const wire::migrate_query_frame& f);
  void take_outcome(const wire::migrate_outcome_frame& f);
  // Writes the held package of actor into place and runs it; answers done on answer.
  void activate(const std::string& actor, std::weak_ptr<connection> answer);
  // Every tick: abort moves past their deadline, send again what is unanswered, ask sources
  // about old packages.
  void tick_migrations(std::chrono::steady_clock::time_point now);
  // Under mutex_: sends frame to peer on its link if it is up (recording where and when).
  void send_now(const std::string& peer, const std::string& frame, const connection*& sent_on,
                std::chrono::steady_clock::time_point& sent_at);
  // Before start(): takes up the markers, tombstones and packages the store holds.
  void load_migrations();
  // The forwarder of an actor that moved from here, or null.
  std::shared_ptr<actor_base> moved_from_here(const std::string& name);
  // A stored message of an actor on its way to another node's outbox (a move's commit, an
  // aborted package): renumbered with this node's seqs, shipped once its batch is committed.
  struct relayed {
    std::uint64_t seq;
    std::string envelope;
  };
  // Committer thread, in an exclusive step's batch: deletes every stored message of actor and
  // writes those above `above` as outbox entries to `to`, in order, into `out`. Returns the
  // highest seq written (0 if none). `held`: how many messages up to `above` are known to be
  // stored; from long_mailbox of them on, they go by one range deletion and are not read.
  std::uint64_t relay_mailbox(commit_batch& batch, const std::string& actor, const std::string& to,
                              std::uint64_t above, std::vector<relayed>& out, std::size_t held = 0);
  // A drain moves thousands of short mailboxes: a range deletion each would slow every later
  // scan of the family (RocksDB walks the range tombstones of its memtable at each iterator).
  static constexpr std::size_t long_mailbox = 64;
  // Once that batch is committed: ships the entries relay_mailbox wrote.
  void ship_relayed(const std::string& actor, const std::string& to, std::vector<relayed>& entries);

  void accept();
  // Every heartbeat_interval: pings the links, closes the silent ones, expires sends, and starts
  // any read-back of outbox entries that nothing else would start.
  void tick();
  // The peer's link is lost: every watch of an actor there ends with down (unreachable).
  void lost(const std::string& peer, const std::string& why);
  void answer_send(connection& c, const wire::send_frame& f);
  void send_answered(connection& c, const wire::send_result_frame& f);
  // Reads the outbox entries to peer that wait in the store only back into memory.
  void refill(const std::string& peer);
  // Under mutex_: appends a committed entry to the peer's in-memory outbox and sends it, or
  // leaves it in the store only if memory is full.
  void hold_durable(peer_state& state, std::uint64_t seq, std::string frame);
  // Under mutex_: forgets the entries up to seq (the peer has them), adding their seqs to taken;
  // true if a read-back from the store is due now (the caller posts refill).
  bool forget_through(peer_state& state, std::uint64_t seq, std::vector<std::uint64_t>& taken);
  // Under mutex_: dials peer unless it is dialed already, has no address, or the node stopped.
  void dial(const std::string& peer, peer_state& state);
  void redial_later(const std::string& peer);
  // Queues an encoded frame for peer: false if over the bound or stopped.
  bool queue(const std::string& peer, std::string_view frame);
  // A transient message from c's node, or forwarded by it from origin's (not empty).
  void deliver(connection& c, std::string_view recipient, std::string_view envelope, std::string_view origin = {});
  // A durable_message from c's node: taken once (its mailbox entry and the node's inbox mark in
  // one step), acknowledged once that is committed.
  void take_durable(connection& c, const wire::durable_message_frame& f);
  // The peer has taken peer's outbox entries up to seq: forget and delete them.
  void acknowledged(const std::string& peer, std::uint64_t seq);
  void remove_outbox(const std::string& peer, const std::vector<std::uint64_t>& seqs);
  decoded_envelope decode_from(connection& c, std::string_view recipient, std::string_view envelope);
  // The actor a name on this node means now: a cell, a package held for activation, or the
  // forwarder of an actor that moved from here (and then `from`'s node, if given, is told where
  // it went); null if none.
  std::shared_ptr<actor_base> local_recipient(std::string_view recipient, connection* from = nullptr);
  std::shared_ptr<actor_base> proxy(const std::string& name, const std::string& home);

  // The name of a listed node (a peer's, or this node's own), kept for the node's whole life;
  // null if name lists none of them. Needs no lock: the list is fixed at construction.
  const std::string* listed_node(std::string_view name) const noexcept;
  // On c's strand: c's node sent something for actor (as named here), which moved from here and
  // forwarder sends on. c's node is told where it went, at most once a second per actor and link.
  void tell_moved(connection& c, const std::string& actor, const remote_actor& forwarder);
  // A `moved` notice from c's node: its proxies of f.actor that lead to c's node lead on to the
  // target from now on, and so do proxies made later.
  void take_moved(connection& c, const wire::moved_frame& f);
  // A down from `from` for watcher's watch of watched: ends the watch and returns true if it is
  // open, whichever peer it was asked of (an actor that moved is watched where it went, and its
  // down comes from there). Caller holds mutex_.
  bool end_watch(const std::string& from, const std::string& watched, const std::string& watcher);

  system& sys_;
  const node_config config_;
  const store::node_identity identity_;
  const static_placement placement_;
  std::shared_ptr<tls_context> tls_;  // null: plaintext links
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer ticker_;
  const std::uint64_t serial_;  // unique among the nodes of this process, over its whole life
  std::uint16_t port_ = 0;

  mutable std::mutex mutex_;
  bool stopped_ = false;                                   // guarded by mutex_
  std::map<std::string, peer_state> peers_;                // guarded by mutex_
  std::set<std::shared_ptr<connection>> inbound_;          // guarded by mutex_
  std::map<wire::node_id, std::uint64_t> incarnations_;    // guarded by mutex_: highest seen per node id
  std::unordered_map<std::string, std::weak_ptr<actor_base>> proxies_;  // guarded by mutex_
  // Where moved notices said actors are (listed_node names), by actor: where a proxy made later
  // starts. Guarded by mutex_; forgotten as a whole past max_learned_routes (learned again).
  std::unordered_map<std::string, const std::string*> learned_;
  static constexpr std::size_t max_learned_routes = 1 << 16;
  std::unordered_map<std::uint64_t, std::weak_ptr<actor_base>> exports_;  // guarded by mutex_
  std::size_t exports_swept_at_ = 64;                      // guarded by mutex_
  // Per sending node id: the highest outbox seq of it accepted (submitted) and taken (committed).
  // Guarded by mutex_.
  struct inbox_mark {
    std::uint64_t accepted = 0;
    std::uint64_t durable = 0;
  };
  std::map<wire::node_id, inbox_mark> inbox_;
  std::unordered_map<std::uint64_t, pending_send> sends_;   // guarded by mutex_: by correlation
  std::atomic<std::uint64_t> next_correlation_{0};          // the last correlation handed out
  std::map<std::string, std::vector<remote_watch>> watching_;  // guarded by mutex_: by peer
  std::map<std::uint64_t, move_out> moves_out_;            // guarded by mutex_: by id
  std::unordered_map<std::string, std::uint64_t> moving_;  // guarded by mutex_: moves_out_ by actor
  std::unordered_map<std::uint64_t, move_request> requests_out_;  // guarded by mutex_: by request id
  std::uint64_t next_request_ = 0;                         // guarded by mutex_
  // Requests from peers being carried out here, by (peer, id): where to answer. Guarded by mutex_.
  std::map<std::pair<std::string, std::uint64_t>, std::weak_ptr<connection>> requests_in_;
  std::unordered_map<std::string, move_in> moves_in_;     // guarded by mutex_: by actor name
  // Actors that moved from here (tombstones): the forwarder of each. Guarded by mutex_;
  // any_moved_ says whether it is empty without the lock.
  std::unordered_map<std::string, std::shared_ptr<actor_base>> moved_;
  std::atomic<bool> any_moved_{false};
  // Aborts a restart found (a marker without its tombstone), to tell their targets once.
  struct abort_notice {
    std::string target;
    std::string frame;
  };
  std::vector<abort_notice> aborts_;                       // guarded by mutex_
  // Remote watchers of actors here, held until each watch's down is sent. Guarded by mutex_.
  std::unordered_map<std::string, std::pair<std::shared_ptr<actor_base>, std::size_t>> watchers_;
};

}  // namespace revenant::detail
