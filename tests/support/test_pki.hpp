// Certificates made at run time: a certificate authority and the node certificates it signs,
// written as PEM files into a directory the caller owns (EC P-256 keys, SHA-256 signatures, valid
// from a minute ago for a day). For the TLS tests and the remote benchmarks only: nothing here is
// fit to guard anything.
#pragma once

#include <memory>
#include <string>

namespace revenant::test {

// A PEM certificate file and its private key's file.
struct issued_files {
  std::string cert_file;
  std::string key_file;
};

class test_ca {
 public:
  // A self-signed CA whose subject common name is name; its certificate is written to
  // <dir>/<name>.ca.pem. Throws std::runtime_error with OpenSSL's reason if anything fails.
  test_ca(std::string dir, std::string name);
  ~test_ca();
  test_ca(const test_ca&) = delete;
  test_ca& operator=(const test_ca&) = delete;

  // The CA's certificate, for tls_config::ca_file.
  const std::string& ca_file() const noexcept { return ca_file_; }
  // A certificate for common_name (a node name; empty: a subject without a common name), signed
  // by this CA, usable by a client and by a server; written to <dir>/<file>.pem and
  // <dir>/<file>.key.pem. With an ip_address ("127.0.0.1"), it also names that address
  // (subjectAltName), for a client that checks the server's address as its host name.
  issued_files issue(const std::string& common_name, const std::string& file,
                     const std::string& ip_address = {}) const;

 private:
  struct keys;
  std::string dir_;
  std::string ca_file_;
  std::unique_ptr<keys> keys_;
};

}  // namespace revenant::test
