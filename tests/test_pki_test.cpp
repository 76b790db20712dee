// The certificates the TLS tests and the remote benchmarks make at run time
// (tests/support/test_pki.hpp): they chain to their CA, name their node, and name an IP address
// only when asked to (a raw TLS client checks the server's address as its host name).
#include <catch2/catch.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "tests/support/child_process.hpp"
#include "tests/support/test_pki.hpp"

using namespace revenant::test;

namespace {

struct cert_deleter {
  void operator()(X509* c) const { X509_free(c); }
};
using cert_ptr = std::unique_ptr<X509, cert_deleter>;

cert_ptr load_certificate(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  cert_ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!cert) throw std::runtime_error("no certificate in " + path);
  return cert;
}

// True if cert's signature checks with the public key of the CA certificate ca.
bool signed_by(X509* cert, X509* ca) { return X509_verify(cert, X509_get0_pubkey(ca)) == 1; }

std::string common_name(X509* cert) {
  char name[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
  return name;
}

}  // namespace

TEST_CASE("a certificate issued for an IP address names that address, and one issued without names none") {
  temp_dir dir;
  test_ca ca(dir.path(""), "run-ca");
  const cert_ptr ca_cert = load_certificate(ca.ca_file());
  const cert_ptr server = load_certificate(ca.issue("server", "server", "127.0.0.1").cert_file);
  const cert_ptr node = load_certificate(ca.issue("a", "a").cert_file);

  CHECK(signed_by(server.get(), ca_cert.get()));
  CHECK(signed_by(node.get(), ca_cert.get()));
  CHECK(common_name(server.get()) == "server");
  CHECK(common_name(node.get()) == "a");
  CHECK(X509_check_ip_asc(server.get(), "127.0.0.1", 0) == 1);
  CHECK(X509_check_ip_asc(server.get(), "127.0.0.2", 0) == 0);
  CHECK(X509_check_ip_asc(node.get(), "127.0.0.1", 0) == 0);
}
