// Hashes (see ordersystem/sdk/util.h). Its own object file, so only what hashes pulls OpenSSL in.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <climits>
#include <cstdio>
#include <new>
#include <stdexcept>

#include "ordersystem/sdk/util.h"

namespace ordersystem::sdk {

Sha256 sha256(std::string_view data) {
    Sha256 digest{};
    unsigned int length = 0;
    // EVP_Digest fails only when it cannot allocate its context.
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1)
        throw std::bad_alloc();
    return digest;
}

Sha256 hmacSha256(std::string_view key, std::string_view data) {
    if (key.size() > static_cast<size_t>(INT_MAX)) throw std::length_error("HMAC key too long");
    Sha256 mac{};
    unsigned int length = 0;
    // HMAC() fails only when it cannot allocate its context.
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &length))
        throw std::bad_alloc();
    return mac;
}

std::string sha256Hex(std::string_view data) {
    static constexpr char kHex[] = "0123456789abcdef";
    const Sha256 digest = sha256(data);
    std::string hex;
    hex.reserve(2 * digest.size());
    for (const unsigned char b : digest) {
        hex.push_back(kHex[b >> 4]);
        hex.push_back(kHex[b & 15]);
    }
    return hex;
}

std::string fnv1aHex(std::string_view data) {
    uint64_t h = 1469598103934665603ULL;
    for (const char c : data) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

}  // namespace ordersystem::sdk
