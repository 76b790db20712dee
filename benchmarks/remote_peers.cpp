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
//   remote_stream/caf          a one-way stream of small messages (a sequence number each),
//                              with the flow control of remote_harness.hpp: the receiver
//                              acknowledges every stream_ack_every, the sender keeps at most
//                              stream_window unacknowledged
//   remote_stream/asio         the same stream as raw Asio TCP records (length-prefixed u64s)
//   remote_stream/asio_tls     and over TLS 1.3 with mutual authentication
//
// items_per_second counts round trips, requests answered, or messages received; p50_us and
// p99_us are the latencies of single round trips (or requests); the streams report both
// processes' peak resident set sizes (sender_peak_rss_MiB, receiver_peak_rss_MiB). CAF runs two
// scheduler threads on each side, as in runtime_bench. Benchmarks of revenant's own links sit
// beside these under the same scenario names (<scenario>/revenant).
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

// One connection of a server speaking a framed protocol: reads whatever has arrived, has
// Derived answer the complete frames in it (Derived::consume), writes the answers in one write,
// then reads again.
template <class Derived, class Stream>
class framed_session : public std::enable_shared_from_this<Derived> {
 public:
  // What consume returns to drop the connection (a peer that is not our client).
  static constexpr std::size_t drop = static_cast<std::size_t>(-1);

  template <class... Args>
  explicit framed_session(Args&&... args) : stream_(std::forward<Args>(args)...) {}

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
    // Derived::consume(data, size, out): appends its answers to out; returns the bytes it used.
    const std::size_t used = static_cast<Derived*>(this)->consume(in_.data(), have_, out_);
    if (used == drop) return;
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
  std::array<char, 64 * 1024> in_{};
  std::size_t have_ = 0;
  std::vector<char> out_;
};

// Echoes every complete frame back.
template <class Stream>
class echo_session : public framed_session<echo_session<Stream>, Stream> {
 public:
  using framed_session<echo_session<Stream>, Stream>::framed_session;

  std::size_t consume(const char* in, std::size_t have, std::vector<char>& out) {
    std::size_t used = 0;
    while (have - used >= header_bytes) {
      const std::uint32_t length = read_length(in + used);
      if (length > max_body_bytes) return this->drop;
      if (have - used < header_bytes + length) break;
      out.insert(out.end(), in + used, in + used + header_bytes + length);
      used += header_bytes + length;
    }
    return used;
  }
};

// The TLS settings both ends use: TLS 1.3 only, each side proves itself with a certificate
// signed by the run's CA and checks the other's.
void configure_tls(asio::ssl::context& ctx, const std::string& ca_file, const std::string& cert_file,
                   const std::string& key_file) {
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_3_VERSION) != 1) {
    throw std::runtime_error("cannot require TLS 1.3");
  }
  ctx.use_certificate_chain_file(cert_file);
  ctx.use_private_key_file(key_file, asio::ssl::context::pem);
  ctx.load_verify_file(ca_file);
  ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
}

// Serves connections on 127.0.0.1 with a Session (a template over the stream type) each, over
// TLS when args are `--tls CA CERT KEY`.
template <template <class> class Session>
int serve_sessions(const std::vector<std::string>& args, int report_fd) {
  const bool tls = args.size() == 4 && args[0] == "--tls";
  asio::io_context io(1);
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  if (tls) configure_tls(ctx, args[1], args[2], args[3]);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  remote_bench::report_port(report_fd, acceptor.local_endpoint().port());
  std::function<void()> accept = [&] {
    acceptor.async_accept([&](const asio::error_code& ec, tcp::socket socket) {
      if (!ec) {
        socket.set_option(tcp::no_delay(true));
        if (tls) {
          std::make_shared<Session<asio::ssl::stream<tcp::socket>>>(std::move(socket), ctx)->start();
        } else {
          std::make_shared<Session<tcp::socket>>(std::move(socket))->start();
        }
      }
      accept();
    });
  };
  accept();
  io.run();
  return 0;
}

// `--serve asio [--tls CA CERT KEY]`: the echo server.
int serve_asio(const std::vector<std::string>& args, int report_fd) { return serve_sessions<echo_session>(args, report_fd); }
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

// A TLS client connected to a server on 127.0.0.1 (whose certificate must name that address),
// both ends with certificates of `certificates`.
struct tls_client {
  asio::io_context io;
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  std::unique_ptr<asio::ssl::stream<tcp::socket>> stream;

  tls_client(const remote_bench::run_certificates& certificates, std::uint16_t port) {
    const auto mine = certificates.issue("client");
    configure_tls(ctx, certificates.ca_file(), mine.cert_file, mine.key_file);
    ctx.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
    stream = std::make_unique<asio::ssl::stream<tcp::socket>>(io, ctx);
    stream->lowest_layer().connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
    stream->lowest_layer().set_option(tcp::no_delay(true));
    stream->handshake(asio::ssl::stream_base::client);
    if (SSL_version(stream->native_handle()) != TLS1_3_VERSION) throw std::runtime_error("TLS 1.3 was not negotiated");
  }
};

