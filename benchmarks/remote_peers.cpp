// The peers revenant's remote messaging is measured against, each between two processes over
// 127.0.0.1 (the benchmark and a child it starts; see remote_harness.hpp):
//
//   remote_pingpong/asio       raw Asio TCP, TCP_NODELAY: a 32-byte length-prefixed message
//                              echoed back, one round trip at a time (the practical limit)
//   remote_pingpong/asio_tls   the same over TLS 1.3 with mutual authentication (a CA made
//                              for the run signs both ends' certificates)
//   remote_pingpong/caf        CAF 0.17 remote actors (libcaf_io: publish / remote_actor): an
//                              actor sends, the remote actor's handler returns the message
//   remote_ask/caf/<n>         request/response with n requests in flight
//   remote_stream/caf          a one-way stream of small messages, until the receiver has
//                              counted them all (it reports back once it has)
//
// items_per_second counts round trips, requests answered, or messages received; p50_us and
// p99_us are the latencies of single round trips (or requests). CAF runs two scheduler threads
// on each side, as in runtime_bench. Benchmarks of revenant's own links sit beside these under
// the same scenario names (<scenario>/revenant).
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <openssl/ssl.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "remote_harness.hpp"
#include "tls_certificates.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

namespace {

using asio::ip::tcp;
using remote_bench::done_signal;
using remote_bench::latency_recorder;
using remote_bench::payload;
using remote_bench::peer_process;
using steady = std::chrono::steady_clock;

// Runs a benchmark body; an exception (a peer that would not start, a connection refused)
// becomes the benchmark's error instead of ending the program.
void guarded(benchmark::State& state, const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// ---- raw Asio ------------------------------------------------------------------------------

// A frame: a 4-byte little-endian length, then that many bytes.
constexpr std::size_t header_bytes = 4;
constexpr std::size_t frame_bytes = header_bytes + remote_bench::payload_bytes;
constexpr std::uint32_t max_body_bytes = 1024;  // the server drops a peer that announces more

std::array<char, frame_bytes> make_frame() {
  std::array<char, frame_bytes> frame{};
  const auto length = static_cast<std::uint32_t>(remote_bench::payload_bytes);
  for (std::size_t i = 0; i < header_bytes; ++i) frame[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  std::memcpy(frame.data() + header_bytes, payload().data(), payload().size());
  return frame;
}

std::uint32_t read_length(const char* p) {
  std::uint32_t length = 0;
  for (std::size_t i = 0; i < header_bytes; ++i) length |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return length;
}

// Echoes every complete frame back on one connection. Reads whatever has arrived, answers all
// the frames in it with one write, then reads again, as a framed protocol's server does.
template <class Stream>
class echo_session : public std::enable_shared_from_this<echo_session<Stream>> {
 public:
  template <class... Args>
  explicit echo_session(Args&&... args) : stream_(std::forward<Args>(args)...) {}

  // Reads and answers until the client leaves (after a TLS handshake, on a TLS stream).
  void start() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      read();
    } else {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](const asio::error_code& ec) {
                                if (!ec) self->read();
                              });
    }
  }

 private:
  void read() {
    stream_.async_read_some(asio::buffer(in_.data() + have_, in_.size() - have_),
                            [self = this->shared_from_this()](const asio::error_code& ec, std::size_t n) {
                              if (!ec) self->received(n);
                            });
  }

  void received(std::size_t n) {
    have_ += n;
    std::size_t used = 0;
    while (have_ - used >= header_bytes) {
      const std::uint32_t length = read_length(in_.data() + used);
      if (length > max_body_bytes) return;  // not our client: drop it
      if (have_ - used < header_bytes + length) break;
      out_.insert(out_.end(), in_.data() + used, in_.data() + used + header_bytes + length);
      used += header_bytes + length;
    }
    std::memmove(in_.data(), in_.data() + used, have_ - used);
    have_ -= used;
    if (out_.empty()) return read();
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this()](const asio::error_code& ec, std::size_t) {
                        self->out_.clear();
                        if (!ec) self->read();
                      });
  }

  Stream stream_;
  std::array<char, 16 * 1024> in_{};
  std::size_t have_ = 0;
  std::vector<char> out_;
};

