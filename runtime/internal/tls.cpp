#include "runtime/internal/tls.hpp"

#include <asio/error.hpp>
#include <asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace revenant::detail {
namespace {

// The suites a link may use, fastest first where AES instructions exist. All three are TLS 1.3's
// AEADs; the pre-shared-key mode uses the first (its key is bound to SHA-256, which the third
// shares, so a node may still pick either).
constexpr const char* cipher_suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr unsigned char aes_128_gcm_sha256[2] = {0x13, 0x01};  // its number in the TLS registry

// The session id context of every node's TLS context and pre-shared key sessions.
constexpr unsigned char session_context[] = "revenant node link";

constexpr std::size_t min_key_size = 16;
constexpr std::size_t max_key_size = 512;  // OpenSSL's bound on a TLS 1.3 pre-shared key

bool is_node_name(std::string_view s) {
  if (s.empty() || s.size() > wire::max_node_name_size) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
          c == '_'))
      return false;
  return true;
}

// A name a peer sent, fit for a log line.
std::string shown(std::string_view s) {
  if (is_node_name(s)) return "\"" + std::string(s) + "\"";
  return "an identity of " + std::to_string(s.size()) + " bytes that is not a node name";
}

// What OpenSSL's error queue says (and empties it).
std::string openssl_error() {
  std::string text;
  while (const unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? std::string("no detail from OpenSSL") : text;
}

// The single subject common name of a certificate, if it has exactly one.
std::optional<std::string> common_name(X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  if (subject == nullptr) return std::nullopt;
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0) return std::nullopt;
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
  if (n < 0) return std::nullopt;
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return name;
}

int peer_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

tls_peer* peer_of(SSL* ssl) { return static_cast<tls_peer*>(SSL_get_ex_data(ssl, peer_index())); }

// A TLS 1.3 session that stands for an external pre-shared key (OpenSSL's way to offer one).
SSL_SESSION* key_session(SSL* ssl, const std::string& key) {
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, aes_128_gcm_sha256);
  SSL_SESSION* session = SSL_SESSION_new();
  if (cipher == nullptr || session == nullptr ||
      !SSL_SESSION_set1_master_key(session, reinterpret_cast<const unsigned char*>(key.data()), key.size()) ||
      !SSL_SESSION_set_cipher(session, cipher) || !SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION) ||
      !SSL_SESSION_set1_id_context(session, session_context, sizeof session_context - 1)) {
    SSL_SESSION_free(session);
    return nullptr;
  }
  return session;
}

// Dialer: offers the key for the node it dialed, under its own name.
int use_key(SSL* ssl, const EVP_MD* md, const unsigned char** id, std::size_t* id_size, SSL_SESSION** session) {
  *id = nullptr;
  *id_size = 0;
  *session = nullptr;
  tls_peer* peer = peer_of(ssl);
  if (peer == nullptr) return 0;
  const std::string* key = peer->context->key_for(peer->dialed);
  if (key == nullptr) {
    peer->refusal = "this node has no pre-shared key for node \"" + peer->dialed + "\"";
    return 0;
  }
  // Asked again after a HelloRetryRequest that chose a suite of another hash: the key cannot be
  // used with it (the listener then fails the handshake, having no certificate).
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, aes_128_gcm_sha256);
  if (md != nullptr && cipher != nullptr && md != SSL_CIPHER_get_handshake_digest(cipher)) return 1;
  *session = key_session(ssl, *key);
  if (*session == nullptr) return 0;
  const std::string& own = peer->context->own_name();
  *id = reinterpret_cast<const unsigned char*>(own.data());
  *id_size = own.size();
  return 1;
}

// Listener: the key for the identity the dialer offered, if it has one.
int find_key(SSL* ssl, const unsigned char* id, std::size_t id_size, SSL_SESSION** session) {
  *session = nullptr;
  tls_peer* peer = peer_of(ssl);
  if (peer == nullptr) return 0;
  peer->psk_identity.assign(reinterpret_cast<const char*>(id), id_size);
  const std::string* key = is_node_name(peer->psk_identity) ? peer->context->key_for(peer->psk_identity) : nullptr;
  if (key == nullptr) {
    peer->refusal = "no pre-shared key for " + shown(peer->psk_identity) + " (not_authenticated)";
    return 0;
  }
  *session = key_session(ssl, *key);
  return *session == nullptr ? 0 : 1;
}

void check_key(const std::string& node, const std::string& what, const std::string& key) {
  if (key.size() < min_key_size || key.size() > max_key_size)
    throw std::invalid_argument("revenant: node \"" + node + "\": " + what + " is " + std::to_string(key.size()) +
                                " bytes; a pre-shared key is 16 to 512 random bytes");
}

// Fails early, naming the file, if it cannot be opened at all (OpenSSL's own error would not
// say why).
void check_readable(const std::string& node, const char* what, const std::string& path) {
  if (path.empty())
    throw std::invalid_argument("revenant: node \"" + node + "\": tls_config::" + what +
                                " is empty (set the three files, or psk)");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    throw std::invalid_argument("revenant: node \"" + node + "\": cannot open tls_config::" + what + " \"" + path +
                                "\": " + std::strerror(errno));
  std::fclose(f);
}

}  // namespace

