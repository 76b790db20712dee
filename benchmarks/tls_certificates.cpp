#include "tls_certificates.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace remote_bench {
namespace {

struct free_key { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct free_cert { void operator()(X509* c) const { X509_free(c); } };
struct free_bio { void operator()(BIO* b) const { BIO_free(b); } };
using key_ptr = std::unique_ptr<EVP_PKEY, free_key>;
using cert_ptr = std::unique_ptr<X509, free_cert>;
using bio_ptr = std::unique_ptr<BIO, free_bio>;

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "no reason given";
  if (const unsigned long code = ERR_get_error(); code != 0) ERR_error_string_n(code, reason, sizeof reason);
  throw std::runtime_error("tls_certificates: " + what + ": " + reason);
}

void check(int ok, const char* what) {
  if (ok != 1) fail(what);
}

key_ptr make_key() {
  key_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("generating a P-256 key");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) fail(std::string("making the extension ") + value);
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(added, "adding an extension");
}

// A certificate for `key` named `common_name`, valid from an hour ago for a day, signed by
// `issuer_key` (itself when issuer is null: the CA).
cert_ptr make_certificate(EVP_PKEY* key, const char* common_name, long serial, X509* issuer, EVP_PKEY* issuer_key,
                          const char* const* extensions) {
  cert_ptr cert(X509_new());
  if (!cert) fail("allocating a certificate");
  check(X509_set_version(cert.get(), 2), "setting the version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial), "setting the serial number");
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400) == nullptr) {
    fail("setting the validity");
  }
  check(X509_set_pubkey(cert.get(), key), "setting the public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1,
                                   -1, 0),
        "setting the common name");
  check(X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name),
        "setting the issuer");
  X509* signer = issuer != nullptr ? issuer : cert.get();
  for (const char* const* e = extensions; *e != nullptr; e += 2) {
    add_extension(cert.get(), signer, OBJ_txt2nid(e[0]), e[1]);
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) fail("signing a certificate");
  return cert;
}

void write_certificate(const std::string& path, X509* cert) {
  bio_ptr out(BIO_new_file(path.c_str(), "w"));
  if (!out) fail("creating " + path);
  check(PEM_write_bio_X509(out.get(), cert), "writing a certificate");
}

void write_key(const std::string& path, EVP_PKEY* key) {
  bio_ptr out(BIO_new_file(path.c_str(), "w"));
  if (!out) fail("creating " + path);
  check(PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "writing a key");
}

}  // namespace

tls_certificates::tls_certificates() {
  std::string pattern = (std::filesystem::temp_directory_path() / "remote_bench_tls.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "tls_certificates: mkdtemp " + pattern);
  }
  dir_ = pattern;
  try {
    static const char* const ca_extensions[] = {"basicConstraints", "critical,CA:TRUE", "keyUsage",
                                                "critical,keyCertSign,cRLSign", "subjectKeyIdentifier", "hash",
                                                nullptr};
    static const char* const server_extensions[] = {
        "basicConstraints", "critical,CA:FALSE", "keyUsage", "critical,digitalSignature", "extendedKeyUsage",
        "serverAuth", "subjectAltName", "IP:127.0.0.1", "authorityKeyIdentifier", "keyid", nullptr};
    static const char* const client_extensions[] = {"basicConstraints", "critical,CA:FALSE", "keyUsage",
                                                    "critical,digitalSignature", "extendedKeyUsage", "clientAuth",
                                                    "authorityKeyIdentifier", "keyid", nullptr};
    const key_ptr ca_key = make_key();
    const cert_ptr ca_cert =
        make_certificate(ca_key.get(), "remote_bench CA", 1, nullptr, ca_key.get(), ca_extensions);
    write_certificate(ca(dir_), ca_cert.get());
    const struct {
      const char* who;
      long serial;
      const char* const* extensions;
    } leaves[] = {{"server", 2, server_extensions}, {"client", 3, client_extensions}};
    for (const auto& leaf : leaves) {
      const key_ptr leaf_key = make_key();
      const cert_ptr leaf_cert =
          make_certificate(leaf_key.get(), leaf.who, leaf.serial, ca_cert.get(), ca_key.get(), leaf.extensions);
      write_certificate(certificate(dir_, leaf.who), leaf_cert.get());
      write_key(key(dir_, leaf.who), leaf_key.get());
    }
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

tls_certificates::~tls_certificates() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace remote_bench
