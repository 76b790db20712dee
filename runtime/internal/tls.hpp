// TLS below the node links' preface (docs/wire.md, section 9): the context a node builds once
// from its tls_config — TLS 1.3 only, mutual certificates or pre-shared keys — the node name a
// peer's handshake proved, and why a handshake failed, in words that tell each cause apart.
// Read-only once built: shared by every connection of the node, from any thread.
#pragma once

#include <asio/ssl/context.hpp>

#include <string>
#include <system_error>

#include "runtime/node.hpp"
#include "storage/wire.hpp"

namespace revenant::detail {

class tls_context;

// What one connection's handshake learns besides its outcome. Owned by the connection; the
// pre-shared-key callbacks fill it during the handshake (on the connection's strand).
struct tls_peer {
  const tls_context* context = nullptr;
  std::string dialed;        // dialer: the node it dialed (whose key it offers); listener: empty
  std::string psk_identity;  // listener, pre-shared keys: the identity the dialer offered
  std::string refusal;       // why this node's own check refused the handshake, if it did
};

class tls_context {
 public:
  // Loads and checks the files or keys of config.tls (which must be set): TLS 1.3 only, peers
  // verified against the CA, this node's certificate naming this node. Throws
  // std::invalid_argument naming the node and the file or key at fault.
  explicit tls_context(const node_config& config);
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  // For asio::ssl::stream's constructor (which takes it by reference; streams do not change it).
  asio::ssl::context& native() noexcept { return context_; }
  bool pre_shared_keys() const noexcept { return psk_; }

  // Before the handshake: ties the stream's SSL object to peer (which must outlive the stream).
  void prepare(SSL* ssl, tls_peer& peer) const;
  // After a handshake that succeeded: the node name the peer proved — its certificate's subject
  // common name, the pre-shared key's identity (listener) or the node whose key was used
  // (dialer) — or empty if it proved none.
  std::string identity(SSL* ssl, const tls_peer& peer, wire::role side) const;
  // A handshake that failed with ec, in words: a missing certificate, one of another CA, another
  // verification failure, a wrong or unknown pre-shared key, a peer that refused ours, or a peer
  // that does not speak TLS 1.3 each read differently.
  std::string explain(SSL* ssl, const tls_peer& peer, const std::error_code& ec) const;

  // The pre-shared key for a node (the one shared with it alone, else the cluster's), or null.
  const std::string* key_for(const std::string& node) const noexcept;
  const std::string& own_name() const noexcept { return own_name_; }

 private:
  asio::ssl::context context_;
  std::string own_name_;
  bool psk_ = false;
  tls_psk keys_;
};

}  // namespace revenant::detail