// The TLS settings both ends use: TLS 1.3 only, each side proves itself with a certificate
// signed by the run's CA and checks the other's.
void configure_tls(asio::ssl::context& ctx, const std::string& dir, const std::string& who) {
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_3_VERSION) != 1) {
    throw std::runtime_error("cannot require TLS 1.3");
  }
  ctx.use_certificate_chain_file(remote_bench::tls_certificates::certificate(dir, who));
  ctx.use_private_key_file(remote_bench::tls_certificates::key(dir, who), asio::ssl::context::pem);
  ctx.load_verify_file(remote_bench::tls_certificates::ca(dir));
  ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
}

// `--serve asio [--tls-dir DIR]`: the echo server, over TLS when given the certificates.
int serve_asio(const std::vector<std::string>& args, int report_fd) {
  const bool tls = args.size() == 2 && args[0] == "--tls-dir";
  asio::io_context io(1);
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  if (tls) configure_tls(ctx, args[1], "server");
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  remote_bench::report_port(report_fd, acceptor.local_endpoint().port());
  std::function<void()> accept = [&] {
    acceptor.async_accept([&](const asio::error_code& ec, tcp::socket socket) {
      if (!ec) {
        socket.set_option(tcp::no_delay(true));
        if (tls) {
          std::make_shared<echo_session<asio::ssl::stream<tcp::socket>>>(std::move(socket), ctx)->start();
        } else {
          std::make_shared<echo_session<tcp::socket>>(std::move(socket))->start();
        }
      }
      accept();
    });
  };
  accept();
  io.run();
  return 0;
}
[[maybe_unused]] const bool asio_registered = remote_bench::register_server("asio", serve_asio);

// One synchronous round trip after another: write a frame, read the echo, check it.
template <class Stream>
void ping_pong(benchmark::State& state, Stream& stream, const peer_process& peer) {
  const auto frame = make_frame();
  std::array<char, frame_bytes> reply{};
  latency_recorder latencies;
  latencies.reserve(1 << 20);
  for (auto _ : state) {
    const auto sent = steady::now();
    asio::error_code ec;
    asio::write(stream, asio::buffer(frame), ec);
    if (!ec) asio::read(stream, asio::buffer(reply), ec);
    latencies.record(steady::now() - sent);
    if (ec || reply != frame) {
      const std::string why = ec ? "round trip failed: " + ec.message() : "the echo differs from the message";
      state.SkipWithError((why + (peer.expired() ? " (the peer outlived its lifetime and was killed)" : "")).c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  latencies.report(state);
}

void remote_pingpong_asio(benchmark::State& state) {
  guarded(state, [&] {
    peer_process peer("asio", {});
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), peer.port()));
    socket.set_option(tcp::no_delay(true));
    ping_pong(state, socket, peer);
  });
}
BENCHMARK(remote_pingpong_asio)->Name("remote_pingpong/asio")->UseRealTime()->MinTime(1.0);

void remote_pingpong_asio_tls(benchmark::State& state) {
  guarded(state, [&] {
    const remote_bench::tls_certificates certificates;
    peer_process peer("asio", {"--tls-dir", certificates.dir()});
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    configure_tls(ctx, certificates.dir(), "client");
    ctx.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
    asio::ssl::stream<tcp::socket> stream(io, ctx);
    stream.lowest_layer().connect(tcp::endpoint(asio::ip::address_v4::loopback(), peer.port()));
    stream.lowest_layer().set_option(tcp::no_delay(true));
    stream.handshake(asio::ssl::stream_base::client);
    if (SSL_version(stream.native_handle()) != TLS1_3_VERSION) throw std::runtime_error("TLS 1.3 was not negotiated");
    ping_pong(state, stream, peer);
  });
}
BENCHMARK(remote_pingpong_asio_tls)->Name("remote_pingpong/asio_tls")->UseRealTime()->MinTime(1.0);