// The arguments that start a server over TLS, with a certificate naming 127.0.0.1.
std::vector<std::string> tls_server_args(const remote_bench::run_certificates& certificates) {
  const auto server = certificates.issue("server", "127.0.0.1");
  return {"--tls", certificates.ca_file(), server.cert_file, server.key_file};
}

void remote_pingpong_asio_tls(benchmark::State& state) {
  guarded(state, [&] {
    const remote_bench::run_certificates certificates;
    peer_process peer("asio", tls_server_args(certificates));
    tls_client client(certificates, peer.port());
    ping_pong(state, *client.stream, peer);
  });
}
BENCHMARK(remote_pingpong_asio_tls)->Name("remote_pingpong/asio_tls")->UseRealTime()->MinTime(1.0);

// ---- raw Asio: the one-way stream ---------------------------------------------------------

// A stream record: the 4-byte length (8), then a little-endian u64: a message's sequence number
// (sender to receiver) or the count of messages received so far (an acknowledgement, back).
constexpr std::uint32_t record_body_bytes = 8;
constexpr std::size_t record_bytes = header_bytes + record_body_bytes;

void put_record(char* out, std::uint64_t value) {
  for (std::size_t i = 0; i < header_bytes; ++i) out[i] = static_cast<char>((record_body_bytes >> (8 * i)) & 0xff);
  for (std::size_t i = 0; i < record_body_bytes; ++i) out[header_bytes + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

std::uint64_t record_value(const char* p) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < record_body_bytes; ++i)
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[header_bytes + i])) << (8 * i);
  return value;
}

// The receiving end of a stream on one connection: every record must carry the next sequence
// number (0 starts a new stream); every stream_ack_every records it answers with its count. A
// record out of order (or not a record) drops the connection, which the sender sees.
template <class Stream>
class sink_session : public framed_session<sink_session<Stream>, Stream> {
 public:
  using framed_session<sink_session<Stream>, Stream>::framed_session;

  std::size_t consume(const char* in, std::size_t have, std::vector<char>& out) {
    std::size_t used = 0;
    for (; have - used >= record_bytes; used += record_bytes) {
      if (read_length(in + used) != record_body_bytes) return this->drop;
      const std::uint64_t seq = record_value(in + used);
      if (seq == 0) count_ = 0;
      if (seq != count_) return this->drop;
      if (++count_ % remote_bench::stream_ack_every == 0) {
        out.resize(out.size() + record_bytes);
        put_record(out.data() + out.size() - record_bytes, count_);
      }
    }
    return used;
  }

 private:
  std::uint64_t count_ = 0;
};

// `--serve asio_sink [--tls CA CERT KEY]`: the stream's receiver.
int serve_asio_sink(const std::vector<std::string>& args, int report_fd) {
  return serve_sessions<sink_session>(args, report_fd);
}
[[maybe_unused]] const bool asio_sink_registered = remote_bench::register_server("asio_sink", serve_asio_sink);

constexpr std::int64_t asio_stream_length = 1 << 20;
static_assert(asio_stream_length % remote_bench::stream_ack_every == 0);

// Streams asio_stream_length records per iteration, keeping at most stream_window of them
// unacknowledged: writes what the window allows in one write, then reads acknowledgements.
template <class Stream>
void stream_records(benchmark::State& state, Stream& stream, const peer_process& peer) {
  std::vector<char> out(static_cast<std::size_t>(remote_bench::stream_window) * record_bytes);
  std::array<char, 4096> in{};
  std::size_t have = 0;
  const auto fail = [&](const std::string& why) {
    state.SkipWithError((why + (peer.expired() ? " (the peer outlived its lifetime and was killed)" : "")).c_str());
  };
  for (auto _ : state) {
    std::int64_t sent = 0;
    std::int64_t acked = 0;
    while (acked < asio_stream_length) {
      asio::error_code ec;
      const std::int64_t room = std::min(remote_bench::stream_window - (sent - acked), asio_stream_length - sent);
      if (room > 0) {
        for (std::int64_t i = 0; i < room; ++i)
          put_record(out.data() + static_cast<std::size_t>(i) * record_bytes, static_cast<std::uint64_t>(sent + i));
        asio::write(stream, asio::buffer(out.data(), static_cast<std::size_t>(room) * record_bytes), ec);
        if (ec) return fail("the stream broke: " + ec.message());
        sent += room;
        continue;
      }
      have += stream.read_some(asio::buffer(in.data() + have, in.size() - have), ec);
      if (ec) return fail("the stream broke: " + ec.message());
      std::size_t used = 0;
      for (; have - used >= record_bytes; used += record_bytes) {
        const auto count = static_cast<std::int64_t>(record_value(in.data() + used));
        if (read_length(in.data() + used) != record_body_bytes || count <= acked || count > sent)
          return fail("an acknowledgement does not match what was sent");
        acked = count;
      }
      std::memmove(in.data(), in.data() + used, have - used);
      have -= used;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * asio_stream_length);
  remote_bench::report_peak_rss(state, remote_bench::peak_rss_bytes(), peer.peak_rss_bytes());
}

void remote_stream_asio(benchmark::State& state) {
  guarded(state, [&] {
    remote_bench::reset_peak_rss();
    peer_process peer("asio_sink", {});
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), peer.port()));
    socket.set_option(tcp::no_delay(true));
    stream_records(state, socket, peer);
  });
}
BENCHMARK(remote_stream_asio)->Name("remote_stream/asio")->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

