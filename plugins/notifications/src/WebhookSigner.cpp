// Standard Webhooks signing: secrets checked once, then one HMAC-SHA256 per secret and attempt.
#include "WebhookSigner.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>

#include <iterator>
#include <sstream>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::notifications {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {

constexpr std::string_view kPrefix = "whsec_";

bool isBase64Letter(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/// Standard base64 with padding (RFC 4648 section 4): the only spelling accepted, so a secret
/// pasted with a stray character is refused instead of silently becoming another key.
bool isPaddedBase64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) return false;
    size_t letters = text.size();
    while (letters > 0 && text[letters - 1] == '=') --letters;
    if (text.size() - letters > 2) return false;
    for (size_t i = 0; i < letters; ++i)
        if (!isBase64Letter(text[i])) return false;
    return true;
}

std::string decodeBase64(std::string_view text) {
    std::istringstream in{std::string(text)};
    Poco::Base64Decoder decoder(in);
    return std::string(std::istreambuf_iterator<char>(decoder), std::istreambuf_iterator<char>());
}

std::string encodeBase64(const sdk::Sha256& bytes) {
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    encoder.close();
    return out.str();
}

std::vector<std::string_view> splitOnBlanks(std::string_view text) {
    std::vector<std::string_view> words;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        const size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
        if (i > start) words.push_back(text.substr(start, i - start));
    }
    return words;
}

Status refuse(size_t position, size_t count, const std::string& why) {
    return Status(StatusCode::InvalidConfig, "notifications.webhook_secret: secret " + std::to_string(position) +
                                                 " of " + std::to_string(count) + " " + why);
}

}  // namespace

Result<WebhookSigner> WebhookSigner::parse(std::string_view configValue) {
    const std::vector<std::string_view> secrets = splitOnBlanks(configValue);
    WebhookSigner signer;
    if (secrets.size() > kMaxSecrets)
        return Status(StatusCode::InvalidConfig, "notifications.webhook_secret has " + std::to_string(secrets.size()) +
                                                     " secrets; at most " + std::to_string(kMaxSecrets) +
                                                     " (two are enough to rotate one)");
    for (size_t i = 0; i < secrets.size(); ++i) {
        const std::string_view secret = secrets[i];
        if (secret.substr(0, kPrefix.size()) != kPrefix)
            return refuse(i + 1, secrets.size(), "does not start with whsec_");
        const std::string_view encoded = secret.substr(kPrefix.size());
        if (!isPaddedBase64(encoded))
            return refuse(i + 1, secrets.size(),
                          "is not whsec_ followed by standard base64 with padding (A-Z, a-z, 0-9, + and /; a length "
                          "that is a multiple of 4; at most two = at the end)");
        std::string key = decodeBase64(encoded);
        if (key.size() < kMinKeyBytes || key.size() > kMaxKeyBytes)
            return refuse(i + 1, secrets.size(),
                          "decodes to " + std::to_string(key.size()) + " bytes; a key must have " +
                              std::to_string(kMinKeyBytes) + " to " + std::to_string(kMaxKeyBytes) + " bytes");
        signer._keys.push_back(std::move(key));
    }
    return signer;
}

std::string WebhookSigner::signature(std::string_view id, int64_t unixSeconds, std::string_view body) const {
    std::string content;
    const std::string timestamp = std::to_string(unixSeconds);
    content.reserve(id.size() + timestamp.size() + body.size() + 2);
    content.append(id).append(1, '.').append(timestamp).append(1, '.').append(body);
    std::string out;
    for (const std::string& key : _keys) {
        if (!out.empty()) out.push_back(' ');
        out += "v1,";
        out += encodeBase64(sdk::hmacSha256(key, content));
    }
    return out;
}

WebhookHeaders WebhookSigner::headers(const std::string& id, int64_t unixSeconds, std::string_view body) const {
    if (!enabled()) return {};
    return {{"webhook-id", id},
            {"webhook-timestamp", std::to_string(unixSeconds)},
            {"webhook-signature", signature(id, unixSeconds, body)}};
}

}  // namespace ordersystem::plugins::notifications
