#include "tests/support/test_pki.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>

namespace revenant::test {
namespace {

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "no detail";
  if (const unsigned long e = ERR_get_error()) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  throw std::runtime_error("test PKI: " + what + ": " + reason);
}

struct key_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct cert_deleter {
  void operator()(X509* c) const { X509_free(c); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_deleter>;
using cert_ptr = std::unique_ptr<X509, cert_deleter>;

key_ptr new_key() {
  key_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("generating a P-256 key");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr || !X509_add_ext(cert, ext, -1)) fail(std::string("adding extension ") + value);
  X509_EXTENSION_free(ext);
}

// A certificate for common_name over key, signed by issuer_key (as issuer; itself if null),
// naming ip_address too if it is not empty.
cert_ptr make_cert(const std::string& common_name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                   const std::string& ip_address = {}) {
  static long serial = 1;
  cert_ptr cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), 2) || !ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++) ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24L * 3600) || !X509_set_pubkey(cert.get(), key))
    fail("making a certificate");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  // No common name: the subject is an organization only.
  const char* field = common_name.empty() ? "O" : "CN";
  const std::string value = common_name.empty() ? std::string("revenant tests") : common_name;
  if (!X509_NAME_add_entry_by_txt(subject, field, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(value.c_str()),
                                  -1, -1, 0))
    fail("naming a certificate");
  if (!X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : subject))
    fail("setting an issuer");
  X509* signer = issuer != nullptr ? issuer : cert.get();
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
    if (!ip_address.empty()) add_extension(cert.get(), signer, NID_subject_alt_name, ("IP:" + ip_address).c_str());
  }
  if (!X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256())) fail("signing a certificate");
  return cert;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("test PKI: cannot write " + path);
  const bool ok = cert != nullptr ? PEM_write_X509(f, cert) == 1
                                  : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  if (!ok) fail("writing " + path);
}

}  // namespace

struct test_ca::keys {
  key_ptr key;
  cert_ptr cert;
};

test_ca::test_ca(std::string dir, std::string name) : dir_(std::move(dir)), keys_(std::make_unique<keys>()) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  keys_->key = new_key();
  keys_->cert = make_cert(name, keys_->key.get(), nullptr, nullptr, true);
  ca_file_ = dir_ + "/" + name + ".ca.pem";
  write_pem(ca_file_, keys_->cert.get(), nullptr);
}

test_ca::~test_ca() = default;

issued_files test_ca::issue(const std::string& common_name, const std::string& file,
                            const std::string& ip_address) const {
  const key_ptr key = new_key();
  const cert_ptr cert = make_cert(common_name, key.get(), keys_->cert.get(), keys_->key.get(), false, ip_address);
  issued_files out{dir_ + "/" + file + ".pem", dir_ + "/" + file + ".key.pem"};
  write_pem(out.cert_file, cert.get(), nullptr);
  write_pem(out.key_file, nullptr, key.get());
  return out;
}

}  // namespace revenant::test
