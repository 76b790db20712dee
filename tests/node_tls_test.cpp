// Node links over TLS 1.3 (docs/wire.md, section 9), with certificates made at test time: mutual
// certificates and pre-shared keys link nodes; a peer without a certificate, with another CA's,
// whose certificate names another node, with a wrong key, or without TLS at all is refused with
// its own error, logged with its address, and only that connection is dropped.
#include <catch2/catch.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/write.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/actor.hpp"
#include "runtime/actor_system.hpp"
#include "storage/wire.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/messages.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/wire_peer.hpp"

using namespace revenant;
using namespace std::chrono_literals;
using namespace revenant::test;

namespace {

// Answers add{n} with value_is{n + 1}.
void tls_echo_body(context& ctx, const message& m) {
  if (const auto* a = m.get_if<add>()) ctx.reply(value_is{a->n + 1});
}
const revenant::function<void(context&, const message&), tls_echo_body> tls_echo_fn{"test.node_tls.echo"};

// What a node logged, to wait for a line.
struct log_lines {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> lines;

  log_sink sink() {
    return [this](log_level, std::string_view line) {
      if (std::getenv("REVENANT_NODE_TEST_LOG")) std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
      std::lock_guard lock(mutex);
      lines.emplace_back(line);
      changed.notify_all();
    };
  }
  // The first line that holds every part, waiting for it up to timeout; empty if none came.
  std::string wait_for(const std::vector<std::string>& parts, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex);
    std::string found;
    changed.wait_for(lock, timeout, [&] {
      for (const auto& l : lines) {
        bool all = true;
        for (const auto& p : parts) all = all && l.find(p) != std::string::npos;
        if (all) {
          found = l;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  bool any(const std::string& part) {
    std::lock_guard lock(mutex);
    for (const auto& l : lines)
      if (l.find(part) != std::string::npos) return true;
    return false;
  }
};

tls_config with_certificate(const test_ca& ca, const issued_files& files) {
  tls_config tls;
  tls.ca_file = ca.ca_file();
  tls.cert_file = files.cert_file;
  tls.key_file = files.key_file;
  return tls;
}

tls_config with_key(std::string key, std::map<std::string, std::string> peer_keys = {}) {
  tls_config tls;
  tls.psk = tls_psk{std::move(key), std::move(peer_keys)};
  return tls;
}

// A node of cluster "test" on 127.0.0.1 (a free port), its peers' ports told later.
std::unique_ptr<actor_system> make_node(const std::string& name, const std::vector<std::string>& peers, tls_config tls,
                                        log_lines& log) {
  node_config config;
  config.name = name;
  config.cluster = "test";
  config.tls = std::move(tls);
  for (const auto& p : peers) config.peers[p] = endpoint{"127.0.0.1", 0};
  actor_system_config sc;
  sc.workers = 1;
  sc.node = config;
  sc.log = log.sink();
  return std::make_unique<actor_system>(sc);
}

// Two nodes a and b that know each other's ports.
struct pair_of_nodes {
  log_lines log_a, log_b;
  std::unique_ptr<actor_system> a, b;
  pair_of_nodes(tls_config tls_a, tls_config tls_b) {
    a = make_node("a", {"b"}, std::move(tls_a), log_a);
    b = make_node("b", {"a"}, std::move(tls_b), log_b);
    a->set_peer_address("b", endpoint{"127.0.0.1", b->node_port()});
    b->set_peer_address("a", endpoint{"127.0.0.1", a->node_port()});
  }
  bool linked(std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (a->links_up() == 1 && b->links_up() == 1) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  // An ask from a to an actor on b, answered over the links.
  void ask_crosses() {
    std::string name;
    for (int i = 0;; ++i)
      if (a->home_of(name = "echo/" + std::to_string(i)) == "b") break;
    if (!b->find(name)) b->spawn(name, tls_echo_fn.bind());
    CHECK(a->ask<value_is>(name, add{41}, 5s).get().value == 42);
  }
};

// A TLS client written with Asio and OpenSSL directly, to be the peers a node must refuse.
struct tls_client {
  asio::io_context io;
  asio::ssl::context context{asio::ssl::context::tls_client};
  std::optional<asio::ssl::stream<asio::ip::tcp::socket>> stream;

  tls_client(std::uint16_t port, const std::string& ca_file, const issued_files* identity,
             int max_version = TLS1_3_VERSION) {
    SSL_CTX_set_max_proto_version(context.native_handle(), max_version);
    context.load_verify_file(ca_file);
    context.set_verify_mode(asio::ssl::verify_peer);
    if (identity != nullptr) {
      context.use_certificate_chain_file(identity->cert_file);
      context.use_private_key_file(identity->key_file, asio::ssl::context::pem);
    }
    stream.emplace(io, context);
    stream->next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  }
  // The client's side of the handshake (bounded).
  std::error_code handshake() {
    std::error_code result = asio::error::timed_out;
    stream->async_handshake(asio::ssl::stream_base::client, [&](std::error_code ec) { result = ec; });
    io.restart();
    io.run_for(5s);
    return result;
  }
  void write(const std::string& bytes) {
    bool done = false;
    asio::async_write(*stream, asio::buffer(bytes), [&](std::error_code, std::size_t) { done = true; });
    io.restart();
    io.run_for(5s);
    CHECK(done);
  }
  // What the node sends until it closes the connection (bounded): the bytes, and how it ended.
  std::pair<std::string, std::error_code> read_until_closed() {
    std::string got;
    std::error_code ended = asio::error::timed_out;
    char buffer[4096];
    std::function<void()> more = [&] {
      stream->async_read_some(asio::buffer(buffer), [&](std::error_code ec, std::size_t n) {
        if (ec) {
          ended = ec;
          return;
        }
        got.append(buffer, n);
        more();
      });
    };
    more();
    io.restart();
    io.run_for(5s);
    return {got, ended};
  }
  std::string local_port() const { return std::to_string(stream->next_layer().local_endpoint().port()); }
};

std::string hello_bytes(const std::string& node, const std::string& peer) {
  return test::hello_bytes("test", node, peer, 1, 0x5a);
}

constexpr const char* cluster_key = "0123456789abcdef0123456789abcdef";
constexpr const char* other_key = "fedcba9876543210fedcba9876543210";

}  // namespace

TEST_CASE("two nodes link over mutual TLS 1.3 with certificates of their CA, and an ask crosses the link") {
  temp_dir dir;
  test_ca ca(dir.path(""), "cluster-ca");
  pair_of_nodes nodes(with_certificate(ca, ca.issue("a", "a")), with_certificate(ca, ca.issue("b", "b")));
  REQUIRE(nodes.linked());
  nodes.ask_crosses();
  CHECK_FALSE(nodes.log_a.any("TLS"));
  CHECK_FALSE(nodes.log_b.any("TLS"));
}

TEST_CASE("a node speaks TLS 1.3 only: a peer that offers at most TLS 1.2 is refused and logged with its address") {
  temp_dir dir;
  test_ca ca(dir.path(""), "cluster-ca");
  pair_of_nodes nodes(with_certificate(ca, ca.issue("a", "a")), with_certificate(ca, ca.issue("b", "b")));
  const issued_files a_files = ca.issue("a", "a2");
  tls_client old(nodes.b->node_port(), ca.ca_file(), &a_files, TLS1_2_VERSION);
  CHECK(old.handshake());
  CHECK_FALSE(nodes.log_b.wait_for({"TLS handshake failed: the peer does not speak TLS 1.3", "127.0.0.1:" + old.local_port()}).empty());
  REQUIRE(nodes.linked());
  nodes.ask_crosses();
}

TEST_CASE("a peer without a certificate is refused as not_authenticated, logged with its address, and the nodes go on serving") {
  temp_dir dir;
  test_ca ca(dir.path(""), "cluster-ca");
  pair_of_nodes nodes(with_certificate(ca, ca.issue("a", "a")), with_certificate(ca, ca.issue("b", "b")));
  REQUIRE(nodes.linked());
  tls_client anonymous(nodes.b->node_port(), ca.ca_file(), nullptr);
  // TLS 1.3: the client's handshake is over before the listener has checked its certificate;
  // the refusal comes as an alert on its first read.
  if (!anonymous.handshake()) {
    anonymous.write(hello_bytes("a", "b"));
    const auto [got, ended] = anonymous.read_until_closed();
    CHECK(ended != asio::error::timed_out);
    CHECK(got.empty());  // not even a preface
  }
  const std::string line = nodes.log_b.wait_for({"TLS handshake failed: the peer presented no certificate (not_authenticated)"});
  CHECK(line.find("127.0.0.1:" + anonymous.local_port()) != std::string::npos);
  nodes.ask_crosses();
  CHECK(nodes.linked(1s));
}

TEST_CASE("a peer whose certificate another CA signed is refused as not signed by the node's CA, and the nodes go on serving") {
  temp_dir dir;
  test_ca ca(dir.path(""), "cluster-ca");
  test_ca other(dir.path(""), "other-ca");
  pair_of_nodes nodes(with_certificate(ca, ca.issue("a", "a")), with_certificate(ca, ca.issue("b", "b")));
  REQUIRE(nodes.linked());

  // As a dialer: a stranger "a" that trusts the cluster's CA but holds a certificate of another.
  log_lines stranger_log;
  tls_config forged = with_certificate(ca, other.issue("a", "a-other"));
  auto stranger = make_node("a", {"b"}, forged, stranger_log);
  stranger->set_peer_address("b", endpoint{"127.0.0.1", nodes.b->node_port()});
  CHECK_FALSE(nodes.log_b.wait_for({"TLS handshake failed: the peer's certificate is not signed by this node's CA",
                                    "link from an unidentified node (127.0.0.1:"}).empty());
  CHECK_FALSE(stranger_log.wait_for({"link to node \"b\"", "the peer does not trust this node's certificate"}).empty());
  CHECK(stranger->links_up() == 0);

  // As a listener: a node "b" of another CA, which the cluster's a dials.
  log_lines impostor_log;
  auto impostor = make_node("b", {"a"}, with_certificate(other, other.issue("b", "b-other")), impostor_log);
  log_lines dialer_log;
  auto dialer = make_node("a", {"b"}, with_certificate(ca, ca.issue("a", "a3")), dialer_log);
  dialer->set_peer_address("b", endpoint{"127.0.0.1", impostor->node_port()});
  CHECK_FALSE(dialer_log.wait_for({"link to node \"b\" (127.0.0.1:" + std::to_string(impostor->node_port()) + ")",
                                   "TLS handshake failed: the peer's certificate is not signed by this node's CA"})
                   .empty());
  CHECK(dialer->links_up() == 0);

  nodes.ask_crosses();
  CHECK(nodes.linked(1s));
}

TEST_CASE("a peer whose certificate names another node than its hello is refused with wrong_node, and the nodes go on serving") {
  temp_dir dir;
  test_ca ca(dir.path(""), "cluster-ca");
  pair_of_nodes nodes(with_certificate(ca, ca.issue("a", "a")), with_certificate(ca, ca.issue("b", "b")));
  REQUIRE(nodes.linked());
  // Node c's certificate, used to say hello as node a.
  const issued_files c_files = ca.issue("c", "c");
  tls_client liar(nodes.b->node_port(), ca.ca_file(), &c_files);
  REQUIRE_FALSE(liar.handshake());
  liar.write(hello_bytes("a", "b"));
  const auto [got, ended] = liar.read_until_closed();
  CHECK(ended != asio::error::timed_out);
  std::vector<std::string> keep;
  const auto frames = frames_of(got, keep);
  REQUIRE(frames.size() == 1);
  REQUIRE(std::holds_alternative<wire::refuse_frame>(frames[0]));
  CHECK(std::get<wire::refuse_frame>(frames[0]).code == wire::wire_errc::wrong_node);
  CHECK(std::string(std::get<wire::refuse_frame>(frames[0]).text).find("proved node \"c\", not \"a\"") != std::string::npos);
  CHECK_FALSE(nodes.log_b.wait_for({"127.0.0.1:" + liar.local_port(), "wrong_node"}).empty());
  nodes.ask_crosses();
  CHECK(nodes.linked(1s));
}

TEST_CASE("a peer whose certificate of the node's CA names no node is refused with not_authenticated after its hello") {
  temp_dir dir;
  test_ca ca(dir.path(""), "cluster-ca");
  pair_of_nodes nodes(with_certificate(ca, ca.issue("a", "a")), with_certificate(ca, ca.issue("b", "b")));
  const issued_files nameless = ca.issue("", "nameless");
  tls_client client(nodes.b->node_port(), ca.ca_file(), &nameless);
  REQUIRE_FALSE(client.handshake());
  client.write(hello_bytes("a", "b"));
  const auto [got, ended] = client.read_until_closed();
  CHECK(ended != asio::error::timed_out);
  std::vector<std::string> keep;
  const auto frames = frames_of(got, keep);
  REQUIRE(frames.size() == 1);
  REQUIRE(std::holds_alternative<wire::refuse_frame>(frames[0]));
  CHECK(std::get<wire::refuse_frame>(frames[0]).code == wire::wire_errc::not_authenticated);
  REQUIRE(nodes.linked());
  nodes.ask_crosses();
}

TEST_CASE("a dialer refuses a listener whose certificate names another node than the one it dialed, before saying hello") {
  temp_dir dir;
  test_ca ca(dir.path(""), "cluster-ca");
  log_lines log_c, log_a;
  auto c = make_node("c", {"a"}, with_certificate(ca, ca.issue("c", "c")), log_c);
  // a believes b listens where c does.
  auto a = make_node("a", {"b"}, with_certificate(ca, ca.issue("a", "a")), log_a);
  a->set_peer_address("b", endpoint{"127.0.0.1", c->node_port()});
  const std::string line =
      log_a.wait_for({"link to node \"b\"", "TLS: the listener's certificate names node \"c\", not \"b\" (wrong_node)"});
  CHECK(line.find("127.0.0.1:" + std::to_string(c->node_port())) != std::string::npos);
  CHECK(a->links_up() == 0);
  // c never saw a hello: a closed right after the TLS handshake.
  const std::string seen_by_c = log_c.wait_for({"link from an unidentified node"});
  CHECK(seen_by_c.find("closed: the peer closed the connection") != std::string::npos);
}

TEST_CASE("a node refuses a certificate that does not name it, and TLS with plaintext or neither, at construction") {
  temp_dir dir;
  test_ca ca(dir.path(""), "cluster-ca");
  log_lines log;
  const tls_config c_certificate = with_certificate(ca, ca.issue("c", "c"));
  CHECK_THROWS_WITH(make_node("a", {"b"}, c_certificate, log),
                    Catch::Contains("names \"c\" (its subject common name), not this node"));

  node_config config;
  config.name = "a";
  config.peers["b"] = endpoint{"127.0.0.1", 0};
  config.tls = with_certificate(ca, ca.issue("a", "a"));
  config.plaintext = true;
  actor_system_config sc;
  sc.node = config;
  CHECK_THROWS_WITH(actor_system(sc), Catch::Contains("has both a TLS configuration and node_config::plaintext"));
  sc.node->tls.reset();
  sc.node->plaintext = false;
  CHECK_THROWS_WITH(actor_system(sc), Catch::Contains("has no TLS configuration"));
  sc.node->tls = with_certificate(ca, ca.issue("a", "a"));
  sc.node->tls->key_file = dir.path("missing.pem");
  CHECK_THROWS_WITH(actor_system(sc), Catch::Contains("cannot open tls_config::key_file"));
  sc.node->tls = with_key("short");
  CHECK_THROWS_WITH(actor_system(sc), Catch::Contains("is 5 bytes; a pre-shared key is 16 to 512 random bytes"));
  sc.node->tls = with_key("", {{"b", cluster_key}, {"z", cluster_key}});
  CHECK_THROWS_WITH(actor_system(sc), Catch::Contains("peer_keys names \"z\", which is not one of its peers"));
}

TEST_CASE("nodes that share a pre-shared key link over TLS 1.3 and an ask crosses the link") {
  pair_of_nodes nodes(with_key(cluster_key), with_key(cluster_key));
  REQUIRE(nodes.linked());
  nodes.ask_crosses();
}

TEST_CASE("a node with a wrong pre-shared key is refused, logged with its address, and the nodes go on serving") {
  pair_of_nodes nodes(with_key(cluster_key), with_key(cluster_key));
  REQUIRE(nodes.linked());
  log_lines stranger_log;
  auto stranger = make_node("a", {"b"}, with_key(other_key), stranger_log);
  stranger->set_peer_address("b", endpoint{"127.0.0.1", nodes.b->node_port()});
  CHECK_FALSE(nodes.log_b.wait_for({"link from an unidentified node (127.0.0.1:",
                                    "TLS handshake failed: the peer's pre-shared key for \"a\" is not this node's"})
                   .empty());
  CHECK_FALSE(stranger_log.wait_for({"link to node \"b\"", "the peer does not take this node's pre-shared key"}).empty());
  CHECK(stranger->links_up() == 0);
  nodes.ask_crosses();
  CHECK(nodes.linked(1s));
}

TEST_CASE("with a pre-shared key per pair of nodes, a node cannot link as another node") {
  // Keys: a-b, b-c. Node c, holding only its key with b, dials b saying it is a.
  const std::string ab = "key shared by a and b only!";
  const std::string bc = "key shared by b and c only!";
  log_lines log_a, log_b, log_c;
  auto a = make_node("a", {"b"}, with_key("", {{"b", ab}}), log_a);
  auto b = make_node("b", {"a", "c"}, with_key("", {{"a", ab}, {"c", bc}}), log_b);
  a->set_peer_address("b", endpoint{"127.0.0.1", b->node_port()});
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (a->links_up() == 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  REQUIRE(a->links_up() == 1);
  auto impostor = make_node("a", {"b"}, with_key("", {{"b", bc}}), log_c);
  impostor->set_peer_address("b", endpoint{"127.0.0.1", b->node_port()});
  CHECK_FALSE(log_b.wait_for({"TLS handshake failed: the peer's pre-shared key for \"a\" is not this node's"}).empty());
  CHECK(impostor->links_up() == 0);
  CHECK(a->links_up() == 1);
}

TEST_CASE("a node without TLS cannot link to a node with it: the TLS node logs a peer that does not speak TLS 1.3") {
  temp_dir dir;
  test_ca ca(dir.path(""), "cluster-ca");
  log_lines log_b, log_a;
  auto b = make_node("b", {"a"}, with_certificate(ca, ca.issue("b", "b")), log_b);
  node_config config;
  config.name = "a";
  config.cluster = "test";
  config.plaintext = true;
  config.peers["b"] = endpoint{"127.0.0.1", b->node_port()};
  actor_system_config sc;
  sc.workers = 1;
  sc.node = config;
  sc.log = log_a.sink();
  actor_system a(sc);
  CHECK_FALSE(log_b.wait_for({"link from an unidentified node (127.0.0.1:", "TLS handshake failed: the peer does not speak TLS 1.3"})
                   .empty());
  CHECK(a.links_up() == 0);
}