// ---- CAF remote actors ---------------------------------------------------------------------

using begin_atom = caf::atom_constant<caf::atom("begin")>;
using item_atom = caf::atom_constant<caf::atom("item")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

constexpr int caf_workers = 2;  // on each side, as runtime_bench gives both systems
constexpr auto caf_batch_timeout = std::chrono::seconds(30);

void configure(caf::actor_system_config& config) {
  config.set("scheduler.max-threads", caf_workers);
  config.load<caf::io::middleman>();
}

// The remote side: answers (seq, payload) with the same, and counts a stream, reporting the
// count to the stream's sender once it has seen as many items as announced.
struct stream_count {
  std::int64_t expected = 0;
  std::int64_t seen = 0;
  caf::actor reporter;
};

caf::behavior caf_server(caf::stateful_actor<stream_count>* self) {
  return {
      [](std::int64_t seq, std::string& body) -> caf::result<std::int64_t, std::string> {
        return {seq, std::move(body)};
      },
      [=](begin_atom, std::int64_t expected) {
        self->state = stream_count{expected, 0, caf::actor_cast<caf::actor>(self->current_sender())};
      },
      [=](item_atom, std::int64_t, const std::string&) {
        if (++self->state.seen == self->state.expected) self->send(self->state.reporter, done_atom::value, self->state.seen);
      },
  };
}

// `--serve caf`: publishes the server actor on 127.0.0.1 and serves until killed.
int serve_caf(const std::vector<std::string>&, int report_fd) {
  caf::actor_system_config config;
  configure(config);
  caf::actor_system system(config);
  auto port = system.middleman().publish(system.spawn(caf_server), 0, "127.0.0.1");
  if (!port) {
    std::fprintf(stderr, "remote_bench: CAF cannot publish: %s\n", system.render(port.error()).c_str());
    return 1;
  }
  remote_bench::report_port(report_fd, *port);
  for (;;) ::pause();
}
[[maybe_unused]] const bool caf_registered = remote_bench::register_server("caf", serve_caf);

// What a batch's actor shares with the benchmark thread; shared, so that an actor still
// running when the benchmark gives up on it touches nothing freed.
struct batch {
  latency_recorder latencies;  // written by the actor, read after `done`
  done_signal done;
};

// A CAF system in this process connected to the remote server actor. Members are destroyed in
// reverse: the system before the peer process.
struct caf_client {
  peer_process peer{"caf", {}};
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;
  caf::actor server;

  caf_client() {
    configure(config);
    system = std::make_unique<caf::actor_system>(config);
    auto found = system->middleman().remote_actor("127.0.0.1", peer.port());
    if (!found) throw std::runtime_error("CAF remote_actor: " + system->render(found.error()));
    server = *found;
  }

  // Runs one batch actor to its end; false (and the benchmark's error) if it fails or outlives
  // the timeout, in which case it is killed.
  bool run(benchmark::State& state, const caf::actor& actor, const std::shared_ptr<batch>& b) {
    if (b->done.wait_for(caf_batch_timeout)) return true;
    caf::anon_send_exit(actor, caf::exit_reason::kill);
    state.SkipWithError(peer.expired() ? "the peer outlived its lifetime and was killed"
                                       : "a CAF batch failed or did not finish within 30 s");
    return false;
  }
};

// Ping-pong: a plain send; the server's handler returns the message, which CAF sends back.
struct pinger_state {
  std::int64_t count = 0;
  steady::time_point sent;
};