void remote_stream_asio_tls(benchmark::State& state) {
  guarded(state, [&] {
    remote_bench::reset_peak_rss();
    const remote_bench::run_certificates certificates;
    peer_process peer("asio_sink", tls_server_args(certificates));
    tls_client client(certificates, peer.port());
    stream_records(state, *client.stream, peer);
  });
}
BENCHMARK(remote_stream_asio_tls)->Name("remote_stream/asio_tls")->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

// ---- CAF remote actors ---------------------------------------------------------------------

using begin_atom = caf::atom_constant<caf::atom("begin")>;
using item_atom = caf::atom_constant<caf::atom("item")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;

constexpr int caf_workers = 2;  // on each side, as runtime_bench gives both systems
constexpr auto caf_batch_timeout = std::chrono::seconds(30);

void configure(caf::actor_system_config& config) {
  config.set("scheduler.max-threads", caf_workers);
  config.load<caf::io::middleman>();
}

// The remote side: answers (seq, payload) with the same, and counts a stream: every item must
// carry the next sequence number (0 starts a new stream); every stream_ack_every items it tells
// the item's sender how many it has received, and whether they all came in order.
struct stream_count {
  std::int64_t seen = 0;
  bool in_order = true;
};

caf::behavior caf_server(caf::stateful_actor<stream_count>* self) {
  return {
      [](std::int64_t seq, std::string& body) -> caf::result<std::int64_t, std::string> {
        return {seq, std::move(body)};
      },
      [=](item_atom, std::int64_t seq) {
        auto& s = self->state;
        if (seq == 0) s = stream_count{};
        s.in_order = s.in_order && seq == s.seen;
        if (++s.seen % remote_bench::stream_ack_every == 0)
          self->send(caf::actor_cast<caf::actor>(self->current_sender()), ack_atom::value, s.seen, s.in_order);
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

// A one-way stream of count items (a sequence number each), at most stream_window of them
// unacknowledged: what the receiver acknowledges is sent again as new items.
struct streamer_state {
  caf::actor server;
  std::int64_t count = 0;
  std::int64_t sent = 0;
  std::shared_ptr<batch> b;
};

void caf_stream_more(caf::stateful_actor<streamer_state>* self, std::int64_t acked) {
  auto& s = self->state;
  for (; s.sent < s.count && s.sent - acked < remote_bench::stream_window; ++s.sent)
    self->send(s.server, item_atom::value, s.sent);
}

caf::behavior caf_streamer(caf::stateful_actor<streamer_state>* self, caf::actor server, std::int64_t count,
                           std::shared_ptr<batch> b) {
  self->state = streamer_state{std::move(server), count, 0, std::move(b)};
  caf_stream_more(self, 0);
  return {
      [=](ack_atom, std::int64_t seen, bool in_order) {
        auto& s = self->state;
        if (!in_order || seen > s.sent) {
          s.b->done.raise(false);
          self->quit();
        } else if (seen == s.count) {
          s.b->done.raise(true);
          self->quit();
        } else {
          caf_stream_more(self, seen);
        }
      },
  };
}

constexpr std::int64_t caf_stream_length = 102'400;
static_assert(caf_stream_length % remote_bench::stream_ack_every == 0);

void remote_stream_caf(benchmark::State& state) {
  guarded(state, [&] {
    remote_bench::reset_peak_rss();
    caf_client client;
    for (auto _ : state) {
      auto b = std::make_shared<batch>();
      auto actor = client.system->spawn(caf_streamer, client.server, caf_stream_length, b);
      if (!client.run(state, actor, b)) break;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * caf_stream_length);
    remote_bench::report_peak_rss(state, remote_bench::peak_rss_bytes(), client.peer.peak_rss_bytes());
  });
}
BENCHMARK(remote_stream_caf)->Name("remote_stream/caf")->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

}  // namespace