tls_context::tls_context(const node_config& config) : context_(asio::ssl::context::tls), own_name_(config.name) {
  const tls_config& tls = *config.tls;
  const std::string& node = config.name;
  SSL_CTX* ctx = context_.native_handle();
  ERR_clear_error();
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) || !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_ciphersuites(ctx, cipher_suites))
    throw std::invalid_argument("revenant: node \"" + node + "\": this OpenSSL cannot restrict links to TLS 1.3: " +
                                openssl_error());
  // Every handshake is a full one (or a pre-shared key's): no tickets, no session cache, nothing
  // kept from one connection to the next.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  // OpenSSL requires a session id context of a listener that verifies peers before it takes a
  // session, which is how it takes a pre-shared key (whose session carries the same context).
  SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);
  // Both sides present a certificate and check the other's. Under pre-shared keys no certificate
  // is sent, and none would pass (no CA is loaded): a listener that does not take the key cannot
  // fall back to a certificate.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);

  if (tls.psk) {
    if (!tls.ca_file.empty() || !tls.cert_file.empty() || !tls.key_file.empty())
      throw std::invalid_argument("revenant: node \"" + node +
                                  "\": tls_config has both certificate files and psk; choose one");
    psk_ = true;
    keys_ = *tls.psk;
    if (!keys_.key.empty()) check_key(node, "tls_psk::key", keys_.key);
    for (const auto& [peer, key] : keys_.peer_keys) {
      if (!config.peers.contains(peer))
        throw std::invalid_argument("revenant: node \"" + node + "\": tls_psk::peer_keys names \"" + peer +
                                    "\", which is not one of its peers");
      check_key(node, "the pre-shared key for peer \"" + peer + "\"", key);
    }
    for (const auto& [peer, _] : config.peers)
      if (key_for(peer) == nullptr)
        throw std::invalid_argument("revenant: node \"" + node + "\": no pre-shared key for peer \"" + peer +
                                    "\" (set tls_psk::key, or peer_keys[\"" + peer + "\"])");
    SSL_CTX_set_psk_use_session_callback(ctx, use_key);
    SSL_CTX_set_psk_find_session_callback(ctx, find_key);
    return;
  }

  check_readable(node, "ca_file", tls.ca_file);
  check_readable(node, "cert_file", tls.cert_file);
  check_readable(node, "key_file", tls.key_file);
  if (!SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr))
    throw std::invalid_argument("revenant: node \"" + node + "\": no CA certificate read from \"" + tls.ca_file +
                                "\": " + openssl_error());
  if (!SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()))
    throw std::invalid_argument("revenant: node \"" + node + "\": no certificate read from \"" + tls.cert_file +
                                "\": " + openssl_error());
  if (!SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM))
    throw std::invalid_argument("revenant: node \"" + node + "\": no private key read from \"" + tls.key_file +
                                "\": " + openssl_error());
  if (!SSL_CTX_check_private_key(ctx))
    throw std::invalid_argument("revenant: node \"" + node + "\": the key in \"" + tls.key_file +
                                "\" is not the certificate's in \"" + tls.cert_file + "\": " + openssl_error());
  const std::optional<std::string> named = common_name(SSL_CTX_get0_certificate(ctx));
  if (named != node)
    throw std::invalid_argument("revenant: node \"" + node + "\": the certificate in \"" + tls.cert_file + "\" names " +
                                (named ? "\"" + *named + "\"" : std::string("no single node")) +
                                " (its subject common name), not this node; its peers would refuse it");
}

const std::string* tls_context::key_for(const std::string& node) const noexcept {
  if (!psk_) return nullptr;
  if (auto it = keys_.peer_keys.find(node); it != keys_.peer_keys.end()) return &it->second;
  return keys_.key.empty() ? nullptr : &keys_.key;
}

void tls_context::prepare(SSL* ssl, tls_peer& peer) const {
  peer.context = this;
  SSL_set_ex_data(ssl, peer_index(), &peer);
}

std::string tls_context::identity(SSL* ssl, const tls_peer& peer, wire::role side) const {
  if (psk_) {
    // Only a handshake that used the key proves anything (SSL_session_reused: it resumed the
    // session that stands for the key).
    if (!SSL_session_reused(ssl)) return {};
    return side == wire::role::dialer ? peer.dialed : peer.psk_identity;
  }
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return {};
  return common_name(cert).value_or(std::string());
}

std::string tls_context::explain(SSL* ssl, const tls_peer& peer, const std::error_code& ec) const {
  if (!peer.refusal.empty()) return peer.refusal;
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset)
    return "the peer closed the connection during the TLS handshake";
  if (ec.category() != asio::error::get_ssl_category()) return ec.message();
  const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  switch (reason) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return "the peer presented no certificate (not_authenticated)";
    case SSL_R_CERTIFICATE_VERIFY_FAILED: {
      const long result = SSL_get_verify_result(ssl);
      const std::string detail = X509_verify_cert_error_string(result);
      switch (result) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
          return "the peer's certificate is not signed by this node's CA (" + detail + ")";
        default:
          return "the peer's certificate fails verification (" + detail + ")";
      }
    }
    case SSL_R_BINDER_DOES_NOT_VERIFY:
      return "the peer's pre-shared key for " + shown(peer.psk_identity) + " is not this node's (not_authenticated)";
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return "the peer requires a certificate this node did not present";
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      return "the peer does not trust this node's certificate (another CA)";
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
    case SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER:  // what OpenSSL answers a binder that does not verify
      if (psk_) return "the peer does not take this node's pre-shared key (" + ec.message() + ")";
      break;
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
      return "the peer does not speak TLS 1.3 (" + ec.message() + ")";
    default:
      break;
  }
  if (reason > SSL_AD_REASON_OFFSET) return "the peer refused the handshake (" + ec.message() + ")";
  return ec.message();
}

}  // namespace revenant::detail