caf::behavior caf_pinger(caf::stateful_actor<pinger_state>* self, caf::actor server, std::int64_t count,
                         std::shared_ptr<batch> b) {
  self->state.count = count;
  self->state.sent = steady::now();
  self->send(server, std::int64_t{0}, payload());
  return {
      [=](std::int64_t seq, const std::string&) {
        b->latencies.record(steady::now() - self->state.sent);
        if (seq + 1 == self->state.count) {
          b->done.raise();
          self->quit();
          return;
        }
        self->state.sent = steady::now();
        self->send(server, seq + 1, payload());
      },
  };
}

constexpr std::int64_t pingpong_batch = 1'000;

void remote_pingpong_caf(benchmark::State& state) {
  guarded(state, [&] {
    caf_client client;
    latency_recorder latencies;
    for (auto _ : state) {
      auto b = std::make_shared<batch>();
      auto actor = client.system->spawn(caf_pinger, client.server, pingpong_batch, b);
      if (!client.run(state, actor, b)) break;
      latencies.merge(b->latencies);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * pingpong_batch);
    latencies.report(state);
  });
}
BENCHMARK(remote_pingpong_caf)->Name("remote_pingpong/caf")->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

// Asks: request(...).then(...) with a 10 s timeout, keeping `window` requests in flight.
struct asker_state {
  caf::actor server;
  std::int64_t count = 0;
  std::int64_t sent = 0;
  std::int64_t answered = 0;
  std::shared_ptr<batch> b;
};

void caf_ask_next(caf::stateful_actor<asker_state>* self) {
  const auto seq = self->state.sent++;
  const auto sent = steady::now();
  self->request(self->state.server, std::chrono::seconds(10), seq, payload())
      .then(
          [=](std::int64_t, const std::string&) {
            auto& s = self->state;
            s.b->latencies.record(steady::now() - sent);
            if (++s.answered == s.count) {
              s.b->done.raise();
              self->quit();
            } else if (s.sent < s.count) {
              caf_ask_next(self);
            }
          },
          [=](caf::error&) {
            self->state.b->done.raise(false);
            self->quit();
          });
}

caf::behavior caf_asker(caf::stateful_actor<asker_state>* self, caf::actor server, std::int64_t count,
                        std::int64_t window, std::shared_ptr<batch> b) {
  self->state = asker_state{std::move(server), count, 0, 0, std::move(b)};
  for (std::int64_t i = 0; i < window && i < count; ++i) caf_ask_next(self);
  return {[](std::int64_t) {}};  // answers arrive through the requests' handlers
}

void remote_ask_caf(benchmark::State& state) {
  const std::int64_t window = state.range(0);
  const std::int64_t count = window == 1 ? 1'000 : 20'000;
  guarded(state, [&] {
    caf_client client;
    latency_recorder latencies;
    for (auto _ : state) {
      auto b = std::make_shared<batch>();
      auto actor = client.system->spawn(caf_asker, client.server, count, window, b);
      if (!client.run(state, actor, b)) break;
      latencies.merge(b->latencies);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * count);
    latencies.report(state);
  });
}
BENCHMARK(remote_ask_caf)->Name("remote_ask/caf")->Arg(1)->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

// A one-way stream: announce the count, send the items, wait for the receiver's count.
caf::behavior caf_streamer(caf::event_based_actor* self, caf::actor server, std::int64_t count,
                           std::shared_ptr<batch> b) {
  self->send(server, begin_atom::value, count);
  for (std::int64_t i = 0; i < count; ++i) self->send(server, item_atom::value, i, payload());
  return {
      [=](done_atom, std::int64_t seen) {
        b->done.raise(seen == count);
        self->quit();
      },
  };
}

constexpr std::int64_t stream_batch = 100'000;

void remote_stream_caf(benchmark::State& state) {
  guarded(state, [&] {
    caf_client client;
    for (auto _ : state) {
      auto b = std::make_shared<batch>();
      auto actor = client.system->spawn(caf_streamer, client.server, stream_batch, b);
      if (!client.run(state, actor, b)) break;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * stream_batch);
  });
}
BENCHMARK(remote_stream_caf)->Name("remote_stream/caf")->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

}  // namespace
